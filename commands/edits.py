"""Requesting an edit of a version: img2img, inpaint, outpaint, upscale or adjust.

Inputs are validated before any job is requested (sizes, margins, scale, the mask), so a
job that cannot succeed is never queued. Masks are stored as blobs; the job names the
mask's hash.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from typing import Any

from commands.asset_state import AssetState, load_entity_asset
from commands.generation import (
    asset_expected,
    check_seed_range,
    draw_seed,
    job_appends,
    jobs_result,
    pending_finals,
)
from commands.models import RECIPE_EXTRAS, recipe_extras
from commands.policies import check_policies
from commands.projects import ProjectState
from commands.state import execute, new_id
from commands.users import Principal
from events.assets import JobsRequested
from events.errors import DomainError, NotFound
from events.jobs import JobRequested
from events.store import ANY, EventStore, Metadata, StreamAppend
from imaging.blobs import BlobStore
from imaging.checks import (
    check_denoising,
    check_mask,
    check_scheduler,
    edit_output_size,
)
from imaging.masks import region_mask
from rules.access import CREATOR
from rules.job_estimate import JobLimits, step_work
from rules.recipes import DEFAULT_EDIT_UPSCALE, DEFAULT_STEPS, DEFAULT_STRENGTH, EDIT_OPERATIONS

_CARRIED = ("prompt", "negative_prompt", "strength", "steps", "guidance", "scheduler",
            *(key for key in RECIPE_EXTRAS if key != "refiner"))  # a refiner follows generations


@dataclasses.dataclass(frozen=True, kw_only=True)
class Edit:
    """An edit request with its job id and seed chosen and its mask stored."""

    version_id: str
    requested_by: str
    operation: str
    job_id: str
    seed: int
    max_side: int
    params: dict[str, Any]
    """prompt, negative_prompt, strength, steps, guidance, scheduler, margins, scale,
    adjustments, tier: only those the client sent."""
    mask_hash: str | None = None


def decide_edit(project: ProjectState, asset: AssetState, cmd: Edit, pending: int,
                limits: JobLimits | None = None) -> tuple[list[JobRequested], JobsRequested]:
    """The edit's job and the asset's JobsRequested. The output tier is the source's
    unless ``params["tier"]`` says otherwise. Raises DomainError for inputs the operation
    cannot take (everything the engine would refuse: sizes, margins, scale, crop and
    resize bounds, scheduler, steps x strength), PolicyViolation, NotFound for an unknown
    version, JobTooLong when the job is predicted to pass its tier's time limit."""
    info = asset.versions.get(cmd.version_id)
    if info is None:
        raise NotFound(f"version {cmd.version_id} does not exist")
    source = info.event
    params = cmd.params
    tier = params.get("tier") or source.tier
    if cmd.operation not in EDIT_OPERATIONS:
        raise DomainError(f"unknown operation {cmd.operation!r}; use {', '.join(EDIT_OPERATIONS)}")
    if cmd.operation != "adjust" and (source.width % 8 or source.height % 8):
        raise DomainError(
            f"{cmd.operation} needs a source whose sides are multiples of 8, not "
            f"{source.width}x{source.height}; crop or resize it with adjust first")
    recipe: dict[str, Any] = {"operation": cmd.operation, "tier": tier}
    if cmd.operation == "adjust":
        if not params.get("adjustments"):
            raise DomainError("adjust needs a non-empty 'adjustments' object", field="adjustments")
        recipe["adjustments"] = params["adjustments"]
    else:
        check_seed_range(cmd.seed, 1)
        recipe["seed"] = cmd.seed
        for key in _CARRIED:
            if params.get(key) is not None:
                recipe[key] = params[key]
        if recipe.get("scheduler") is not None:
            check_scheduler(recipe["scheduler"])
        if cmd.operation in DEFAULT_STRENGTH:
            check_denoising(recipe.get("steps") or DEFAULT_STEPS[tier],
                            recipe.get("strength", DEFAULT_STRENGTH[cmd.operation]))
        # Without a prompt the edit keeps the source's, so "same idea, new pixels" is the
        # default rather than an unprompted diffusion.
        for key in ("prompt", "negative_prompt"):
            if key not in recipe and isinstance(source.recipe.get(key), str):
                recipe[key] = source.recipe[key]
    if cmd.operation == "inpaint":
        if cmd.mask_hash is None:
            raise DomainError("inpaint needs a mask (base64 PNG, mask_blob) or a region",
                              field="mask")
    elif cmd.mask_hash is not None:
        raise DomainError(f"{cmd.operation} takes no mask", field="mask")
    if cmd.operation == "outpaint":
        if not params.get("margins"):
            raise DomainError("outpaint needs margins {left, top, right, bottom}",
                              field="margins")
        recipe["margins"] = params["margins"]
    if cmd.operation == "upscale":
        recipe["scale"] = params.get("scale") or DEFAULT_EDIT_UPSCALE
    width, height = edit_output_size(cmd.operation, recipe, source.width, source.height,
                                     cmd.max_side)
    check_policies(project, asset, tier, 1, pending)
    (limits or JobLimits()).check(tier, [step_work(cmd.operation, tier, recipe, width, height)])
    job = JobRequested(job_id=cmd.job_id, kind="edit", project_id=asset.project_id,
                       asset_id=asset.asset_id, requested_by=cmd.requested_by, recipe=recipe,
                       input_version_id=cmd.version_id, mask_hash=cmd.mask_hash, tier=tier)
    return [job], JobsRequested(job_ids=[cmd.job_id], operation=cmd.operation, tier=tier)


def blob_not_in_project(key: str, field: str) -> DomainError:
    """The one answer for a blob hash the caller's project does not hold, whether it is
    unknown or another project's: the two must be indistinguishable."""
    return DomainError(f"{field} {str(key)[:80]} is not stored in this project; "
                       "upload it or send the PNG as base64", field=field)


def mask_bytes(blobs: BlobStore, project_id: str, params: dict[str, Any], width: int,
               height: int) -> bytes | None:
    """The mask PNG from ``mask`` (base64), ``mask_blob`` (a blob ``project_id`` holds) or
    ``region``; None when none was sent. Raises DomainError for undecodable masks and for
    blobs the project does not hold (unknown and other projects' alike)."""
    if params.get("mask") is not None:
        try:
            return base64.b64decode(params["mask"], validate=True)
        except (binascii.Error, ValueError):
            raise DomainError("mask is not valid base64", field="mask") from None
    if params.get("mask_blob") is not None:
        if not blobs.owned_by(project_id, params["mask_blob"]):
            raise blob_not_in_project(params["mask_blob"], "mask_blob")
        return blobs.get(params["mask_blob"])
    if params.get("region") is not None:
        return region_mask(params["region"], width, height)
    return None


def request_edit(store: EventStore, blobs: BlobStore, principal: Principal, meta: Metadata,
                 version_id: str, params: dict[str, Any], *, max_side: int,
                 if_match: int = ANY, limits: JobLimits | None = None) -> dict[str, Any]:
    """Request an edit of a version (creator role); returns the jobs body.

    ``params``: operation and the operation's inputs (see :class:`Edit`), mask /
    mask_blob / region, seed (None: drawn). Raises NotFound, Forbidden, DomainError,
    PolicyViolation.
    """
    seed = params.get("seed")
    seed = draw_seed() if seed is None else seed
    job_id = new_id()
    if meta.command_id is not None and store.recorded_for_command(meta.command_id, meta.request):
        # A repeat: answer from the first run without storing the mask again.
        return jobs_result(execute(store, meta, lambda: []))
    mask_hash: dict[str, str | None] = {}

    def plan() -> list[StreamAppend]:
        asset, version, project, _ = load_entity_asset(store, principal, version_id, "version",
                                                       CREATOR)
        source = asset.versions[version_id].event
        if "hash" not in mask_hash:
            png = mask_bytes(blobs, asset.project_id, params, source.width, source.height)
            if png is not None:
                if params["operation"] != "inpaint":
                    raise DomainError(f"{params['operation']} takes no mask", field="mask")
                check_mask(png, source.width, source.height)
            mask_hash["hash"] = blobs.put_for(asset.project_id, png) if png is not None else None
        cmd = Edit(version_id=version_id, requested_by=principal.user_id,
                   operation=params["operation"], job_id=job_id, seed=seed, max_side=max_side,
                   params={**params, **recipe_extras(store, params)},
                   mask_hash=mask_hash["hash"])
        jobs, asset_event = decide_edit(project, asset, cmd, pending_finals(store, asset),
                                        limits)
        return job_appends(asset.asset_id, asset_expected(if_match, version, asset_event.tier),
                           jobs, asset_event)

    return jobs_result(execute(store, meta, plan, if_match=if_match))
