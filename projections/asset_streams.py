"""Asset streams: what the version tree and review tables leave out of "the asset as its
stream says it": each event's stream version and time (the ETag of the asset and its
versions, now or as of a time), the jobs an asset waits for, and the metadata an upload
imported from another tool. GET /api/assets/{id} and /api/versions/{id} read these with
the tree and review tables (projections/asset_view.py)."""

from __future__ import annotations

from sqlalchemy import bindparam, update

from events.store import Recorded
from projections.runner import ApplyContext, Projection
from projections.scopes import entity_id, stream_kind
from projections.tables import asset_events, asset_jobs, version_imports

ASSET_STREAM_EVENTS = (
    "asset.created", "asset.tag_added", "asset.tag_removed", "asset.jobs_requested",
    "version.created", "comment.added", "comment.resolved", "decision.recorded",
    "decision.revoked", "version.pinned", "version.unpinned")
"""Every event type an asset's stream holds (commands/asset_state.py folds them)."""


def _recorded(ctx: ApplyContext, rec: Recorded) -> str | None:
    """Note the event's stream version; the asset id, or None off an asset stream."""
    if stream_kind(rec.stream_id) != "asset":
        return None
    asset_id = entity_id(rec.stream_id)
    ctx.insert("rm_asset_events", {"asset_id": asset_id, "stream_version": rec.stream_version,
                                   "recorded_at": rec.recorded_at})
    return asset_id


def _jobs_requested(ctx: ApplyContext, rec: Recorded) -> None:
    asset_id = _recorded(ctx, rec)
    if asset_id is None:
        return
    for job_id in dict.fromkeys(rec.event.job_ids):
        ctx.insert("rm_asset_jobs", {"job_id": job_id, "asset_id": asset_id,
                                     "requested_at": rec.recorded_at, "done_at": None},
                   key=job_id)


def _version_created(ctx: ApplyContext, rec: Recorded) -> None:
    asset_id = _recorded(ctx, rec)
    if asset_id is None:
        return
    e = rec.event
    if e.imported:
        ctx.insert("rm_version_imports", {"version_id": e.version_id, "imported": e.imported})
    if e.job_id is None:
        return
    # A job stops being awaited with its first version on the asset that requested it.
    row = ctx.unsent("rm_asset_jobs", e.job_id)
    if row is not None:
        if row["asset_id"] == asset_id and row["done_at"] is None:
            row["done_at"] = rec.recorded_at
        return
    statement = ctx.statement("rm_asset_jobs", "done", lambda t: update(t).where(
        t.c.job_id == bindparam("b_id"), t.c.asset_id == bindparam("b_asset"),
        t.c.done_at.is_(None)).values(done_at=bindparam("b_at")))
    ctx.queue("rm_asset_jobs", statement,
              {"b_id": e.job_id, "b_asset": asset_id, "b_at": rec.recorded_at})


def _other(ctx: ApplyContext, rec: Recorded) -> None:
    _recorded(ctx, rec)


PROJECTION = Projection(
    name="asset_streams",
    tables=(asset_events, asset_jobs, version_imports),
    handlers={**dict.fromkeys(ASSET_STREAM_EVENTS, _other),
              "asset.jobs_requested": _jobs_requested,
              "version.created": _version_created},
)
