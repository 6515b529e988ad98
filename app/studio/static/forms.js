// Forms marked data-enhance post in the background (Accept: application/json) and the
// page redraws what changed; without this module they post and redirect as usual.
import { refresh, toast } from "./live.js";

function newKey() {
  return (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2)).replaceAll("-", "");
}

function problemText(body, status) {
  if (!body) return `The server answered ${status}.`;
  if (body.errors) {
    return Object.entries(body.errors).map(([field, text]) =>
      `${field}: ${Array.isArray(text) ? text.join(" ") : JSON.stringify(text)}`).join("; ");
  }
  return body.detail || body.title || `The server answered ${status}.`;
}

const PLURAL = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

// A policy's refusal in words a stakeholder reads at a glance (the numbers come with it).
export function refusalText(body) {
  if (!body || !body.policy) return null;
  if (body.policy === "final_render_cap") {
    const pending = body.pending ? ` and ${body.pending} on the way` : "";
    return `Refused by the project's policy: this asset has ${PLURAL(body.finals, "final")}${pending}; `
      + `${body.requested} more would pass the cap of ${body.cap} per asset.`;
  }
  if (body.policy === "min_drafts_before_final") {
    return `Refused by the project's policy: draft first. This asset has ${PLURAL(body.drafts, "draft")}; `
      + `the project wants ${body.required} before a final.`;
  }
  if (body.policy === "compute_budget_seconds") {
    return `Refused by the project's policy: the compute budget is spent `
      + `(${Number(body.used_seconds).toFixed(1)} of ${body.budget_seconds} GPU-seconds).`;
  }
  return null;
}

async function submit(form, submitter) {
  const data = new FormData(form, submitter || undefined);
  const buttons = form.querySelectorAll("button[type=submit], button:not([type])");
  buttons.forEach((b) => b.setAttribute("aria-busy", "true"));
  try {
    const response = await fetch(form.action, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    let body = null;
    try { body = await response.json(); } catch { body = null; }
    const inline = form.querySelector("[data-form-error]");
    if (!response.ok) {
      const words = refusalText(body);
      if (inline) {
        inline.textContent = words || problemText(body, response.status);
        inline.hidden = false;
      }
      toast(words || problemText(body, response.status), true);
      return;
    }
    if (inline) inline.hidden = true;
    const key = form.querySelector("input[name=idempotency_key]");
    if (key) key.value = newKey();
    form.querySelectorAll("textarea[name=body], input[name=body], input[name=reason], input[name=label], textarea[name=note]")
      .forEach((field) => { field.value = ""; });
    form.dispatchEvent(new CustomEvent("studio:posted", { bubbles: true, detail: body }));
    const details = form.closest("details.reply-form, details.revoke, details.pin-form, details.popover-form");
    if (details) details.open = false;
    if (body && body.asset_id && form.closest(".popover-form") && form.action.endsWith("/assets")) {
      window.location.assign(`/assets/${body.asset_id}?min_position=${body.position || 0}`);
      return;
    }
    if (body && body.project_id && form.action.endsWith("/projects")) {
      window.location.assign(`/projects/${body.project_id}?min_position=${body.position || 0}`);
      return;
    }
    if (form.dataset.follow !== undefined || form.dataset.reload !== undefined) {
      // Pages without live fragments show the write by loading again (or the page the
      // form names, its {field} parts filled from the form), once it is readable.
      const target = form.dataset.follow
        ? form.dataset.follow.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(data.get(name) || ""))
        : window.location.pathname + window.location.search;
      const url = new URL(target, window.location.href);
      url.searchParams.set("min_position", (body && body.position) || 0);
      url.hash = form.dataset.reload || "";
      window.location.assign(url);
      return;
    }
    toast(form.dataset.done || "Saved");
    refresh(null, body && body.position);
  } catch (error) {
    toast("Lineage could not be reached; nothing was sent twice. Try again.", true);
  } finally {
    buttons.forEach((b) => b.removeAttribute("aria-busy"));
  }
}

export function enhanceForms(root) {
  root.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches("[data-enhance], .popover-form form")) return;
    event.preventDefault();
    submit(form, event.submitter);
  });
}
