// Live updates: the project's events arrive as Server-Sent Events (the browser resumes
// with Last-Event-ID after a dropped connection) and the fragments they touch are drawn
// again by the server, waiting until the read side has reached the event.
const ASSET_EVENTS = new Set(["version.created", "comment.added", "comment.resolved",
  "decision.recorded", "decision.revoked", "version.pinned", "version.unpinned",
  "asset.jobs_requested", "asset.tag_added", "asset.tag_removed", "asset.created"]);
const JOB_EVENTS = new Set(["job.requested", "job.started", "job.completed", "job.failed",
  "job.retry_requested", "job.cancel_requested", "job.cancelled"]);
const TYPES = [...ASSET_EVENTS, ...JOB_EVENTS];

let pending = null;
let pendingPosition = 0;

export function toast(text, error = false) {
  const box = document.getElementById("toast");
  if (!box) return;
  box.textContent = text;
  box.classList.toggle("error", error);
  box.classList.add("visible");
  clearTimeout(box._timer);
  box._timer = setTimeout(() => box.classList.remove("visible"), error ? 6000 : 2200);
}

function fragmentUrl(name, position) {
  const url = new URL(window.location.href);
  url.searchParams.set("fragment", name);
  if (position) url.searchParams.set("min_position", String(position));
  else url.searchParams.delete("min_position");
  return url.toString();
}

function busy(element) {
  // Never redraw under someone's hands: a focused field or a half-written reply waits.
  const active = document.activeElement;
  if (active && element.contains(active) && active.matches("input, textarea, select")) return true;
  return [...element.querySelectorAll("input:not([type=hidden]), textarea")].some((f) => f.value);
}

function parse(html, element) {
  if (element instanceof SVGElement) {
    const doc = new DOMParser().parseFromString(
      `<svg xmlns="http://www.w3.org/2000/svg">${html}</svg>`, "image/svg+xml");
    if (doc.querySelector("parsererror")) return null;
    return doc.documentElement.firstElementChild;
  }
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  return template.content.firstElementChild;
}

async function redraw(name, position) {
  const element = document.querySelector(`[data-fragment="${name}"]`);
  if (!element) return;
  if (busy(element)) { setTimeout(() => redraw(name, position), 1500); return; }
  const response = await fetch(fragmentUrl(name, position), {
    credentials: "same-origin", headers: { Accept: "text/html" },
  });
  if (!response.ok) return;
  const fresh = parse(await response.text(), element);
  if (!fresh) return;
  const openDetails = new Set([...element.querySelectorAll("details[open][id]")].map((d) => d.id));
  const scroller = element.querySelector(".strip-scroll");
  const scroll = scroller ? [scroller.scrollLeft, scroller.scrollTop] : null;
  element.replaceWith(fresh);
  openDetails.forEach((id) => { const d = document.getElementById(id); if (d) d.open = true; });
  const freshScroller = fresh.querySelector(".strip-scroll");
  if (scroll && freshScroller) [freshScroller.scrollLeft, freshScroller.scrollTop] = scroll;
  document.dispatchEvent(new CustomEvent("studio:fragment", { detail: fresh }));
}

// Redraw every live fragment of the page (or only ``names``) once the read side has
// reached ``position``; calls within 60 ms are merged.
export function refresh(names, position) {
  pendingPosition = Math.max(pendingPosition, Number(position) || 0);
  const wanted = names || [...document.querySelectorAll("[data-fragment]")].map((e) => e.dataset.fragment);
  pending = pending || new Set();
  wanted.forEach((name) => pending.add(name));
  clearTimeout(refresh._timer);
  refresh._timer = setTimeout(() => {
    const batch = pending;
    const at = pendingPosition;
    pending = null;
    batch.forEach((name) => redraw(name, at));
  }, 60);
}

export function startLive(projectId, assetId, after) {
  // ``after``: the log position the page was drawn at; later events redraw it. A
  // reconnect resumes from the last event received (Last-Event-ID), not from here.
  const query = new URLSearchParams({ project: projectId });
  if (after) query.set("after", after);
  const source = new EventSource(`/api/events/stream?${query}`);
  const onEvent = (message) => {
    let event;
    try { event = JSON.parse(message.data); } catch { return; }
    const position = event.position;
    if (assetId) {
      if (JOB_EVENTS.has(event.event_type)) refresh(["jobs", "strip", "job_cards"], position);
      else if (event.stream_id === `asset-${assetId}`) refresh(null, position);
    } else if (ASSET_EVENTS.has(event.event_type)) {
      refresh(["cards"], position);
    }
  };
  TYPES.forEach((type) => source.addEventListener(type, onEvent));
  source.addEventListener("end", () => source.close());
  document.body.dataset.live = "connecting";
  source.addEventListener("open", () => { document.body.dataset.live = "open"; });
  source.addEventListener("error", () => { document.body.dataset.live = "reconnecting"; });
  return source;
}
