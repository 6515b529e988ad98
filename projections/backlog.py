"""A project's review backlog: versions no one has decided on (no standing decision) and
nothing was made from since, with how long each has waited. The per-person review
queue (:func:`projections.board.review_queue`) is the same rule seen by one reviewer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from projections.tables import assets, decisions, versions


def review_backlog(conn: Connection, project_id: str, now: datetime) -> list[dict[str, Any]]:
    """The project's undecided, unsuperseded versions, oldest first, each with
    ``waited_seconds`` until ``now``."""
    a, v, d = assets.c, versions.c, decisions.c
    rows = conn.execute(
        select(v.version_id, v.asset_id, v.parent_ids, v.created_at, a.name)
        .join_from(assets, versions, v.asset_id == a.asset_id)
        .where(a.project_id == project_id).order_by(v.position)).all()
    decided = set(conn.execute(
        select(d.version_id).join_from(assets, decisions, d.asset_id == a.asset_id)
        .where(a.project_id == project_id, d.revoked_at.is_(None))).scalars())
    parents = {parent for row in rows for parent in row.parent_ids}
    waiting = []
    for row in rows:
        if row.version_id in decided or row.version_id in parents:
            continue
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(
            tzinfo=now.tzinfo)
        waiting.append({"version_id": row.version_id, "asset_id": row.asset_id,
                        "asset_name": row.name,
                        "waited_seconds": max(int((now - created).total_seconds()), 0)})
    return waiting
