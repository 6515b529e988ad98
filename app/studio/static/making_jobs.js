// Job cards on the asset page: each unfinished card polls GET /api/jobs/{id} for its
// progress; when a job ends (or its status changes) the cards are drawn again by the
// server, with the buttons that now apply (Retry on a failed job, links to new versions).
import { refresh } from "./live.js";

// Keyed by the card element: a redrawn card is a new element and is watched afresh while
// the old one's loop ends on its own (it is no longer in the document).
const watching = new WeakSet();
const LABELS = { requested: "Waiting for a worker", started: "Running" };

function show(card, job) {
  const text = card.querySelector("[data-card-text]");
  const bar = card.querySelector("[data-card-progress]");
  const progress = job.progress;
  if (job.status === "started" && progress && progress.total) {
    if (text) text.textContent = `Step ${progress.step} of ${progress.total}`;
    if (bar) bar.value = (100 * progress.step) / progress.total;
  } else {
    if (text) text.textContent = job.cancel_requested ? "Stopping at the next step" : (LABELS[job.status] || job.status);
    if (bar) bar.removeAttribute("value");
  }
}

async function poll(card) {
  const id = card.dataset.cardJob;
  if (watching.has(card)) return;
  watching.add(card);
  try {
    while (document.contains(card)) {
      const response = await fetch(`/api/jobs/${id}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) break;
      const job = await response.json();
      if (job.status !== card.dataset.status) {
        refresh(["job_cards", "strip"]);
        break;
      }
      show(card, job);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    watching.delete(card);
  }
}

export function watchJobCards(root) {
  const scan = (element) => element.querySelectorAll?.('[data-card-job][data-status="requested"], [data-card-job][data-status="started"]').forEach(poll);
  scan(root);
  document.addEventListener("studio:fragment", (event) => scan(event.detail));
}
