// Entry of every studio page: each widget starts only where its markup is.
import { enhanceForms } from "./forms.js";
import { startLive } from "./live.js";
import { startViewer } from "./viewer.js";
import { startKeys } from "./keys.js";
import { watchJobs } from "./jobs.js";
import { startCompare } from "./compare.js";

enhanceForms(document);
const page = document.body.dataset;
if (page.liveProject && !page.asOf) startLive(page.liveProject, page.liveAsset || null);
startViewer(document);
startKeys(document);
watchJobs(document);
startCompare(document);
