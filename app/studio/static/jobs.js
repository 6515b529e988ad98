// Progress of the asset's unfinished jobs: each polls GET /api/jobs/{id} until it ends
// (the live feed then redraws the strip with the new versions). A rebuild on the version
// page redraws its verdict until the job has one.
import { refresh } from "./live.js";

const watching = new Set();

function describe(job) {
  if (job.status === "started" && job.progress && job.progress.total) {
    return [`Step ${job.progress.step} of ${job.progress.total}`, (100 * job.progress.step) / job.progress.total];
  }
  if (job.status === "started") return ["Starting", null];
  if (job.status === "completed") return ["Done", 100];
  if (job.status === "cancelled") return ["Cancelled", 0];
  if (job.status === "failed") return [`Failed: ${job.error ? job.error.message : "unknown error"}`, 0];
  return ["Queued", null];
}

async function poll(item) {
  const id = item.dataset.jobId;
  if (watching.has(id)) return;
  watching.add(id);
  try {
    while (document.contains(item)) {
      const response = await fetch(`/api/jobs/${id}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) break;
      const job = await response.json();
      const [text, percent] = describe(job);
      const label = item.querySelector("[data-job-text]");
      const bar = item.querySelector("[data-job-progress]");
      if (label) label.textContent = text;
      if (bar) { if (percent === null) bar.removeAttribute("value"); else bar.value = percent; }
      item.dataset.status = job.status;
      if (["completed", "failed", "cancelled"].includes(job.status)) break;
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
  } finally {
    watching.delete(id);
  }
}

function watchRebuild(element) {
  if (element.matches?.("[data-rebuild-pending]") || element.querySelector?.("[data-rebuild-pending]")) {
    setTimeout(() => refresh(["rebuild"]), 1000);
  }
}

export function watchJobs(root) {
  const scan = (element) => {
    element.querySelectorAll?.("[data-job-id]").forEach(poll);
    watchRebuild(element);
  };
  scan(root);
  document.addEventListener("studio:fragment", (event) => scan(event.detail));
}
