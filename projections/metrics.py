"""Production metrics per project: drafts vs finals, time to first approval, compute
seconds per approved asset (discarded drafts included), approvals per day, rounds of
changes requested before approval."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from events.store import Recorded, utc
from projections.common import iso
from projections.runner import ApplyContext, Projection
from projections.scopes import entity_id
from projections.tables import metric_assets, metric_decisions
from rules.approvals import APPROVED, fold_approvals


def _asset_created(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    ctx.insert("rm_metric_assets", {
        "asset_id": e.asset_id, "project_id": e.project_id, "name": e.name,
        "created_at": rec.recorded_at, "drafts": 0, "finals": 0,
        "version_cost_seconds": 0.0, "compute_used_seconds": 0.0, "compute_used_jobs": 0,
        "first_approved_at": None, "changes_before_approval": 0, "changes_requested": 0},
        key=e.asset_id)


def _add(ctx: ApplyContext, asset_id: str, **deltas: float) -> None:
    """``column += delta`` for the asset's row: in place while its insert is buffered,
    else a queued UPDATE (one reusable statement)."""
    row = ctx.unsent("rm_metric_assets", asset_id)
    if row is not None:
        for name, delta in deltas.items():
            row[name] += delta
        return
    statement = ctx.statement("rm_metric_assets", "add", lambda t: update(t).where(
        t.c.asset_id == bindparam("b_id")).values({
            t.c[name]: t.c[name] + bindparam("b_" + name) for name in _COUNTERS}))
    params = {"b_" + name: deltas.get(name, 0) for name in _COUNTERS}
    params["b_id"] = asset_id
    ctx.queue("rm_metric_assets", statement, params)


_COUNTERS = ("drafts", "finals", "version_cost_seconds", "compute_used_seconds",
             "compute_used_jobs", "changes_requested")


def _version_created(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    final = e.tier == "final"
    _add(ctx, e.asset_id, drafts=0 if final else 1, finals=1 if final else 0,
         version_cost_seconds=float(e.cost_seconds))


def _compute_used(ctx: ApplyContext, rec: Recorded) -> None:
    _add(ctx, rec.event.asset_id, compute_used_seconds=float(rec.event.seconds),
         compute_used_jobs=1)


def _decision_recorded(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    asset_id = entity_id(rec.stream_id)
    ctx.insert("rm_metric_decisions", {"decision_id": e.decision_id, "asset_id": asset_id,
                                       "decision": e.decision, "revoked": False,
                                       "version_id": e.version_id, "channel": e.channel,
                                       "position": rec.position},
               key=e.decision_id)
    if e.decision == APPROVED:
        _first_approval(ctx, asset_id, rec)
    elif e.decision == "changes_requested":
        _add(ctx, asset_id, changes_requested=1)


def _first_approval(ctx: ApplyContext, asset_id: str, rec: Recorded) -> None:
    """Remember the first approval and the changes requested before it."""
    row = ctx.unsent("rm_metric_assets", asset_id)
    if row is not None:
        if row["first_approved_at"] is None:
            row["first_approved_at"] = rec.recorded_at
            row["changes_before_approval"] = row["changes_requested"]
        return
    first = ctx.statement("rm_metric_assets", "first_approval", lambda t: update(t).where(
        t.c.asset_id == bindparam("b_id"), t.c.first_approved_at.is_(None)).values(
        first_approved_at=bindparam("b_at"), changes_before_approval=t.c.changes_requested))
    ctx.queue("rm_metric_assets", first, {"b_id": asset_id, "b_at": rec.recorded_at})


def _decision_revoked(ctx: ApplyContext, rec: Recorded) -> None:
    row = ctx.unsent("rm_metric_decisions", rec.event.decision_id)
    if row is not None:
        row["revoked"] = True
        return
    statement = ctx.statement("rm_metric_decisions", "revoke", lambda t: update(t).where(
        t.c.decision_id == bindparam("b_id")).values(revoked=True))
    ctx.queue("rm_metric_decisions", statement, {"b_id": rec.event.decision_id})


PROJECTION = Projection(
    name="metrics",
    tables=(metric_assets, metric_decisions),
    handlers={
        "asset.created": _asset_created,
        "version.created": _version_created,
        "project.compute_used": _compute_used,
        "decision.recorded": _decision_recorded,
        "decision.revoked": _decision_revoked,
    },
)


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear-interpolated percentile (``fraction`` in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * fraction
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _ratio(drafts: int, finals: int) -> float | None:
    return round(drafts / finals, 4) if finals else None


def _approved_assets(conn: Connection, project_id: str) -> set[str]:
    """The project's assets with a version standing approved in some channel."""
    d = metric_decisions.c
    standing: dict[str, list[tuple[str, str | None, str]]] = {}
    for asset_id, version_id, channel, decision in conn.execute(
            select(d.asset_id, d.version_id, d.channel, d.decision)
            .join(metric_assets, metric_assets.c.asset_id == d.asset_id)
            .where(metric_assets.c.project_id == project_id, d.revoked.is_(False))
            .order_by(d.position)):
        standing.setdefault(asset_id, []).append((version_id, channel, decision))
    return {asset_id for asset_id, decisions in standing.items() if fold_approvals(decisions)}


def project_metrics(conn: Connection, project_id: str) -> dict[str, Any]:
    """Per asset and overall figures for one project.

    An asset counts as approved while a version of it stands approved in a channel
    (rules/approvals.py); time to
    first approval and approvals per day use the first approval ever recorded. Compute
    seconds are the project's recorded compute for the asset's jobs when there is any,
    else the sum of its versions' costs; either way every draft counts, kept or not.
    """
    rows = conn.execute(select(metric_assets).where(metric_assets.c.project_id == project_id)
                        .order_by(metric_assets.c.created_at)).mappings().all()
    approved_assets = _approved_assets(conn, project_id)
    per_asset, waits, rounds, approved_compute = [], [], [], []
    per_day: dict[str, int] = {}
    total_compute = 0.0
    for row in rows:
        compute = (row["compute_used_seconds"] if row["compute_used_jobs"]
                   else row["version_cost_seconds"])
        total_compute += compute
        approved = row["asset_id"] in approved_assets
        first = row["first_approved_at"]
        wait = (utc(first) - utc(row["created_at"])).total_seconds() if first else None
        if first is not None:
            waits.append(wait)
            rounds.append(row["changes_before_approval"])
            day = utc(first).date().isoformat()
            per_day[day] = per_day.get(day, 0) + 1
        if approved:
            approved_compute.append(compute)
        per_asset.append({
            "asset_id": row["asset_id"], "name": row["name"], "drafts": row["drafts"],
            "finals": row["finals"], "draft_to_final_ratio": _ratio(row["drafts"],
                                                                   row["finals"]),
            "compute_seconds": round(compute, 3), "approved": approved,
            "first_approved_at": iso(first), "seconds_to_first_approval": wait,
            "changes_requested_before_approval": row["changes_before_approval"]
            if first else None,
            "changes_requested": row["changes_requested"]})
    drafts = sum(a["drafts"] for a in per_asset)
    finals = sum(a["finals"] for a in per_asset)
    overall = {
        "assets": len(per_asset), "approved_assets": len(approved_compute),
        "drafts": drafts, "finals": finals, "draft_to_final_ratio": _ratio(drafts, finals),
        "seconds_to_first_approval": {"median": percentile(waits, 0.5),
                                      "p90": percentile(waits, 0.9), "count": len(waits)},
        "compute_seconds_total": round(total_compute, 3),
        "compute_seconds_per_approved_asset":
            round(sum(approved_compute) / len(approved_compute), 3) if approved_compute
            else None,
        "project_compute_seconds_per_approved_asset":
            round(total_compute / len(approved_compute), 3) if approved_compute else None,
        "approved_assets_per_day": dict(sorted(per_day.items())),
        "changes_requested_before_approval": {
            "mean": round(sum(rounds) / len(rounds), 3) if rounds else None,
            "median": percentile([float(r) for r in rounds], 0.5),
            "max": max(rounds) if rounds else None},
    }
    return {"project_id": project_id, "overall": overall, "assets": per_asset}
