"""Requesting a rebuild (re-make a version from its recorded chain and compare) and a
re-bake (re-make it with some steps' parameters changed, as a new branch).

A rebuild job creates no version: its JobCompleted carries the report. A re-bake job
creates one version per re-made step. Both need the creator role in the version's
project. Override fields are checked here, before anything is queued, so a job that
cannot run as asked is never requested.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from commands.asset_state import load_entity_asset
from commands.edits import blob_not_in_project
from commands.generation import pending_finals
from commands.lineage_chain import is_source_step, load_chain
from commands.policies import check_policies
from commands.state import execute, first_of, new_id
from commands.users import Principal
from events.assets import JobsRequested, VersionCreated
from events.domain import stream_id
from events.errors import DomainError
from events.jobs import JobRequested
from events.store import NO_STREAM, EventStore, Metadata, Recorded, StreamAppend
from imaging.checks import check_denoising, check_mask, edit_output_size
from rules.access import CREATOR
from rules.job_estimate import JobLimits, StepWork, step_work
from rules.recipes import (
    DEFAULT_STEPS,
    DEFAULT_STRENGTH,
    ENGINE_MAX_SIDE,
    GUIDANCE_RANGE,
    MAX_SEED,
    MAX_STEPS,
    MIN_STEPS,
    STRENGTH_RANGE,
    UPSCALE_FACTORS,
)

_COMMON = frozenset({"prompt", "negative_prompt", "seed", "steps", "guidance", "loras"})
OVERRIDE_FIELDS: dict[str, frozenset[str]] = {
    "generate": _COMMON,
    "img2img": _COMMON | {"strength"},
    "inpaint": _COMMON | {"strength", "mask"},
    "outpaint": _COMMON | {"strength", "margins"},
    "upscale": _COMMON | {"scale"},
    "adjust": frozenset({"adjustments"}),
}
"""The fields a re-bake may change, per operation of the overridden step."""
ALL_OVERRIDE_FIELDS = frozenset().union(*OVERRIDE_FIELDS.values())
_BLOB_KEY = re.compile(r"[0-9a-f]{64}")
ENGINE_NOTES = ("native_scale", "resized_after_upscale")
"""Recipe keys the engine writes only when they apply (an upscale that needed a resize):
a re-made step must not inherit them from the step it re-makes."""
MAX_PROMPT_CHARS = 2000


# -- pure checks and the recipe change -----------------------------------------------------


def check_override(version: VersionCreated, override: Any, *,
                   max_prompt_chars: int = MAX_PROMPT_CHARS) -> None:
    """Raise DomainError (with ``field``) unless ``override`` is an object of fields the
    version's operation takes, each of a sensible type. Deeper checks (sizes, margins
    against the input) are the engine's, when the job runs."""
    where = f"overrides.{version.version_id}"
    if is_source_step(version):
        raise DomainError(f"version {version.version_id} was uploaded or imported; it has no "
                          "recipe to re-run, so it cannot be overridden", field=where)
    if not isinstance(override, dict) or not override:
        raise DomainError("an override is a non-empty object of fields to change", field=where)
    allowed = OVERRIDE_FIELDS.get(version.operation, frozenset())
    for key, value in override.items():
        if key not in allowed:
            raise DomainError(
                f"{key!r} cannot be overridden on a {version.operation} step; allowed: "
                f"{', '.join(sorted(allowed))}", field=f"{where}.{key}")
        _check_value(key, value, f"{where}.{key}", max_prompt_chars)


def _check_value(key: str, value: Any, field: str, max_prompt_chars: int) -> None:
    def fail(expected: str) -> None:
        raise DomainError(f"{key} must be {expected}, not {value!r}"[:300], field=field)

    number = isinstance(value, int | float) and not isinstance(value, bool)
    whole = isinstance(value, int) and not isinstance(value, bool)
    if key in ("prompt", "negative_prompt"):
        if not isinstance(value, str) or len(value) > max_prompt_chars:
            fail(f"a string of at most {max_prompt_chars} characters")
    elif key == "seed" and not (whole and 0 <= value <= MAX_SEED):
        fail(f"an integer in 0..{MAX_SEED}")
    elif key == "steps" and not (whole and MIN_STEPS <= value <= MAX_STEPS):
        fail(f"an integer in {MIN_STEPS}..{MAX_STEPS}")
    elif key == "strength" and not (number and _within(value, STRENGTH_RANGE)):
        fail("a number in {:g}..{:g}".format(*STRENGTH_RANGE))
    elif key == "guidance" and not (number and _within(value, GUIDANCE_RANGE)):
        fail("a number in {:g}..{:g}".format(*GUIDANCE_RANGE))
    elif key == "scale" and not (whole and value in UPSCALE_FACTORS):
        fail(f"one of {', '.join(map(str, UPSCALE_FACTORS))}")
    elif key == "margins" and not (isinstance(value, dict) and value and all(
            side in ("left", "top", "right", "bottom") and isinstance(px, int)
            and not isinstance(px, bool) and px >= 0 for side, px in value.items())):
        fail("an object of left/top/right/bottom pixel counts")
    elif key == "adjustments" and not (isinstance(value, dict) and value):
        fail("a non-empty object")
    elif key == "loras" and not (isinstance(value, list) and len(value) <= 8 and all(
            isinstance(item, dict) and isinstance(item.get("name"), str)
            and set(item) <= {"name", "scale"} and isinstance(item.get("scale", 1.0), int | float)
            and not isinstance(item.get("scale"), bool) and -10 <= item.get("scale", 1.0) <= 10
            for item in value)):
        fail("a list of at most 8 {name, scale} with scales in -10..10")
    elif key == "mask" and not (isinstance(value, str) and value):
        fail("a stored blob hash or a base64 PNG")


def rescaled_loras(recorded: list[dict[str, Any]], wanted: list[dict[str, Any]],
                   ) -> list[dict[str, Any]]:
    """The adapters a re-baked step runs: ``wanted`` in its order, each keeping the weights
    hash recorded for its name (a new scale on the same weights); a name the step did not
    use takes the registry's current weights when the job runs. Pure."""
    hashes = {item["name"]: item.get("weights_hash") for item in recorded}
    result = []
    for item in wanted:
        entry = {"name": item["name"], "scale": item.get("scale", 1.0)}
        if hashes.get(item["name"]):
            entry["weights_hash"] = hashes[item["name"]]
        result.append(entry)
    return result
def _within(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


def apply_override(recipe: dict[str, Any], override: dict[str, Any], *,
                   derived_from: str) -> dict[str, Any]:
    """The recipe a re-baked step runs: the recorded one with the override's fields set
    (``mask`` becomes ``mask_hash``; it must already be a blob key) and ``derived_from``
    naming the version it re-makes; notes the engine writes again when they apply are
    dropped. Pure."""
    changed = {key: value for key, value in recipe.items() if key not in ENGINE_NOTES}
    changed["derived_from"] = derived_from
    for key, value in override.items():
        if key == "mask":
            changed["mask_hash"] = value
        elif key == "loras":
            changed["loras"] = rescaled_loras(recipe.get("loras") or [], value)
        else:
            changed[key] = value
    return changed


def first_overridden(chain: list[VersionCreated], overrides: dict[str, Any]) -> int:
    """The index in ``chain`` of the first overridden step; DomainError when an override
    names a version outside the chain (or none is given)."""
    if not isinstance(overrides, dict) or not overrides:
        raise DomainError("give at least one override: {version id: {field: value}}",
                          field="overrides")
    index = {version.version_id: i for i, version in enumerate(chain)}
    for version_id in overrides:
        if version_id not in index:
            raise DomainError(
                f"version {version_id} is not in the chain of {chain[-1].version_id}; "
                "override a step of that chain (see its lineage)",
                field=f"overrides.{version_id}")
    return min(index[version_id] for version_id in overrides)


def decide_rebake(chain: list[VersionCreated], overrides: dict[str, Any], *,
                  max_prompt_chars: int = MAX_PROMPT_CHARS) -> int:
    """Check a re-bake of ``chain`` with ``overrides``; return the first re-made index.

    Raises DomainError for overrides outside the chain, bad fields, or an upload after
    the first overridden step (its manual retouch cannot be re-made on new pixels).
    """
    start = first_overridden(chain, overrides)
    for version in chain:
        if version.version_id in overrides:
            check_override(version, overrides[version.version_id],
                           max_prompt_chars=max_prompt_chars)
    for version in chain[start:]:
        if is_source_step(version):
            raise DomainError(
                f"version {version.version_id} after the first overridden step was uploaded, "
                "not made by a recipe; it cannot be re-made on changed pixels. Re-bake up to "
                "its parent instead", field="overrides")
    return start


def remade_work(chain: list[VersionCreated], overrides: dict[str, Any], start: int, *,
                max_side: int) -> list[StepWork]:
    """Check every step a re-bake re-makes against the size its input will have, as the
    engine will (margins, scale, crop and resize bounds, steps x strength), and return
    each step's work for the run-time estimate. Raises DomainError naming the step."""
    work = []
    width, height = (chain[start - 1].width, chain[start - 1].height) if start else (0, 0)
    for version in chain[start:]:
        recipe = apply_override(version.recipe, overrides.get(version.version_id, {}),
                                derived_from=version.version_id)
        operation = version.operation
        try:
            if operation == "generate":
                width = recipe.get("width") or version.width
                height = recipe.get("height") or version.height
            else:
                width, height = edit_output_size(operation, recipe, width, height, max_side)
            if operation in DEFAULT_STRENGTH:
                check_denoising(recipe.get("steps") or DEFAULT_STEPS[version.tier],
                                recipe.get("strength", DEFAULT_STRENGTH[operation]))
        except DomainError as exc:
            raise DomainError(f"the {operation} step {version.version_id} could not run: "
                              f"{exc.detail}", field=f"overrides.{version.version_id}",
                              ) from None
        work.append(step_work(operation, version.tier, recipe, width, height))
    return work


def recorded_work(chain: list[VersionCreated]) -> list[StepWork]:
    """The work of re-running every recorded step of ``chain`` (a rebuild)."""
    return [step_work(v.operation, v.tier, v.recipe, v.width, v.height)
            for v in chain if not is_source_step(v)]


# -- handlers -----------------------------------------------------------------------------


def request_rebuild(store: EventStore, principal: Principal, meta: Metadata, version_id: str,
                    options: dict[str, Any] | None = None, *,
                    limits: JobLimits | None = None) -> dict[str, Any]:
    """Request a rebuild job of ``version_id`` (creator role); returns the job body.

    ``options``: ``tolerance`` {max_channel_difference, min_psnr}. Raises NotFound,
    Forbidden, JobTooLong when re-running the chain is predicted to pass the time limit.
    A repeated ``meta.command_id`` returns the first request's body.
    """
    job_id = new_id()

    def plan() -> list[StreamAppend]:
        asset, _, _, _ = load_entity_asset(store, principal, version_id, "version", CREATOR)
        version = asset.versions[version_id].event
        (limits or JobLimits()).check(version.tier, recorded_work(load_chain(store, version_id)))
        job = JobRequested(job_id=job_id, kind="rebuild", project_id=asset.project_id,
                           asset_id=asset.asset_id, requested_by=principal.user_id,
                           input_version_id=version_id, tier=version.tier,
                           options=dict(options or {}))
        return [StreamAppend(stream_id("job", job_id), "job", NO_STREAM, [job])]

    return job_body(execute(store, meta, plan))


def request_rebake(store: EventStore, blobs, principal: Principal, meta: Metadata,  # noqa: ANN001
                   version_id: str, overrides: dict[str, Any], *,
                   max_prompt_chars: int = MAX_PROMPT_CHARS, max_side: int = ENGINE_MAX_SIDE,
                   limits: JobLimits | None = None) -> dict[str, Any]:
    """Request a re-bake of ``version_id`` with ``overrides`` {version id in its chain:
    {field: value}} (creator role); returns the job body.

    A ``mask`` given as base64 PNG is stored as a blob first and the job names its hash.
    Project policies apply to the versions the re-bake will create; every re-made step
    is checked against its input's size (within ``max_side``) and the whole job against
    the time limit. Raises NotFound, Forbidden, DomainError (JobTooLong),
    PolicyViolation.
    """
    if meta.command_id is not None and store.recorded_for_command(meta.command_id, meta.request):
        return job_body(execute(store, meta, list))
    job_id = new_id()
    stored: dict[str, Any] = {}

    def plan() -> list[StreamAppend]:
        asset, version, project, _ = load_entity_asset(store, principal, version_id, "version",
                                                       CREATOR)
        chain = load_chain(store, version_id)
        start = decide_rebake(chain, overrides, max_prompt_chars=max_prompt_chars)
        if not stored:
            stored["overrides"] = _store_masks(blobs, asset.project_id, chain, overrides)
        remade = chain[start:]
        work = remade_work(chain, stored["overrides"], start, max_side=max_side)
        for tier in sorted({v.tier for v in remade}):
            count = sum(1 for v in remade if v.tier == tier)
            check_policies(project, asset, tier, count, pending_finals(store, asset))
        target = chain[-1]
        (limits or JobLimits()).check(target.tier, work)
        job = JobRequested(job_id=job_id, kind="rebake", project_id=asset.project_id,
                           asset_id=asset.asset_id, requested_by=principal.user_id,
                           input_version_id=version_id, tier=target.tier,
                           options={"overrides": stored["overrides"]})
        requested = JobsRequested(job_ids=[job_id], operation="rebake", tier=target.tier)
        return [StreamAppend(stream_id("asset", asset.asset_id), "asset", version, [requested]),
                StreamAppend(stream_id("job", job_id), "job", NO_STREAM, [job])]

    return job_body(execute(store, meta, plan))


def _store_masks(blobs, project_id: str, chain: list[VersionCreated],  # noqa: ANN001
                 overrides: dict[str, Any]) -> dict[str, Any]:
    """The overrides with every ``mask`` as a stored blob's key (base64 PNGs are checked
    against the step's input size and stored for ``project_id``; keys must name a blob
    the project holds)."""
    by_id = {v.version_id: i for i, v in enumerate(chain)}
    result: dict[str, Any] = {}
    for version_id, override in overrides.items():
        override = dict(override)
        mask = override.get("mask")
        if mask is not None:
            field = f"overrides.{version_id}.mask"
            if _BLOB_KEY.fullmatch(mask):
                if not blobs.owned_by(project_id, mask):
                    raise blob_not_in_project(mask, field)
            else:
                try:
                    png = base64.b64decode(mask, validate=True)
                except (binascii.Error, ValueError):
                    raise DomainError("mask is neither a blob hash nor valid base64",
                                      field=field) from None
                parent = chain[by_id[version_id] - 1] if by_id[version_id] else None
                if parent is not None:
                    check_mask(png, parent.width, parent.height)
                override["mask"] = blobs.put_for(project_id, png)
        result[version_id] = override
    return result


def job_body(recorded: list[Recorded]) -> dict[str, Any]:
    """The 202 body of a rebuild or re-bake request (a repeat gives the same body)."""
    _, job = first_of(recorded, JobRequested)
    return {"job_id": job.job_id, "kind": job.kind, "status": "requested",
            "version_id": job.input_version_id, "asset_id": job.asset_id,
            "options": job.options, "url": f"/api/jobs/{job.job_id}",
            "position": recorded[-1].position}
