"""Job control on the asset page: the asset's recent jobs as cards (live progress, a
failed job's reason in words, "Cancel" on a queued or running job, "Retry" on a failed
one) and "Promote to final" on a draft version.

The forms post to the same commands as their JSON API twins (``POST /api/jobs/{id}/
cancel``, ``/retry`` and ``POST /api/versions/{id}/promote``): the same role checks,
policies and refusals (a refused promote answers 422 with the policy's reason, which the
page shows).
"""

from __future__ import annotations

from typing import Any

from flask import Response

from app.api.views import job_limits
from app.context import services
from app.schemas.assets import PromoteSchema
from app.studio.forms import EmptyForm, form_body, form_meta
from app.studio.web import answered, principal, signed_in, studio_blueprint, url_with
from commands import promotion
from commands.job_cancel import cancel_job
from commands.job_status import job_status, require_job_access
from commands.jobs import retry_job
from commands.state import parse_id
from projections import queries

blueprint = studio_blueprint("studio_making_jobs", __name__)
CARDS = 6
"""How many of the asset's newest jobs the page shows."""

UNFINISHED = ("requested", "started")
STATUS_WORDS = {"requested": "Queued", "started": "Running", "completed": "Done",
                "failed": "Failed", "cancelled": "Cancelled"}
FAILURE_WORDS = {
    "input_missing": "an image or mask it needed is missing",
    "input_corrupted": "an image it needed is damaged",
    "model_unavailable": "the model could not be loaded",
    "job_timed_out": "it ran past its tier's time limit",
    "timed_out": "it ran past its tier's time limit",
    "pipeline_error": "the model failed while making the image",
    "worker_lost": "the worker running it stopped",
    "invalid_request": "the request could not be run",
}
OPERATION_WORDS = {"generate": "Generate", "promote": "Promote to final",
                   "img2img": "Image to image", "inpaint": "Inpaint", "outpaint": "Outpaint",
                   "upscale": "Upscale", "adjust": "Adjust"}


def failure_text(error: dict[str, Any] | None) -> str:
    """A failed job's reason as a sentence: what went wrong in words, then the detail."""
    if not error:
        return "Failed for a reason that was not recorded."
    kind = error.get("kind") or ""
    words = FAILURE_WORDS.get(kind, kind.replace("_", " ") or "an unknown error")
    message = (error.get("message") or "").strip()
    return f"Failed: {words}." + (f" ({message})" if message else "")


def job_cards(asset_id: str) -> list[dict[str, Any]]:
    """The asset's newest jobs as the page's cards draw them (newest first)."""
    items, _ = queries.job_list(services().engine, asset_id=asset_id, limit=CARDS)
    return [{**job, "title": _title(job),
             "unfinished": job["status"] in UNFINISHED,
             "status_text": ("Stopping" if job["cancel_requested"] and job["status"] in UNFINISHED
                             else STATUS_WORDS.get(job["status"], job["status"])),
             "failure": failure_text(job["error"]) if job["status"] == "failed" else None}
            for job in items]


def policy_lines(project: dict[str, Any], nodes: list[dict[str, Any]]) -> list[str]:
    """What the project's policies leave this asset, in words, before anyone clicks:
    finals left under the cap, drafts still needed before a final, compute left."""
    policies = project["policies"]
    drafts = sum(1 for node in nodes if node["tier"] == "draft")
    finals = sum(1 for node in nodes if node["tier"] == "final")
    lines = []
    cap = policies.get("final_render_cap")
    if cap is not None:
        lines.append(f"Finals: {finals} of {cap} allowed, {max(cap - finals, 0)} left "
                     "under the cap.")
    required = policies.get("min_drafts_before_final")
    if required:
        lines.append(f"Drafts before a final: {drafts} of {required}"
                     + (" — done." if drafts >= required else f", {required - drafts} to go."))
    budget = policies.get("compute_budget_seconds")
    if budget is not None:
        left = max(budget - project["compute_used_seconds"], 0.0)
        lines.append(f"Compute: {left:.1f} s left of the project's {budget:g} s budget.")
    return lines


def _title(job: dict[str, Any]) -> str:
    """What the job makes, in words (a promotion, whatever its first step is)."""
    name = job["kind"] if job["kind"] == "promote" else (job["operation"] or job["kind"])
    return OPERATION_WORDS.get(name, name.replace("_", " ").capitalize())


def _job_write(job_id: str, command: Any) -> Response:  # noqa: ANN401
    """Run a job command for a creator of the job's project; back to the asset page."""
    job_id = parse_id(job_id, "job")
    form_body(EmptyForm)
    lineage = services()
    require_job_access(lineage.store, job_id, principal(), "creator")
    recorded = command(lineage.store, job_id, form_meta())
    body, _ = job_status(lineage.store, lineage.engine, job_id)
    position = recorded[-1].position if recorded else None
    return answered(url_with(f"/assets/{body['asset_id']}", min_position=position),
                    {**body, "position": position}, 202)


@blueprint.post("/jobs/<job_id>/cancel")
@signed_in
def cancel(job_id: str) -> Response:
    """Cancel a queued job (it never starts) or a running one (it stops at its next step)."""
    return _job_write(job_id, cancel_job)


@blueprint.post("/jobs/<job_id>/retry")
@signed_in
def retry(job_id: str) -> Response:
    """Re-request a failed job."""
    return _job_write(job_id, retry_job)


@blueprint.post("/versions/<version_id>/promote")
@signed_in
def promote(version_id: str) -> Response:
    """Promote a draft: its chain re-made on the final tier (refused with the policy's
    reason when the project's caps or budget do not allow it)."""
    version_id = parse_id(version_id, "version")
    data = form_body(PromoteSchema, ints=("width", "height", "steps"))
    result = promotion.request_promotion(services().store, principal(), form_meta(),
                                         version_id, data, limits=job_limits())
    return answered(url_with(f"/assets/{result['asset_id']}", v=version_id,
                             min_position=result["position"]), result, 202)
