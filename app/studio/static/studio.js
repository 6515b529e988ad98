// Entry of every studio page: each widget starts only where its markup is.
import { enhanceForms } from "./forms.js";
import { startLive } from "./live.js";
import { startViewer } from "./viewer.js";
import { startKeys } from "./keys.js";
import { watchJobs } from "./jobs.js";
import { startCompare } from "./compare.js";
import { watchJobCards } from "./making_jobs.js";
import { startMaskPainters } from "./mask_painter.js";
import { startGeneratePanel } from "./generate_panel.js";
import { startAdjustPreviews } from "./adjust_preview.js";
import { startUserSearch } from "./user_search.js";

enhanceForms(document);
if (window.matchMedia("(max-width: 820px)").matches) {
  // On a phone the filters start folded: the cards come first.
  document.querySelectorAll(".filters-toggle[open]").forEach((d) => { d.open = false; });
}
const page = document.body.dataset;
{
  // Keep the version in the URL (live redraws and a shared link show the same one);
  // drop the read-your-write position, which only the first answer needed.
  const url = new URL(window.location.href);
  if (page.currentVersion && !url.searchParams.has("v")) url.searchParams.set("v", page.currentVersion);
  url.searchParams.delete("min_position");
  if (url.href !== window.location.href) history.replaceState(null, "", url);
}
if (page.liveProject && !page.asOf) {
  startLive(page.liveProject, page.liveAsset || null, page.liveAfter || null);
}
startViewer(document);
startKeys(document);
watchJobs(document);
startCompare(document);
watchJobCards(document);
startMaskPainters(document);
startGeneratePanel(document);
startAdjustPreviews(document);
startUserSearch(document);
