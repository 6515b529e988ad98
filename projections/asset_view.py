"""An asset and its versions as a member sees them (GET /api/assets/{id}, now or as of a
time, and GET /api/versions/{id}), read from the version tree, review and asset stream
tables: the same rows, and the same "as of" rule, as the tree and review answers.

The bodies are those the write side answers with (commands/assets.py), so a client sees
one shape whether it just wrote or reads again; the stream version is the ETag.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from events.errors import NotFound
from events.store import utc
from projections.common import ended_by, existed_at, iso, valid_at
from projections.tables import (
    asset_events,
    asset_jobs,
    comments,
    decisions,
    pins,
    version_imports,
    versions,
)
from projections.version_tree import asset_row

SUMMARY = ("version_id", "parent_ids", "operation", "tier", "content_hash", "width", "height",
           "author_id", "job_id", "created_at")


def asset_answer(conn: Connection, asset_id: str, as_of: datetime | None = None,
                 ) -> tuple[dict[str, Any], int]:
    """The asset with its versions, branch heads, pins, decisions and counts, now or as
    of a time, and its stream version then. Raises NotFound (also before it existed)."""
    as_of = utc(as_of) if as_of is not None else None
    rows = conn.execute(select(versions).where(
        versions.c.asset_id == asset_id, existed_at(versions.c.created_at, as_of))
        .order_by(versions.c.position)).mappings().all()
    asset = asset_row(conn, asset_id, as_of, version_count=len(rows))
    parents = {parent for row in rows for parent in row["parent_ids"]}
    c, j = comments.c, asset_jobs.c
    open_comments = conn.execute(select(func.count()).where(
        c.asset_id == asset_id, valid_at(c.created_at, c.resolved_at, as_of))).scalar_one()
    pending_jobs = conn.execute(select(func.count()).where(
        j.asset_id == asset_id, valid_at(j.requested_at, j.done_at, as_of))).scalar_one()
    version = stream_version(conn, asset_id, as_of)
    body = {
        "asset_id": asset_id, "project_id": asset["project_id"], "name": asset["name"],
        "brief": asset["brief"], "tags": asset["tags"], "created_at": asset["created_at"],
        "version": version, "as_of": iso(as_of),
        "counts": {"draft": sum(1 for row in rows if row["tier"] == "draft"),
                   "final": sum(1 for row in rows if row["tier"] == "final"),
                   "pending_jobs": pending_jobs, "open_comments": open_comments},
        "versions": [summary(row) for row in rows],
        "heads": [row["version_id"] for row in rows if row["version_id"] not in parents],
        "pins": pins_of(conn, asset_id, as_of),
        "decisions": decisions_of(conn, asset_id, as_of),
    }
    return body, version


def version_answer(conn: Connection, version_id: str) -> tuple[dict[str, Any], int]:
    """One version: recipe, environment, parents and children, content hash, tier,
    author, time, what an upload imported, and its comments, decisions and pins; with its
    asset's stream version. Raises NotFound."""
    row = version_row(conn, version_id)
    asset_id = row["asset_id"]
    v, c = versions.c, comments.c
    children = conn.execute(select(v.version_id, v.parent_ids).where(
        v.asset_id == asset_id).order_by(v.position)).all()
    imported = conn.execute(select(version_imports.c.imported).where(
        version_imports.c.version_id == version_id)).scalar()
    remarks = conn.execute(select(comments).where(c.asset_id == asset_id,
                                                  c.version_id == version_id)
                           .order_by(c.position)).mappings().all()
    recipe = row["recipe"] or {}
    body = {
        **summary(row), "asset_id": asset_id, "project_id": row["project_id"],
        "recipe": recipe, "environment": recipe.get("environment"),
        "children": [child for child, parent_ids in children if version_id in parent_ids],
        "cost_seconds": row["cost_seconds"], "note": row["note"], "imported": imported,
        "derived_from": row["derived_from"],
        "comments": [_comment(remark) for remark in remarks],
        "decisions": decisions_of(conn, asset_id, None, version_id),
        "pins": pins_of(conn, asset_id, None, version_id),
    }
    return body, stream_version(conn, asset_id, None)


def version_row(conn: Connection, version_id: str) -> Any:  # noqa: ANN401
    """The version's row of the version tree; NotFound when the tree has none."""
    row = conn.execute(select(versions).where(versions.c.version_id == version_id)
                       ).mappings().first()
    if row is None:
        raise NotFound(f"version {version_id} does not exist")
    return row


def pending_job_ids(conn: Connection, asset_id: str) -> list[str]:
    """The jobs requested for the asset that have yet to make a version, oldest first."""
    j = asset_jobs.c
    return list(conn.execute(select(j.job_id).where(
        j.asset_id == asset_id, j.done_at.is_(None)).order_by(j.requested_at, j.job_id)
    ).scalars())


def content_hash_of(conn: Connection, version_id: str) -> str | None:
    """The version's content hash (None while the version tree holds no such version)."""
    return conn.execute(select(versions.c.content_hash)
                        .where(versions.c.version_id == version_id)).scalar()


def stream_version(conn: Connection, asset_id: str, as_of: datetime | None) -> int:
    """The asset stream's version now or as of a time (0 before its first event)."""
    e = asset_events.c
    return conn.execute(select(func.max(e.stream_version)).where(
        e.asset_id == asset_id, existed_at(e.recorded_at, as_of))).scalar() or 0


def summary(row: Any) -> dict[str, Any]:  # noqa: ANN401
    """A version as the asset lists it."""
    return {**{name: row[name] for name in SUMMARY}, "parent_ids": list(row["parent_ids"]),
            "created_at": iso(row["created_at"])}


def pins_of(conn: Connection, asset_id: str, as_of: datetime | None,
            version_id: str | None = None) -> list[dict[str, Any]]:
    """The pins in place now or at ``as_of`` (of one version when given), oldest first."""
    p = pins.c
    query = select(pins).where(p.asset_id == asset_id, valid_at(p.pinned_at, p.unpinned_at,
                                                                 as_of))
    if version_id is not None:
        query = query.where(p.version_id == version_id)
    return [{"pin_id": r["pin_id"], "version_id": r["version_id"], "label": r["label"],
             "pinned_by": r["pinned_by"], "created_at": iso(r["pinned_at"])}
            for r in conn.execute(query.order_by(p.position)).mappings().all()]


def decisions_of(conn: Connection, asset_id: str, as_of: datetime | None,
                 version_id: str | None = None) -> list[dict[str, Any]]:
    """Every decision recorded by ``as_of`` (of one version when given), revoked ones
    too, in the order they were recorded."""
    d = decisions.c
    query = select(decisions, ended_by(d.revoked_at, as_of).label("revoked")).where(
        d.asset_id == asset_id, existed_at(d.decided_at, as_of))
    if version_id is not None:
        query = query.where(d.version_id == version_id)
    answer = []
    for r in conn.execute(query.order_by(d.position)).mappings().all():
        revoked = bool(r["revoked"])
        answer.append({
            "decision_id": r["decision_id"], "version_id": r["version_id"],
            "decision": r["decision"], "content_hash": r["content_hash"],
            "channel": r["channel"], "note": r["note"], "reviewer_id": r["reviewer_id"],
            "role": r["role"], "created_at": iso(r["decided_at"]), "revoked": revoked,
            "revoked_by": r["revoked_by"] if revoked else None,
            "revoke_reason": r["revoke_reason"] if revoked else None,
            "revoked_at": iso(r["revoked_at"]) if revoked else None})
    return answer


def _comment(r: Any) -> dict[str, Any]:  # noqa: ANN401
    resolved = r["resolved_at"] is not None
    return {"comment_id": r["comment_id"], "version_id": r["version_id"],
            "author_id": r["author_id"], "body": r["body"], "region": r["region"],
            "parent_comment_id": r["parent_comment_id"], "resolved": resolved,
            "created_at": iso(r["created_at"]), "resolved_at": iso(r["resolved_at"])}
