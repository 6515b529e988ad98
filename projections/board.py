"""The review board: per asset a cover image and its status per delivery channel; per
person the versions waiting for their decision.

Both read the version-tree and review-state tables (projections/version_tree.py,
projections/review_state.py); nothing here writes.

Status of an asset in a channel:

- ``approved``: an approval for the channel stands (rules/approvals.py);
- ``changes_requested``: otherwise, the latest standing decision for the channel asked
  for changes (or rejected) and no version was made after it;
- ``needs_review``: otherwise, when the asset has versions; ``empty`` when it has none.

A decision without a channel counts for the ``default`` channel, which a project
without channels shows alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, union_all

from projections.backlog import waited_seconds, waiting_versions
from projections.common import iso
from projections.tables import (
    assets,
    catalog_tags,
    decisions,
    members,
    project_assets,
    projects,
    users,
    versions,
)
from projections.version_tree import IMAGE_LINK
from rules.approvals import DEFAULT_CHANNEL, channel_key, fold_approvals

STATUSES = ("needs_review", "changes_requested", "approved", "empty")
DECIDING_ROLES = ("reviewer", "admin")
QUEUE_LIMIT = 200


def newest_assets(conn: Connection, project_id: str, limit: int) -> tuple[list[str], int]:
    """The ids of the project's ``limit`` newest assets, and how many it has."""
    a = assets.c
    ids = conn.execute(select(a.asset_id).where(a.project_id == project_id)
                       .order_by(a.position.desc()).limit(limit)).scalars().all()
    total = len(ids) if len(ids) < limit else conn.execute(
        select(project_assets.c.assets).where(project_assets.c.project_id == project_id)
    ).scalar_one()
    return list(ids), total


def asset_cards(conn: Connection, asset_ids: Sequence[str], channels: Sequence[str],
                ) -> list[dict[str, Any]]:
    """A card per asset, in the order of ``asset_ids``: name, tags, version counts per
    tier, the cover version (the approved one, else the newest), the newest version,
    and ``status`` per channel (``channels``; ``["default"]`` when empty).

    Three statements whatever the assets hold: the assets with their version counts and
    newest version's id (kept by the version_tree projection), their standing decisions,
    and the newest and approved versions by id."""
    if not asset_ids:
        return []
    channels = list(channels) or [DEFAULT_CHANNEL]
    ids = list(dict.fromkeys(asset_ids))
    a, v, d = assets.c, versions.c, decisions.c
    cards: dict[str, dict[str, Any]] = {}
    newest_ids: dict[str, str] = {}
    for row in conn.execute(select(a.asset_id, a.name, a.brief, a.tags, a.created_at,
                                   a.draft_versions, a.final_versions, a.newest_version_id)
                            .where(a.asset_id.in_(ids))).all():
        cards[row.asset_id] = {
            "asset_id": row.asset_id, "name": row.name, "brief": row.brief,
            "tags": list(row.tags), "created_at": iso(row.created_at),
            "counts": {"draft": row.draft_versions, "final": row.final_versions},
            "version_count": row.draft_versions + row.final_versions, "cover": None,
            "newest": None, "updated_at": iso(row.created_at), "status": {}}
        if row.newest_version_id is not None:
            newest_ids[row.asset_id] = row.newest_version_id
    standing: dict[str, list[tuple[str, str | None, str, int]]] = {}
    for row in conn.execute(select(d.asset_id, d.version_id, d.channel, d.decision, d.position)
                            .where(d.asset_id.in_(ids), d.revoked_at.is_(None))
                            .order_by(d.position)).all():
        standing.setdefault(row.asset_id, []).append(
            (row.version_id, row.channel, row.decision, row.position))
    approved_ids = {version_id for rows in standing.values()
                    for version_id in fold_approvals(r[:3] for r in rows).values()}
    shown = {row.version_id: _version(row) for row in conn.execute(
        select(v.asset_id, v.version_id, v.tier, v.width, v.height, v.created_at, v.position,
               v.content_hash).where(v.version_id.in_(sorted(approved_ids
                                                             | set(newest_ids.values())))))}
    for asset_id, card in cards.items():
        latest = shown.get(newest_ids.get(asset_id, ""))
        decided = standing.get(asset_id, [])
        approvals = fold_approvals(r[:3] for r in decided)
        card["status"] = {channel: _status(channel, approvals, decided, latest)
                          for channel in channels}
        card["approved"] = {channel: approvals[channel] for channel in channels
                            if channel in approvals}
        cover_id = next((approvals[c] for c in channels if c in approvals), None)
        card["newest"] = latest
        card["cover"] = shown.get(cover_id) if cover_id else latest
        if latest is not None:
            card["updated_at"] = latest["created_at"]
    return [cards[asset_id] for asset_id in ids if asset_id in cards]


def _version(row: Any) -> dict[str, Any]:  # noqa: ANN401
    return {"version_id": row.version_id, "tier": row.tier, "width": row.width,
            "height": row.height, "created_at": iso(row.created_at),
            "content_hash": row.content_hash, "position": row.position,
            "image": IMAGE_LINK.format(version_id=row.version_id)}


def _status(channel: str, approvals: dict[str, str],
            decided: list[tuple[str, str | None, str, int]], latest: dict | None) -> str:
    if channel in approvals:
        return "approved"
    if latest is None:
        return "empty"
    in_channel = [row for row in decided if channel_key(row[1]) == channel]
    if in_channel and in_channel[-1][2] != "approved" \
            and in_channel[-1][3] > latest["position"]:
        return "changes_requested"
    return "needs_review"


def review_queue(conn: Connection, user_id: str, now: datetime,
                 limit: int = QUEUE_LIMIT) -> list[dict[str, Any]]:
    """Versions waiting for ``user_id``'s decision, oldest first: in projects where they
    are a reviewer or admin, made by someone else, with no standing decision by anyone,
    and not superseded (no version was made from them). Each with how long it waited
    (seconds until ``now``)."""
    m, a, v = members.c, assets.c, versions.c
    projects = select(m.project_id).where(m.user_id == user_id, m.role.in_(DECIDING_ROLES))
    rows = waiting_versions(
        conn, projects, (v.version_id, v.asset_id, v.project_id, v.author_id, v.tier,
                         v.operation, v.width, v.height, v.created_at, a.name),
        not_by=user_id, limit=limit)
    return [{"version_id": row.version_id, "asset_id": row.asset_id, "asset_name": row.name,
             "project_id": row.project_id, "tier": row.tier, "operation": row.operation,
             "width": row.width, "height": row.height, "author_id": row.author_id,
             "created_at": iso(row.created_at),
             "waited_seconds": waited_seconds(row.created_at, now),
             "image": IMAGE_LINK.format(version_id=row.version_id)} for row in rows]


def project_names(conn: Connection, user_id: str, is_admin: bool) -> list[dict[str, Any]]:
    """The projects a person may see (every project for a global admin), by name, with
    their role there (``admin`` for a global admin who is no member)."""
    p, m = projects.c, members.c
    role = select(m.role).where(m.project_id == p.project_id, m.user_id == user_id
                                ).scalar_subquery()
    query = select(p.project_id, p.name, p.description, role.label("role"))
    if not is_admin:
        query = query.where(role.is_not(None))
    return [{"project_id": row.project_id, "name": row.name, "description": row.description,
             "your_role": row.role or "admin"}
            for row in conn.execute(query.order_by(func.lower(p.name), p.project_id))]


def projects_overview(conn: Connection, user_id: str, is_admin: bool, covers: int = 4,
                      shown: int = 24) -> list[dict[str, Any]]:
    """:func:`project_names` with each project's asset count, and for the ``shown``
    projects with the newest assets, the images of their ``covers`` newest versions (the
    rest come without: a global admin may see hundreds of projects)."""
    c = project_assets.c
    overview = project_names(conn, user_id, is_admin)
    ids = [project["project_id"] for project in overview]
    counted = select(c.project_id, c.assets, c.newest_position)
    if not is_admin:
        counted = counted.where(c.project_id.in_(ids))
    stats = {pid: (count, newest) for pid, count, newest in conn.execute(counted)}
    recent = sorted(ids, key=lambda pid: -(stats.get(pid, (0, 0))[1]))[:shown]
    newest = _newest_versions(conn, recent, covers)
    for project in overview:
        project_id = project["project_id"]
        project["assets"] = stats.get(project_id, (0, 0))[0]
        project["covers"] = None if project_id not in newest else [
            {"version_id": version_id, "image": IMAGE_LINK.format(version_id=version_id)}
            for version_id in newest[project_id]]
    return overview


def _newest_versions(conn: Connection, project_ids: Sequence[str],
                     limit: int) -> dict[str, list[str]]:
    """The ``limit`` newest version ids of each project, newest first, in one statement:
    a UNION ALL of one walk per project down the versions' (project_id, position) index
    (one statement per project cost a round trip each, 24 on a front page)."""
    v = versions.c
    newest = {project_id: [] for project_id in project_ids}
    if not project_ids:
        return newest
    walks = [select(v.project_id, v.version_id, v.position).where(v.project_id == project_id)
             .order_by(v.position.desc()).limit(limit).subquery() for project_id in project_ids]
    rows = conn.execute(union_all(*(select(walk) for walk in walks))).all()
    for row in sorted(rows, key=lambda row: -row.position):
        newest[row.project_id].append(row.version_id)
    return newest


def tag_levels(conn: Connection, project_id: str) -> list[dict[str, Any]]:
    """Every tag level in use in the project (``campaign``, ``campaign/summer-26``…) with
    how many assets carry it or a tag below it, in tree order: what the board filters by
    (the taxonomy query also counts versions, which the board does not show)."""
    t = catalog_tags.c
    rows = conn.execute(
        select(t.prefix, t.depth, func.count(func.distinct(t.asset_id)))
        .where(t.project_id == project_id, t.removed_at.is_(None))
        .group_by(t.prefix, t.depth).order_by(t.prefix)).all()
    return [{"path": prefix, "name": prefix.rsplit("/", 1)[-1], "depth": depth,
             "assets": count} for prefix, depth, count in rows]


def asset_names(conn: Connection, asset_ids: Sequence[str]) -> dict[str, str]:
    """asset id → name (unknown ids are left out)."""
    if not asset_ids:
        return {}
    return dict(conn.execute(select(assets.c.asset_id, assets.c.name)
                             .where(assets.c.asset_id.in_(sorted(set(asset_ids))))).all())


def users_of_projects(conn: Connection, project_ids: Sequence[str] | None,
                      ) -> list[tuple[str, str]]:
    """(user id, name) of the members of ``project_ids`` (None: every user), by name."""
    u, m = users.c, members.c
    query = select(u.user_id, u.name).order_by(func.lower(u.name), u.user_id)
    if project_ids is not None:
        query = query.where(u.user_id.in_(select(m.user_id).where(
            m.project_id.in_(list(project_ids)))))
    return [(row.user_id, row.name) for row in conn.execute(query)]
