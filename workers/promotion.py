"""The ``promote`` job: re-make a draft's chain on the final tier's model, step by step.

The request (commands/promotion.py) holds every step's recipe. Each step runs on the
output of the step before it (the first on the stored bytes of the version it hangs
from, unless it is a generation) and is recorded as a final version whose parent is
the previous new version, ``derived_from`` the draft step it re-made. Nothing is
stored until every step has run (the job runner stores the images, then appends the
versions with the completion), so a failed or cancelled promotion leaves no partial
branch.

Registered with the job runner at import, like the rebuild and re-bake runners.
"""

from __future__ import annotations

import hashlib
from typing import Any

from commands.jobs import JobState, output_version_id
from events.assets import VersionCreated
from events.errors import DomainError
from rules.recipes import denoising_steps
from workers.attempt import ProgressSink, chain_progress
from workers.hosted.step import usage_report
from workers.job_runner import (
    JobContext,
    JobOutput,
    find_version,
    read_blob,
    register_kind,
)
from workers.operations import run_step


def run_promotion(context: JobContext, state: JobState, progress: ProgressSink) -> JobOutput:
    """Run every step of a promote job; the new versions and a report of what each step
    re-made. Raises DomainError (the job fails) for a step the engine refuses or an
    input missing from the blob store."""
    job = state.request
    assert job is not None
    steps: list[dict[str, Any]] = job.options.get("steps") or []
    if not steps:
        raise DomainError("a promote job names the steps to re-make")
    promoted_from = job.options.get("promoted_from") or job.input_version_id
    parent_id = steps[0]["parent_id"]
    parent_png = None
    if steps[0].get("input_version_id"):
        source = find_version(context.store, steps[0]["input_version_id"])
        parent_png = read_blob(context.blobs, source.content_hash, "input image")
    planned = [denoising_steps(step["recipe"]) for step in steps]
    versions: list[VersionCreated] = []
    pngs: list[bytes] = []
    seconds = 0.0
    for offset, step in enumerate(steps):
        mask_png = (read_blob(context.blobs, step["mask_hash"], "mask")
                    if step.get("mask_hash") else None)
        result = run_step(step["recipe"],
                          input_png=parent_png if step["operation"] != "generate" else None,
                          mask_png=mask_png, progress=chain_progress(progress, planned, offset),
                          on_compute=progress.computed)
        content_hash = hashlib.sha256(result.png).hexdigest()
        version = VersionCreated(
            version_id=output_version_id(job.job_id, offset), asset_id=job.asset_id,
            author_id=job.requested_by, operation=step["operation"], tier=job.tier,
            content_hash=content_hash, width=result.width, height=result.height,
            recipe=result.recipe, parent_ids=[parent_id], job_id=job.job_id,
            cost_seconds=round(result.seconds, 6),
            note=(f"promoted from draft {promoted_from}: step {offset + 1} of {len(steps)}, "
                  f"{step['operation']} re-made from version {step['derived_from']}"),
            derived_from=step["derived_from"])
        versions.append(version)
        pngs.append(result.png)
        seconds += result.seconds
        parent_id, parent_png = version.version_id, result.png
    report = {
        "kind": "promote", "promoted_from": promoted_from, "new_head": versions[-1].version_id,
        "steps": [{"version_id": v.version_id, "derived_from": v.derived_from,
                   "operation": v.operation, "content_hash": v.content_hash,
                   "seconds": v.cost_seconds,
                   **({"hosted": usage_report(v.recipe)} if usage_report(v.recipe) else {})}
                  for v in versions],
        "summary": (f"Re-made {len(versions)} step(s) of draft {promoted_from} on the final "
                    f"tier's model ({', '.join(v.operation for v in versions)}); the final "
                    f"is version {versions[-1].version_id}."),
    }
    return JobOutput(versions, round(seconds, 6), report, images=pngs)


register_kind("promote", run_promotion)
