"""A project's review backlog: versions no one has decided on (no standing decision) and
nothing was made from since, with how long each has waited. The per-person review
queue (:func:`projections.board.review_queue`) is the same rule seen by one reviewer:
both read :func:`waiting_versions`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select
from sqlalchemy.sql import ColumnElement, Select

from projections.tables import assets, versions


def waiting_versions(conn: Connection, projects: Select | Sequence[str],
                     columns: Sequence[ColumnElement], *, not_by: str | None = None,
                     limit: int | None = None) -> Sequence[Row]:
    """``columns`` (of the versions and their assets) of the versions of ``projects``
    (ids, or a select of them) with no standing decision that no version of their own
    project was made from, oldest first; without those ``not_by`` made; at most
    ``limit``.

    Both facts are counts the version_tree projection keeps on each version (migration
    0019), so a backlog reads its projects' versions and nothing else: looked up per
    version in the decisions and in a "made from" edge table, it cost PostgreSQL 7-10 ms
    for one project of 1,200 versions at 1M events."""
    a, v = assets.c, versions.c
    query = (select(*columns).join_from(versions, assets, a.asset_id == v.asset_id)
             .where(v.project_id.in_(projects), a.project_id.in_(projects),
                    v.standing_decisions == 0, v.children == 0)
             .order_by(v.position))
    if not_by is not None:
        query = query.where(v.author_id != not_by)
    return conn.execute(query if limit is None else query.limit(limit)).all()


def waited_seconds(created: datetime, now: datetime) -> int:
    """Whole seconds from ``created`` (naive: UTC, as SQLite returns it) until ``now``."""
    created = created if created.tzinfo else created.replace(tzinfo=now.tzinfo)
    return max(int((now - created).total_seconds()), 0)


def review_backlog(conn: Connection, project_id: str, now: datetime) -> list[dict[str, Any]]:
    """The project's undecided, unsuperseded versions, oldest first, each with
    ``waited_seconds`` until ``now``."""
    v = versions.c
    rows = waiting_versions(conn, [project_id],
                            (v.version_id, v.asset_id, v.created_at, assets.c.name))
    return [{"version_id": row.version_id, "asset_id": row.asset_id, "asset_name": row.name,
             "waited_seconds": waited_seconds(row.created_at, now)} for row in rows]
