"""Review state: comments, decisions and pins per version; the approved version per channel.

Rows keep their whole history (resolved, revoked, unpinned are columns, not deletes), so
the audit trail and "as of" answers need nothing else.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from events.errors import NotFound
from events.store import Recorded, utc
from projections.access import removed_channels
from projections.common import ended_by, existed_at, iso, valid_at
from projections.runner import ApplyContext, Projection
from projections.scopes import entity_id
from projections.tables import assets, comments, decisions, pins, projects, versions
from projections.version_tree import asset_row
from rules.approvals import approved_channels, channel_key, fold_approvals, offered


def _comment_added(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    ctx.insert("rm_review_comments", {
        "comment_id": e.comment_id, "version_id": e.version_id,
        "asset_id": entity_id(rec.stream_id), "author_id": e.author_id, "body": e.body,
        "region": e.region, "parent_comment_id": e.parent_comment_id,
        "created_at": rec.recorded_at, "position": rec.position, "resolved_at": None,
        "resolved_by": None}, key=e.comment_id)


def _end(ctx: ApplyContext, table: str, key: str, changes: dict) -> bool:
    """Close the still buffered row ``key`` in place (``changes``' first column is the
    end time, set only once); False when the row was already sent (queue an UPDATE)."""
    row = ctx.unsent(table, key)
    if row is None:
        return False
    if row[next(iter(changes))] is None:
        row.update(changes)
    return True


def _comment_resolved(ctx: ApplyContext, rec: Recorded) -> None:
    if _end(ctx, "rm_review_comments", rec.event.comment_id,
            {"resolved_at": rec.recorded_at, "resolved_by": rec.actor_id}):
        return
    statement = ctx.statement("rm_review_comments", "resolve", lambda t: update(t).where(
        t.c.comment_id == bindparam("b_id"), t.c.resolved_at.is_(None)).values(
        resolved_at=bindparam("b_at"), resolved_by=bindparam("b_by")))
    ctx.queue("rm_review_comments", statement, {
        "b_id": rec.event.comment_id, "b_at": rec.recorded_at, "b_by": rec.actor_id})


def _decision_recorded(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    ctx.insert("rm_review_decisions", {
        "decision_id": e.decision_id, "version_id": e.version_id,
        "asset_id": entity_id(rec.stream_id), "decision": e.decision,
        "content_hash": e.content_hash, "reviewer_id": e.reviewer_id, "role": e.role,
        "channel": e.channel, "note": e.note, "decided_at": rec.recorded_at,
        "position": rec.position, "revoked_at": None, "revoked_by": None,
        "revoke_reason": None}, key=e.decision_id)


def _decision_revoked(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    if _end(ctx, "rm_review_decisions", e.decision_id, {
            "revoked_at": rec.recorded_at, "revoked_by": e.revoked_by,
            "revoke_reason": e.reason}):
        return
    statement = ctx.statement("rm_review_decisions", "revoke", lambda t: update(t).where(
        t.c.decision_id == bindparam("b_id"), t.c.revoked_at.is_(None)).values(
        revoked_at=bindparam("b_at"), revoked_by=bindparam("b_by"),
        revoke_reason=bindparam("b_reason")))
    ctx.queue("rm_review_decisions", statement, {
        "b_id": rec.event.decision_id, "b_at": rec.recorded_at,
        "b_by": rec.event.revoked_by, "b_reason": rec.event.reason})


def _version_pinned(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    ctx.insert("rm_review_pins", {
        "pin_id": e.pin_id, "version_id": e.version_id, "asset_id": entity_id(rec.stream_id),
        "label": e.label, "pinned_by": e.pinned_by, "pinned_at": rec.recorded_at,
        "position": rec.position, "unpinned_at": None, "unpinned_by": None}, key=e.pin_id)


def _version_unpinned(ctx: ApplyContext, rec: Recorded) -> None:
    if _end(ctx, "rm_review_pins", rec.event.pin_id,
            {"unpinned_at": rec.recorded_at, "unpinned_by": rec.actor_id}):
        return
    statement = ctx.statement("rm_review_pins", "unpin", lambda t: update(t).where(
        t.c.pin_id == bindparam("b_id"), t.c.unpinned_at.is_(None)).values(
        unpinned_at=bindparam("b_at"), unpinned_by=bindparam("b_by")))
    ctx.queue("rm_review_pins", statement, {
        "b_id": rec.event.pin_id, "b_at": rec.recorded_at, "b_by": rec.actor_id})


PROJECTION = Projection(
    name="review_state",
    tables=(comments, decisions, pins),
    handlers={
        "comment.added": _comment_added,
        "comment.resolved": _comment_resolved,
        "decision.recorded": _decision_recorded,
        "decision.revoked": _decision_revoked,
        "version.pinned": _version_pinned,
        "version.unpinned": _version_unpinned,
    },
)


# -- queries ---------------------------------------------------------------------------

def active_pins(conn: Connection, asset_id: str, as_of: datetime | None = None,
                ) -> list[dict[str, Any]]:
    """Pins in place now (or at ``as_of``), oldest first."""
    p = pins.c
    rows = conn.execute(select(pins).where(p.asset_id == asset_id,
                                           valid_at(p.pinned_at, p.unpinned_at, as_of))
                        .order_by(p.position)).mappings().all()
    return [{"pin_id": r["pin_id"], "version_id": r["version_id"], "label": r["label"],
             "pinned_by": r["pinned_by"], "pinned_at": iso(r["pinned_at"])} for r in rows]


def asset_review(conn: Connection, asset_id: str, as_of: datetime | None = None,
                 removed: Collection[str] = ()) -> dict[str, Any]:
    """Per version: comments (open/resolved), decisions and current state (its latest
    standing decision outside the ``removed`` channels, those the project had removed
    then); per asset: the approved version per channel (but the ``removed`` ones:
    rules/approvals.py) and the pins in place — now, or
    exactly as they stood at ``as_of`` (rows keep when they started and ended). Raises
    NotFound.

    Rows are fetched whole (``.all()``): one driver call per query instead of one per
    row, which is most of the cost on an asset with hundreds of comments."""
    as_of = utc(as_of) if as_of is not None else None
    by_version: dict[str, dict[str, Any]] = {}
    v, c, d = versions.c, comments.c, decisions.c
    for row in conn.execute(select(v.version_id, v.content_hash, v.tier, v.created_at)
                            .where(v.asset_id == asset_id, existed_at(v.created_at, as_of))
                            .order_by(v.position)).all():
        by_version[row.version_id] = {
            "version_id": row.version_id, "content_hash": row.content_hash,
            "tier": row.tier, "created_at": iso(row.created_at), "state": "in_review",
            "open_comments": 0, "resolved_comments": 0, "comments": [], "decisions": []}
    asset = asset_row(conn, asset_id, as_of, version_count=len(by_version))
    resolved_then = ended_by(c.resolved_at, as_of)
    for row in conn.execute(select(comments, resolved_then.label("resolved"))
                            .where(c.asset_id == asset_id, existed_at(c.created_at, as_of))
                            .order_by(c.position)).mappings().all():
        entry = by_version.get(row["version_id"])
        if entry is None:
            continue
        resolved = bool(row["resolved"])
        entry["resolved_comments" if resolved else "open_comments"] += 1
        entry["comments"].append({
            "comment_id": row["comment_id"], "author_id": row["author_id"],
            "body": row["body"], "region": row["region"],
            "parent_comment_id": row["parent_comment_id"],
            "created_at": iso(row["created_at"]), "resolved": resolved,
            "resolved_at": iso(row["resolved_at"]) if resolved else None,
            "resolved_by": row["resolved_by"] if resolved else None})
    revoked_then = ended_by(d.revoked_at, as_of)
    standing: list[tuple[str, str | None, str]] = []  # for the approvals, in log order
    for row in conn.execute(select(decisions, revoked_then.label("revoked"))
                            .where(d.asset_id == asset_id, existed_at(d.decided_at, as_of))
                            .order_by(d.position)).mappings().all():
        revoked = bool(row["revoked"])
        if not revoked:
            standing.append((row["version_id"], row["channel"], row["decision"]))
        entry = by_version.get(row["version_id"])
        if entry is None:
            continue
        entry["decisions"].append({
            "decision_id": row["decision_id"], "decision": row["decision"],
            "channel": channel_key(row["channel"]), "content_hash": row["content_hash"],
            "reviewer_id": row["reviewer_id"], "role": row["role"], "note": row["note"],
            "decided_at": iso(row["decided_at"]), "revoked": revoked,
            "revoked_at": iso(row["revoked_at"]) if revoked else None,
            "revoked_by": row["revoked_by"] if revoked else None,
            "revoke_reason": row["revoke_reason"] if revoked else None})
        if not revoked and channel_key(row["channel"]) not in removed:
            entry["state"] = row["decision"]
    approvals = offered(fold_approvals(standing), removed)
    approved = {channel: {"version_id": version_id,
                          "content_hash": by_version.get(version_id, {}).get("content_hash")}
                for channel, version_id in sorted(approvals.items())}
    return {"asset": asset, "approved": approved, "pins": active_pins(conn, asset_id, as_of),
            "versions": list(by_version.values())}


def approved_versions(conn: Connection, project_id: str) -> list[dict[str, object]]:
    """Every version of the project standing approved in a channel the project has not
    removed (rules/approvals.py), assets in the order they were created: [{version_id,
    asset_id, asset_name, channels}]. NotFound for an unknown project."""
    if conn.execute(select(projects.c.project_id)
                    .where(projects.c.project_id == project_id)).first() is None:
        raise NotFound(f"project {project_id} does not exist")
    d = decisions.c
    rows = conn.execute(
        select(assets.c.asset_id, assets.c.name, d.version_id, d.channel, d.decision)
        .join(decisions, d.asset_id == assets.c.asset_id)
        .where(assets.c.project_id == project_id, d.revoked_at.is_(None))
        .order_by(assets.c.position, d.position)).all()
    removed = removed_channels(conn, project_id)
    by_asset: dict[str, tuple[str, list[tuple[str, str | None, str]]]] = {}
    for asset_id, name, version_id, channel, decision in rows:
        by_asset.setdefault(asset_id, (name, []))[1].append((version_id, channel, decision))
    return [{"version_id": version_id, "asset_id": asset_id, "asset_name": name,
             "channels": channels}
            for asset_id, (name, standing) in by_asset.items()
            for version_id, channels in approved_channels(standing, removed).items()]
