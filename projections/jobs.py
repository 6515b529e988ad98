"""Jobs as a read model: one row per job (status, times, attempts, cost, versions,
error) for the job lists, and the recorded step costs the run-time estimate is
calibrated on (:mod:`rules.job_estimate`).

Rows follow the job's stream: requested → started → completed / failed / cancelled, a
retry re-opens a failed job, a request to stop sets ``cancel_requested``; every
outcome adds the compute it spent to ``cost_seconds``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from events.store import Recorded
from projections.common import iso
from projections.runner import ApplyContext, Projection
from projections.tables import job_rates, jobs
from rules.job_estimate import RateSums, step_work

JOBS, RATES = "rm_jobs", "rm_job_rates"
RATED_OPERATIONS = ("generate", "img2img", "inpaint", "outpaint", "upscale", "adjust")


def _requested(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    ctx.insert(JOBS, {
        "job_id": e.job_id, "project_id": e.project_id, "asset_id": e.asset_id,
        "requested_by": e.requested_by, "kind": e.kind,
        "operation": e.recipe.get("operation") or e.kind, "tier": e.tier,
        "status": "requested", "cancel_requested": False, "attempts": 0,
        "input_version_id": e.input_version_id, "version_ids": [], "cost_seconds": 0.0,
        "error_kind": None, "error_message": None, "requested_at": rec.recorded_at,
        "started_at": None, "finished_at": None, "position": rec.position}, key=e.job_id)


def _change(ctx: ApplyContext, job_id: str, name: str, values: dict[str, Any],
            cost: float = 0.0) -> None:
    """Set ``values`` on the job's row and add ``cost`` to its cost: in place while its
    insert is buffered, else a queued UPDATE (one reusable statement per kind of change)."""
    row = ctx.unsent(JOBS, job_id)
    if row is not None:
        row.update(values)
        row["cost_seconds"] += cost
        return
    statement = ctx.statement(JOBS, name, lambda t: update(t).where(
        t.c.job_id == bindparam("b_id")).values(
        {**{t.c[column]: bindparam("b_" + column) for column in values},
         t.c.cost_seconds: t.c.cost_seconds + bindparam("b_cost")}))
    ctx.queue(JOBS, statement, {"b_id": job_id, "b_cost": cost,
                                **{"b_" + column: value for column, value in values.items()}})


def _started(ctx: ApplyContext, rec: Recorded) -> None:
    _change(ctx, rec.event.job_id, "started", {
        "status": "started", "started_at": rec.recorded_at, "attempts": rec.event.attempt})


def _completed(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    _change(ctx, e.job_id, "completed", {
        "status": "completed", "finished_at": rec.recorded_at,
        "version_ids": list(e.version_ids), "error_kind": None, "error_message": None},
        e.cost_seconds)


def _failed(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    _change(ctx, e.job_id, "failed", {
        "status": "failed", "finished_at": rec.recorded_at, "error_kind": e.error_kind,
        "error_message": e.message}, e.cost_seconds)


def _retried(ctx: ApplyContext, rec: Recorded) -> None:
    _change(ctx, rec.event.job_id, "retried", {
        "status": "requested", "finished_at": None, "error_kind": None,
        "error_message": None, "cancel_requested": False})


def _stop_requested(ctx: ApplyContext, rec: Recorded) -> None:
    _change(ctx, rec.event.job_id, "stop", {"cancel_requested": True})


def _cancelled(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    _change(ctx, e.job_id, "cancelled", {"status": "cancelled", "finished_at": rec.recorded_at},
            e.cost_seconds)


def _version_created(ctx: ApplyContext, rec: Recorded) -> None:
    """A step a job recorded with its cost: one more sample of its (operation, tier)."""
    e = rec.event
    if e.job_id is None or e.cost_seconds <= 0 or e.operation not in RATED_OPERATIONS:
        return
    key = (e.operation, e.tier)
    row = ctx.batch.get((RATES, key))
    if row is None:
        table = ctx.t(RATES)
        found = ctx.conn.execute(select(table).where(
            table.c.operation == e.operation, table.c.tier == e.tier)).mappings().first()
        row = dict(found) if found is not None else None
        if row is None:
            row = {"operation": e.operation, "tier": e.tier, **_sums_row(RateSums())}
            ctx.insert(RATES, row, key=key)
        ctx.batch[(RATES, key)] = row
    work = step_work(e.operation, e.tier, e.recipe, e.width, e.height).work
    row.update(_sums_row(_sums(row).add(work, float(e.cost_seconds))))
    if ctx.unsent(RATES, key) is row:
        return
    statement = ctx.statement(RATES, "set", lambda t: update(t).where(
        t.c.operation == bindparam("b_operation"), t.c.tier == bindparam("b_tier")).values(
        {t.c[column]: bindparam("b_" + column) for column in _SUMS}))
    ctx.queue(RATES, statement, {"b_" + column: row[column]
                                 for column in ("operation", "tier", *_SUMS)})


_SUMS = ("weight", "sum_x", "sum_y", "sum_xx", "sum_xy", "samples")


def _sums(row: Any) -> RateSums:
    return RateSums(*(row[column] for column in _SUMS))


def _sums_row(sums: RateSums) -> dict[str, Any]:
    return {column: getattr(sums, column) for column in _SUMS}


PROJECTION = Projection(
    name="jobs",
    tables=(jobs, job_rates),
    handlers={
        "job.requested": _requested,
        "job.started": _started,
        "job.completed": _completed,
        "job.failed": _failed,
        "job.retry_requested": _retried,
        "job.cancel_requested": _stop_requested,
        "job.cancelled": _cancelled,
        "version.created": _version_created,
    },
)


# -- queries ---------------------------------------------------------------------------


def rates(conn: Connection) -> dict[tuple[str, str], RateSums]:
    """The calibration of every (operation, tier) that has recorded steps."""
    return {(row["operation"], row["tier"]): _sums(row)
            for row in conn.execute(select(job_rates)).mappings()}


def list_jobs(conn: Connection, *, asset_id: str | None = None,
              project_ids: Sequence[str] | None = None, requested_by: str | None = None,
              statuses: Sequence[str] = (), before: int | None = None, limit: int = 20,
              ) -> tuple[list[dict[str, Any]], int | None]:
    """Jobs newest first, narrowed by asset, projects (None: any), requester and
    statuses; ``before`` a request position to page on from. Returns the page and the
    position to pass as ``before`` for the next one (None after the last)."""
    t = jobs.c
    query = select(jobs).order_by(t.position.desc()).limit(limit + 1)
    if asset_id is not None:
        query = query.where(t.asset_id == asset_id)
    if project_ids is not None:
        query = query.where(t.project_id.in_(list(project_ids)))
    if requested_by is not None:
        query = query.where(t.requested_by == requested_by)
    if statuses:
        query = query.where(t.status.in_(list(statuses)))
    if before is not None:
        query = query.where(t.position < before)
    rows = conn.execute(query).mappings().all()
    more = len(rows) > limit
    rows = rows[:limit]
    return [_job_item(row) for row in rows], rows[-1]["position"] if more else None


def _job_item(row: Any) -> dict[str, Any]:
    error = ({"kind": row["error_kind"], "message": row["error_message"]}
             if row["error_kind"] else None)
    return {
        "job_id": row["job_id"], "kind": row["kind"], "operation": row["operation"],
        "status": row["status"], "cancel_requested": row["cancel_requested"],
        "project_id": row["project_id"], "asset_id": row["asset_id"], "tier": row["tier"],
        "requested_by": row["requested_by"], "requested_at": iso(row["requested_at"]),
        "started_at": iso(row["started_at"]), "finished_at": iso(row["finished_at"]),
        "attempts": row["attempts"], "input_version_id": row["input_version_id"],
        "version_ids": list(row["version_ids"]), "cost_seconds": round(row["cost_seconds"], 6),
        "error": error, "url": f"/api/jobs/{row['job_id']}",
    }
