"""Rebuild and re-bake jobs: re-run a version's recorded chain of steps.

A **rebuild** walks the chain root → version (first parents), re-runs every recorded
step with its recorded recipe on the rebuilt output of its parent, demanding the
recorded model weights, and compares each result with what was recorded (see
workers/rebuild_compare.py). Uploaded and imported images are taken from the blob
store, hash-checked; an imported image whose recipe a local model can run is also
re-rendered and compared (workers/import_rerender.py). A step made by a hosted model is
not re-requested: its stored bytes, hash-checked, stand in for it. It creates no
version: the report goes in JobCompleted.report. When the recorded weights are not
available, or an input is missing or corrupted, it says so and stops: it never guesses.

A **re-bake** keeps every step before the first overridden one as it is (the stored
bytes, not recomputed), re-runs from that step with the overrides applied, and records
the results as a new branch: each new version's parent is the new (or reused) parent
and ``derived_from`` names the version it re-made. Decisions are made on versions, so
no approval carries over to the new branch.

Both runners are registered with the job runner at import (``rebuild``, ``rebake``).
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable
from typing import Any

from commands.jobs import JobState, output_version_id
from commands.lineage_chain import ChainReader, is_source_step, step_input_needed
from commands.rebuild import apply_override, decide_rebake
from events.assets import VersionCreated
from events.errors import DomainError, NotFound
from events.store import EventStore
from imaging.blobs import BlobCorrupted, BlobStore
from rules.recipes import denoising_steps
from workers import environment, model_sync, pipelines
from workers.attempt import ProgressSink, chain_progress
from workers.hosted.provider import NOT_RERENDERABLE, is_hosted
from workers.hosted.step import usage_report
from workers.import_rerender import rerender_import
from workers.job_runner import JobContext, JobOutput, register_kind
from workers.models import ModelUnavailable
from workers.operations import run_step
from workers.rebuild_compare import BIT_EXACT, Tolerance, compare_images, worst

STOPPED = "stopped"
_NOT_RECIPE = ("environment", "torch_threads")
"""Recipe keys compared as environment, not as recipe (they are listed there)."""

StepRunner = Callable[..., Any]


# -- rebuild --------------------------------------------------------------------------------


def rebuild_report(store: EventStore, blobs: BlobStore, version_id: str, *,
                   tolerance: Tolerance | None = None,
                   progress: ProgressSink | None = None) -> dict[str, Any]:
    """Re-run the chain of ``version_id`` and compare every step; return the report.

    The report: version_id, verdict (the worst step's, or ``stopped``), complete,
    stopped (why, at which step, or None), steps (per step: version_id, operation,
    source ``rebuilt`` or ``blob_store``, verdict and comparison figures, stored blob
    state, recorded and rebuild seconds, environment and recipe differences),
    environment_differences (all steps, each key once), problems (plain sentences),
    tolerance, recorded_seconds, rebuild_seconds, wall_seconds and a one-line summary.
    Raises NotFound for an unknown version.
    """
    tolerance = tolerance or Tolerance()
    started = time.perf_counter()
    chain = ChainReader(store).chain(version_id)
    # Registered names (models, LoRAs) resolve as the registry stands now (also when
    # called outside a job, by `lineage rebuild`).
    model_sync.refresh(store)
    steps: list[dict[str, Any]] = []
    problems: list[str] = []
    stopped: dict[str, Any] | None = None
    outputs: list[bytes] = []
    for index, version in enumerate(chain):
        parent_png = outputs[-1] if outputs else None
        try:
            step, png = _rebuild_step(blobs, version, parent_png, tolerance)
        except _Stop as stop:
            stopped = {"index": index, "version_id": version.version_id,
                       "operation": version.operation, **stop.details}
            problems.append(f"step {index + 1} ({version.operation}, version "
                            f"{version.version_id}): {stop.details['message']}")
            break
        step["index"] = index
        steps.append(step)
        outputs.append(png)
        problems.extend(f"step {index + 1} ({version.operation}): {p}"
                        for p in step.pop("problems"))
        if progress is not None:
            progress(index + 1, len(chain))
    verdict = STOPPED if stopped else worst([s["verdict"] for s in steps])
    report = {
        "kind": "rebuild",
        "version_id": version_id,
        "content_hash": chain[-1].content_hash,
        "verdict": verdict,
        "complete": stopped is None,
        "stopped": stopped,
        "chain": [v.version_id for v in chain],
        "steps": steps,
        "environment_differences": _merged_differences(steps, stopped),
        "problems": problems,
        "tolerance": tolerance.as_dict(),
        "recorded_seconds": round(sum(s["recorded_seconds"] for s in steps), 6),
        "rebuild_seconds": round(sum(s["rebuild_seconds"] for s in steps), 6),
        "wall_seconds": round(time.perf_counter() - started, 6),
    }
    report["summary"] = summarise(report)
    return report


class _Stop(Exception):
    """The chain cannot be rebuilt past this step; ``details`` says why."""

    def __init__(self, reason: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = {"reason": reason, "message": message, **details}


def _rebuild_step(blobs: BlobStore, version: VersionCreated, parent_png: bytes | None,
                  tolerance: Tolerance) -> tuple[dict[str, Any], bytes]:
    """One step's comparison dict (with ``problems``) and the bytes its child starts from."""
    stored, stored_state = _stored(blobs, version.content_hash)
    step: dict[str, Any] = {
        "version_id": version.version_id, "operation": version.operation,
        "tier": version.tier, "stored_blob": stored_state,
        "recorded_seconds": float(version.cost_seconds or 0.0), "rebuild_seconds": 0.0,
        "environment_differences": [], "recipe_differences": [], "problems": [],
    }
    if is_source_step(version):
        if stored is None:
            raise _Stop(f"source_{stored_state}",
                        f"the {_source_kind(version)} image (blob {version.content_hash}) is "
                        f"{stored_state} in the blob store; nothing to rebuild from",
                        content_hash=version.content_hash)
        step.update(source="blob_store", verdict=BIT_EXACT, recorded_hash=version.content_hash,
                    rebuilt_hash=version.content_hash)
        if version.imported:
            # The imported bytes stay the source of what follows; a re-render checks them.
            step.update(rerender_import(version, stored, tolerance))
        return step, stored
    recipe = version.recipe
    if is_hosted(recipe.get("model_id")):
        return _hosted_step(step, version, stored, stored_state)
    mask_png = _mask(blobs, recipe)
    input_png = parent_png if step_input_needed(version) else None
    if step_input_needed(version) and input_png is None:
        raise _Stop("input_missing", f"the {version.operation} step has no parent to start "
                    "from in the recorded chain")
    expected_weights = recipe.get("model_weights_hash")
    wall = time.perf_counter()
    try:
        result = run_step(recipe, input_png=input_png, mask_png=mask_png,
                          expect_weights_hash=expected_weights)
    except ModelUnavailable as exc:
        raise _Stop("model_unavailable",
                    f"the recorded model weights are not available here: {exc.detail}",
                    model_id=recipe.get("model_id"),
                    model_name=exc.extra.get("model_name") or recipe.get("model_name"),
                    expected_weights_hash=expected_weights,
                    actual_weights_hash=exc.extra.get("actual_weights_hash"),
                    environment_differences=_current_differences(recipe)) from exc
    except DomainError as exc:
        raise _Stop("step_failed", f"the recorded recipe no longer runs: {exc.detail}",
                    environment_differences=_current_differences(recipe)) from exc
    step.update(source="rebuilt", rebuild_seconds=round(result.seconds, 6),
                wall_seconds=round(time.perf_counter() - wall, 6))
    step.update(compare_images(stored, result.png, version.content_hash, tolerance))
    step["environment_differences"] = environment.diff_environments(
        recipe.get("environment") or {}, result.recipe.get("environment") or {})
    step["recipe_differences"] = _recipe_differences(recipe, result.recipe)
    if stored is None:
        step["problems"].append(f"the stored image (blob {version.content_hash}) is "
                                f"{stored_state}; only its hash could be compared")
    return step, result.png


def _hosted_step(step: dict[str, Any], version: VersionCreated, stored: bytes | None,
                 stored_state: str) -> tuple[dict[str, Any], bytes]:
    """A hosted step is not re-run (the provider cannot promise the same bytes, and a
    request is billed): its stored bytes, hash-checked by the blob store, stand in."""
    if stored is None:
        raise _Stop(f"hosted_{stored_state}",
                    f"{NOT_RERENDERABLE}, but the stored image (blob {version.content_hash}) "
                    f"is {stored_state}", content_hash=version.content_hash)
    step.update(source="hosted", verdict=BIT_EXACT, note=NOT_RERENDERABLE,
                recorded_hash=version.content_hash, rebuilt_hash=version.content_hash,
                model_id=version.recipe.get("model_id"))
    return step, stored


def _stored(blobs: BlobStore, key: str) -> tuple[bytes | None, str]:
    """(bytes, "ok") or (None, "missing" | "corrupted")."""
    try:
        return blobs.get(key), "ok"
    except NotFound:
        return None, "missing"
    except BlobCorrupted:
        return None, "corrupted"


def _mask(blobs: BlobStore, recipe: dict[str, Any]) -> bytes | None:
    key = recipe.get("mask_hash")
    if not key:
        return None
    mask, state = _stored(blobs, key)
    if mask is None:
        raise _Stop(f"mask_{state}", f"the recorded mask (blob {key}) is {state} in the blob "
                    "store", mask_hash=key)
    return mask


def _source_kind(version: VersionCreated) -> str:
    return "imported" if version.imported else "uploaded"


def _current_differences(recipe: dict[str, Any]) -> list[dict[str, Any]]:
    current = environment.fingerprint(pipelines.torch_threads())
    return environment.diff_environments(recipe.get("environment") or {}, current)


def _recipe_differences(recorded: dict[str, Any], rebuilt: dict[str, Any]) -> list[dict]:
    keys = (set(recorded) | set(rebuilt)) - set(_NOT_RECIPE)
    return [{"key": key, "recorded": recorded.get(key), "rebuilt": rebuilt.get(key)}
            for key in sorted(keys) if recorded.get(key) != rebuilt.get(key)]


def _merged_differences(steps: list[dict[str, Any]],
                        stopped: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every environment difference of the chain, each (key, recorded, current) once."""
    seen: dict[tuple, dict[str, Any]] = {}
    lists = [s["environment_differences"] for s in steps]
    if stopped:
        lists.append(stopped.get("environment_differences") or [])
        if stopped.get("reason") == "model_unavailable":
            lists.append([{"key": "model_weights_hash",
                           "recorded": stopped.get("expected_weights_hash"),
                           "current": stopped.get("actual_weights_hash")}])
    for differences in lists:
        for item in differences:
            seen.setdefault((item["key"], repr(item["recorded"]), repr(item["current"])), item)
    return sorted(seen.values(), key=lambda item: item["key"])


def summarise(report: dict[str, Any]) -> str:
    """One plain sentence on a rebuild report."""
    steps = len(report["chain"])
    if report["stopped"]:
        stop = report["stopped"]
        return (f"Stopped at step {stop['index'] + 1} of {steps} ({stop['operation']}): "
                f"{stop['message']}")
    verdict = report["verdict"].replace("_", " ")
    environment_note = (
        "in the same environment" if not report["environment_differences"] else
        "with environment differences in "
        + ", ".join(sorted({d["key"] for d in report["environment_differences"]})))
    text = f"Rebuilt {steps} step(s): {verdict} {environment_note}."
    hosted = sum(1 for s in report["steps"] if s.get("source") == "hosted")
    if hosted:
        text += f" {hosted} step(s) {NOT_RERENDERABLE}."
    if report["problems"]:
        text += f" {len(report['problems'])} problem(s): " + "; ".join(report["problems"])
    return text


def run_rebuild(context: JobContext, state: JobState, progress: ProgressSink) -> JobOutput:
    """The ``rebuild`` job: the report of :func:`rebuild_report`, no version."""
    job = state.request
    assert job is not None
    if not job.input_version_id:
        raise DomainError("a rebuild job names the version to rebuild")
    report = rebuild_report(context.store, context.blobs, job.input_version_id,
                            tolerance=Tolerance.from_options(job.options), progress=progress)
    return JobOutput([], report["rebuild_seconds"], report)


# -- re-bake --------------------------------------------------------------------------------


def run_rebake(context: JobContext, state: JobState, progress: ProgressSink) -> JobOutput:
    """The ``rebake`` job: new versions from the first overridden step on, and a report
    listing the reused (not recomputed) and the recomputed steps."""
    job = state.request
    assert job is not None
    overrides = job.options.get("overrides") or {}
    chain = ChainReader(context.store).chain(job.input_version_id or "")
    # The request checked prompt lengths against the server's configured limit.
    start = decide_rebake(chain, overrides, max_prompt_chars=sys.maxsize)
    parent_id = chain[start - 1].version_id if start else None
    parent_png = _reused_output(context.blobs, chain[start - 1]) if start else None
    versions: list[VersionCreated] = []
    pngs: list[bytes] = []
    recomputed: list[dict[str, Any]] = []
    seconds = 0.0
    recipes = [apply_override(original.recipe, overrides.get(original.version_id, {}),
                              derived_from=original.version_id) for original in chain[start:]]
    planned = [denoising_steps(recipe) for recipe in recipes]
    for offset, original in enumerate(chain[start:]):
        recipe = recipes[offset]
        mask_png = _mask_or_fail(context.blobs, recipe)
        result = run_step(recipe,
                          input_png=parent_png if step_input_needed(original) else None,
                          mask_png=mask_png,
                          expect_weights_hash=original.recipe.get("model_weights_hash"),
                          progress=chain_progress(progress, planned, offset),
                          on_compute=progress.computed)
        content_hash = hashlib.sha256(result.png).hexdigest()
        version = VersionCreated(
            version_id=output_version_id(job.job_id, offset), asset_id=job.asset_id,
            author_id=job.requested_by, operation=original.operation, tier=original.tier,
            content_hash=content_hash, width=result.width, height=result.height,
            recipe=result.recipe, parent_ids=[parent_id] if parent_id else [],
            job_id=job.job_id, cost_seconds=round(result.seconds, 6),
            note=f"re-baked from version {original.version_id}",
            derived_from=original.version_id)
        versions.append(version)
        recomputed.append({"version_id": version.version_id,
                           "derived_from": original.version_id,
                           "operation": original.operation, "content_hash": content_hash,
                           "overridden": sorted(overrides.get(original.version_id, {})),
                           "same_bytes_as_original": content_hash == original.content_hash,
                           "seconds": round(result.seconds, 6),
                           **({"hosted": usage_report(result.recipe)}
                              if usage_report(result.recipe) else {})})
        pngs.append(result.png)
        seconds += result.seconds
        parent_id, parent_png = version.version_id, result.png
    report = {
        "kind": "rebake", "version_id": chain[-1].version_id,
        "first_overridden": chain[start].version_id,
        "reused": [{"version_id": v.version_id, "operation": v.operation,
                    "content_hash": v.content_hash} for v in chain[:start]],
        "recomputed": recomputed, "new_head": versions[-1].version_id,
        "overrides": overrides,
        "summary": (f"Kept {start} step(s) byte-for-byte, re-made {len(versions)} from "
                    f"{chain[start].operation} step {chain[start].version_id}; the new "
                    f"branch ends at version {versions[-1].version_id}."),
    }
    return JobOutput(versions, round(seconds, 6), report, images=pngs)


def _reused_output(blobs: BlobStore, version: VersionCreated) -> bytes:
    """The stored bytes of a reused step (hash-checked by the blob store)."""
    try:
        return blobs.get(version.content_hash)
    except NotFound:
        raise DomainError(f"the image of version {version.version_id} (blob "
                          f"{version.content_hash}) is missing from the blob store; the "
                          "re-bake cannot start from it") from None


def _mask_or_fail(blobs: BlobStore, recipe: dict[str, Any]) -> bytes | None:
    try:
        return _mask(blobs, recipe)
    except _Stop as stop:
        raise DomainError(stop.details["message"]) from None


register_kind("rebuild", run_rebuild)
register_kind("rebake", run_rebake)
