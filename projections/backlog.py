"""A project's review backlog: versions no one has decided on (no standing decision) and
nothing was made from since, with how long each has waited. The per-person review
queue (:func:`projections.board.review_queue`) is the same rule seen by one reviewer:
both read :func:`waiting_versions`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select, true
from sqlalchemy.sql import ColumnElement, Select

from projections.tables import assets, decisions, versions


def waiting_versions(conn: Connection, projects: Select | Sequence[str],
                     columns: Sequence[ColumnElement], *, not_by: str | None = None,
                     limit: int | None = None) -> Sequence[Row]:
    """``columns`` (of the versions and their assets) of the versions of ``projects``
    (ids, or a select of them) with no standing decision that no version of those
    projects was made from, oldest first; without those ``not_by`` made; at most
    ``limit``.

    The database leaves out the decided and superseded versions: only the waiting ones'
    rows are read, not every version of the projects with its parents decoded here."""
    a, v, d = assets.c, versions.c, decisions.c
    decided = (select(d.version_id).join_from(assets, decisions, d.asset_id == a.asset_id)
               .where(a.project_id.in_(projects), d.revoked_at.is_(None)))
    query = (select(*columns).join_from(assets, versions, v.asset_id == a.asset_id)
             .where(a.project_id.in_(projects), v.version_id.not_in(decided),
                    v.version_id.not_in(_made_from(conn, projects)))
             .order_by(v.position))
    if not_by is not None:
        query = query.where(v.author_id != not_by)
    return conn.execute(query if limit is None else query.limit(limit)).all()


def _made_from(conn: Connection, projects: Select | Sequence[str]) -> Select:
    """The parents named by the versions of ``projects`` (each version's JSON list of
    parent ids, unnested by the database)."""
    made = versions.alias("made")
    unnest = (func.json_array_elements_text if conn.dialect.name == "postgresql"
              else func.json_each)
    parents = unnest(made.c.parent_ids).table_valued("value")
    return (select(parents.c.value).select_from(made.join(parents, true()))
            .join_from(made, assets, assets.c.asset_id == made.c.asset_id)
            .where(assets.c.project_id.in_(projects)))


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
