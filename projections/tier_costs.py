"""Compute per tier, and money: every recorded cost (a job's compute, a version's own
cost) with the tier it was spent on, and each project's prices per compute-second.

The metrics (projections/metrics.py) count compute per asset; this read model splits
the same seconds by tier with the same rule (an asset's jobs' compute when it has any,
else its versions' costs) and prices them at the project's current prices.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from events.assets import TIERS
from events.store import Recorded
from projections.runner import ApplyContext, Projection
from projections.scopes import entity_id
from projections.tables import cost_entries, cost_jobs, cost_prices

MONEY_DIGITS = 4
"""Money is rounded to this many decimals (prices per second are small numbers)."""


def _job_requested(ctx: ApplyContext, rec: Recorded) -> None:
    ctx.insert("rm_cost_jobs", {"job_id": rec.event.job_id, "tier": rec.event.tier})


def _compute_used(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    ctx.insert("rm_cost_entries", {"entry_id": rec.event_id, "asset_id": e.asset_id,
                                   "source": "compute", "job_id": e.job_id, "tier": None,
                                   "seconds": float(e.seconds)})


def _version_created(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    ctx.insert("rm_cost_entries", {"entry_id": rec.event_id, "asset_id": e.asset_id,
                                   "source": "version", "job_id": None, "tier": e.tier,
                                   "seconds": float(e.cost_seconds)})


def _project_created(ctx: ApplyContext, rec: Recorded) -> None:
    ctx.insert("rm_cost_prices", {"project_id": rec.event.project_id, "draft": None,
                                  "final": None, "currency": None},
               key=rec.event.project_id)


def _policies_set(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    project_id = entity_id(rec.stream_id)
    prices = {"draft": e.draft_price_per_compute_second,
              "final": e.final_price_per_compute_second, "currency": e.price_currency}
    row = ctx.unsent("rm_cost_prices", project_id)
    if row is not None:
        row.update(prices)
        return
    statement = ctx.statement("rm_cost_prices", "set", lambda t: update(t).where(
        t.c.project_id == bindparam("b_id")).values(
        draft=bindparam("b_draft"), final=bindparam("b_final"),
        currency=bindparam("b_currency")))
    ctx.queue("rm_cost_prices", statement, {"b_id": project_id, "b_draft": prices["draft"],
                                            "b_final": prices["final"],
                                            "b_currency": prices["currency"]})


PROJECTION = Projection(
    name="tier_costs",
    tables=(cost_jobs, cost_entries, cost_prices),
    handlers={"job.requested": _job_requested, "project.compute_used": _compute_used,
              "version.created": _version_created, "project.created": _project_created,
              "project.policies_set": _policies_set},
)


def prices(conn: Connection, project_id: str) -> dict[str, Any]:
    """The project's price per compute-second of each tier (None: no price) and currency."""
    row = conn.execute(select(cost_prices).where(cost_prices.c.project_id == project_id)
                       ).mappings().first()
    if row is None:
        return {"draft": None, "final": None, "currency": None}
    return {"draft": row["draft"], "final": row["final"], "currency": row["currency"]}


def seconds_by_tier(conn: Connection, asset_ids: Iterable[str]) -> dict[str, dict[str, float]]:
    """asset id → tier → compute seconds: its jobs' compute by the jobs' tiers when it
    has any, else its versions' costs by the versions' tiers (every tier present)."""
    wanted = list(asset_ids)
    if not wanted:
        return {}
    e, j = cost_entries.c, cost_jobs.c
    compute: dict[str, dict[str, float]] = {}
    for asset_id, tier, seconds in conn.execute(
            select(e.asset_id, j.tier, func.sum(e.seconds))
            .select_from(cost_entries.outerjoin(cost_jobs, j.job_id == e.job_id))
            .where(e.source == "compute", e.asset_id.in_(wanted))
            .group_by(e.asset_id, j.tier)):
        tiers = compute.setdefault(asset_id, {})
        tiers[tier or "draft"] = tiers.get(tier or "draft", 0.0) + float(seconds)
    versions: dict[str, dict[str, float]] = {}
    for asset_id, tier, seconds in conn.execute(
            select(e.asset_id, e.tier, func.sum(e.seconds))
            .where(e.source == "version", e.asset_id.in_(wanted))
            .group_by(e.asset_id, e.tier)):
        versions.setdefault(asset_id, {})[tier] = float(seconds)
    return {asset_id: {tier: round((compute.get(asset_id) or versions.get(asset_id) or {})
                                   .get(tier, 0.0), 3) for tier in TIERS}
            for asset_id in wanted}


def money(seconds: dict[str, float], price: dict[str, Any]) -> dict[str, Any] | None:
    """``seconds`` per tier priced at ``price`` (tier → price per second, and currency):
    money per priced tier and their total; None when no tier has a price."""
    priced = {tier: round(seconds.get(tier, 0.0) * price[tier], MONEY_DIGITS)
              for tier in TIERS if price.get(tier) is not None}
    if not priced:
        return None
    return {**{tier: priced.get(tier) for tier in TIERS},
            "total": round(sum(priced.values()), MONEY_DIGITS), "currency": price["currency"]}


def with_tiers(conn: Connection, body: dict[str, Any]) -> dict[str, Any]:
    """The metrics ``body`` (projections.metrics.project_metrics) with compute split by
    tier and priced: per asset ``compute_seconds_by_tier`` and ``money``; overall the
    project's ``prices_per_compute_second``, ``compute_seconds_total_by_tier``,
    ``money_total``, ``compute_seconds_per_approved_asset_by_tier`` and
    ``money_per_approved_asset`` (money None where the project set no price)."""
    price = prices(conn, body["project_id"])
    split = seconds_by_tier(conn, [asset["asset_id"] for asset in body["assets"]])
    for asset in body["assets"]:
        asset["compute_seconds_by_tier"] = split[asset["asset_id"]]
        asset["money"] = money(split[asset["asset_id"]], price)
    approved = [split[a["asset_id"]] for a in body["assets"] if a["approved"]]
    totals = {tier: round(sum(s[tier] for s in split.values()), 3) for tier in TIERS}
    per_approved = ({tier: round(sum(s[tier] for s in approved) / len(approved), 3)
                     for tier in TIERS} if approved else None)
    body["overall"].update(
        prices_per_compute_second=price, compute_seconds_total_by_tier=totals,
        money_total=money(totals, price),
        compute_seconds_per_approved_asset_by_tier=per_approved,
        money_per_approved_asset=money(per_approved, price) if per_approved else None)
    return body
