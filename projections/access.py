"""Projects, their members and users' names: who may see which project.

The ``access`` projection lists the projects a user belongs to (lists of projects,
searches across projects), answers GET /projects/{id} (settings, members in the order
they joined, compute used, the stream version as ETag) and people's names, and keeps
each channel removal with the time the channel was set again, so reads know which
channels stood removed at any moment (their approvals do not stand: rules/approvals.py).
Whether a caller may read one project's resources is decided immediately, from the
project's own stream, by commands/membership.py (the rule itself: rules/access.py).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.sql import ColumnElement

from events.db import read_connection
from events.errors import NotFound
from events.projects import PoliciesSet
from events.store import Recorded, utc
from projections.common import iso, valid_at
from projections.runner import ApplyContext, Projection
from projections.scopes import entity_id
from projections.tables import channel_removals, members, projects, users
from rules.access import ADMIN

POLICY_NAMES = tuple(field.name for field in dataclasses.fields(PoliciesSet))
"""Every policy a project has (None until set)."""


def _project_created(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    ctx.conn.execute(insert(ctx.t("rm_projects")).values(
        project_id=e.project_id, name=e.name, description=e.description,
        created_at=rec.recorded_at, position=rec.position, policies=None, channels={},
        compute_used_seconds=0.0, stream_version=rec.stream_version))


def _project_changed(ctx: ApplyContext, rec: Recorded, **values: Any) -> None:  # noqa: ANN401
    """Set ``values`` on the stream's project row and move its stream version."""
    table = ctx.t("rm_projects")
    ctx.conn.execute(update(table).where(table.c.project_id == entity_id(rec.stream_id))
                     .values(stream_version=rec.stream_version, **values))


def _member_role_set(ctx: ApplyContext, rec: Recorded) -> None:
    table = ctx.t("rm_members")
    project_id = entity_id(rec.stream_id)
    # A new role keeps the member's place in the list; a newcomer joins at the end.
    changed = ctx.conn.execute(update(table).where(
        table.c.project_id == project_id, table.c.user_id == rec.event.user_id).values(
        role=rec.event.role))
    if not changed.rowcount:
        ctx.conn.execute(insert(table).values(project_id=project_id,
                                              user_id=rec.event.user_id,
                                              role=rec.event.role, position=rec.position))
    _project_changed(ctx, rec)


def _member_removed(ctx: ApplyContext, rec: Recorded) -> None:
    table = ctx.t("rm_members")
    ctx.conn.execute(delete(table).where(table.c.project_id == entity_id(rec.stream_id),
                                         table.c.user_id == rec.event.user_id))
    _project_changed(ctx, rec)


def _policies_set(ctx: ApplyContext, rec: Recorded) -> None:
    _project_changed(ctx, rec, policies={name: getattr(rec.event, name)
                                         for name in POLICY_NAMES})


def _channel_set(ctx: ApplyContext, rec: Recorded) -> None:
    table = ctx.t("rm_projects")
    project_id = entity_id(rec.stream_id)
    current = ctx.conn.execute(select(table.c.channels).where(
        table.c.project_id == project_id)).scalar() or {}
    e = rec.event
    _project_changed(ctx, rec, channels={
        **current, e.name: {"min_width": e.min_width, "min_height": e.min_height}})
    # Setting a removed channel again restores it (and its approvals).
    removals = ctx.t("rm_channel_removals")
    ctx.conn.execute(update(removals).where(
        removals.c.project_id == project_id, removals.c.channel == e.name,
        removals.c.restored_at.is_(None)).values(restored_at=rec.recorded_at))


def _channel_removed(ctx: ApplyContext, rec: Recorded) -> None:
    table = ctx.t("rm_projects")
    project_id = entity_id(rec.stream_id)
    current = ctx.conn.execute(select(table.c.channels).where(
        table.c.project_id == project_id)).scalar() or {}
    _project_changed(ctx, rec, channels={name: sizes for name, sizes in current.items()
                                         if name != rec.event.name})
    ctx.conn.execute(insert(ctx.t("rm_channel_removals")).values(
        project_id=project_id, position=rec.position, channel=rec.event.name,
        removed_at=rec.recorded_at, restored_at=None))


def _compute_used(ctx: ApplyContext, rec: Recorded) -> None:
    used = ctx.t("rm_projects").c.compute_used_seconds
    _project_changed(ctx, rec, compute_used_seconds=used + rec.event.seconds)


def _user_registered(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    ctx.conn.execute(insert(ctx.t("rm_users")).values(
        user_id=e.user_id, name=e.name, is_admin=e.is_admin))


PROJECTION = Projection(
    name="access",
    tables=(projects, members, users, channel_removals),
    handlers={
        "project.created": _project_created,
        "project.member_role_set": _member_role_set,
        "project.member_removed": _member_removed,
        "project.policies_set": _policies_set,
        "project.channel_set": _channel_set,
        "project.channel_removed": _channel_removed,
        "project.compute_used": _compute_used,
        "user.registered": _user_registered,
    },
)


def project_of(engine: Engine, project_id: str) -> tuple[dict[str, Any], int]:
    """The project as its members see it (without the caller's role) and its stream
    version: name, description, members in the order they joined, policies, channels by
    name, compute used. NotFound while the read model has yet to see it."""
    p, m = projects.c, members.c
    with read_connection(engine) as conn:
        row = conn.execute(select(projects).where(p.project_id == project_id)
                           ).mappings().first()
        if row is None:
            raise NotFound(f"project {project_id} does not exist")
        joined = conn.execute(select(m.user_id, m.role).where(m.project_id == project_id)
                              .order_by(m.position)).all()
    channels = row["channels"] or {}
    return {
        "project_id": project_id, "name": row["name"], "description": row["description"],
        "created_at": iso(row["created_at"]),
        "members": [{"user_id": user_id, "role": role} for user_id, role in joined],
        "policies": dict(row["policies"] or dict.fromkeys(POLICY_NAMES)),
        "channels": [{"name": name, **channels[name]} for name in sorted(channels)],
        "compute_used_seconds": row["compute_used_seconds"] or 0.0,
        "version": row["stream_version"],
    }, row["stream_version"]


def removed_channels(conn: Connection, project_id: str, as_of: datetime | None = None,
                     ) -> frozenset[str]:
    """The channels removed from the project and not set again, now or at ``as_of``
    (removed by then and not set again by then)."""
    r = channel_removals.c
    as_of = utc(as_of) if as_of is not None else None
    return frozenset(conn.execute(select(r.channel).distinct().where(
        r.project_id == project_id, valid_at(r.removed_at, r.restored_at, as_of))).scalars())


def channel_removed(project_id: ColumnElement, channel: ColumnElement,
                    as_of: datetime | None = None) -> ColumnElement:
    """Whether ``channel`` of ``project_id`` (columns or expressions of the enclosing
    query) stood removed now or at ``as_of``: :func:`removed_channels` in SQL."""
    r = channel_removals.c
    # Every other table named is the enclosing query's (however deeply nested).
    return exists(select(r.position).where(
        r.project_id == project_id, r.channel == channel,
        valid_at(r.removed_at, r.restored_at, as_of)).correlate_except(channel_removals))


def visible_projects(engine: Engine, user_id: str, is_admin: bool) -> list[str] | None:
    """Ids of the projects a user belongs to; None means every project (an admin)."""
    if is_admin:
        return None
    with read_connection(engine) as conn:
        return list(conn.execute(select(members.c.project_id)
                                 .where(members.c.user_id == user_id)).scalars())


def projects_page(engine: Engine, user_id: str, is_admin: bool, *, after: int, limit: int,
                  ) -> list[tuple[int, str, str, str]]:
    """(position created, project id, name, the user's role) of the projects the user
    belongs to (every project, as ``admin``, for a global admin) created after position
    ``after``, oldest first, at most ``limit``."""
    p = projects.c
    if is_admin:
        stmt = select(p.position, p.project_id, p.name, literal(ADMIN))
    else:
        stmt = (select(p.position, p.project_id, p.name, members.c.role)
                .join(members, members.c.project_id == p.project_id)
                .where(members.c.user_id == user_id))
    with read_connection(engine) as conn:
        return [tuple(row) for row in conn.execute(
            stmt.where(p.position > after).order_by(p.position).limit(limit))]


def user_names(engine: Engine, user_ids: set[str]) -> dict[str, str]:
    """Display names for user ids (unknown ids are left out)."""
    if not user_ids:
        return {}
    with read_connection(engine) as conn:
        return dict(conn.execute(select(users.c.user_id, users.c.name)
                                 .where(users.c.user_id.in_(sorted(user_ids)))).all())


def shared_projects(engine: Engine, viewer_id: str | None, user_id: str,
                    ) -> list[dict[str, str]]:
    """The projects ``user_id`` belongs to that ``viewer_id`` belongs to as well (every
    one of them when ``viewer_id`` is None: a global admin), with the role ``user_id``
    holds in each, by project name."""
    theirs = members.alias("theirs")
    stmt = (select(projects.c.project_id, projects.c.name, theirs.c.role)
            .select_from(theirs.join(projects, projects.c.project_id == theirs.c.project_id))
            .where(theirs.c.user_id == user_id))
    if viewer_id is not None:
        mine = members.alias("mine")
        stmt = stmt.join(mine, mine.c.project_id == theirs.c.project_id).where(
            mine.c.user_id == viewer_id)
    with read_connection(engine) as conn:
        rows = conn.execute(stmt.order_by(projects.c.name, projects.c.project_id)).all()
    return [{"project_id": p, "name": n, "role": r} for p, n, r in rows]


def known_users(engine: Engine, viewer_id: str | None, project_id: str,
                ) -> list[dict[str, str]]:
    """Users a project admin may add without knowing their id: members of the other
    projects ``viewer_id`` belongs to (every user when ``viewer_id`` is None: a global
    admin), minus the project's own members; by name."""
    current = select(members.c.user_id).where(members.c.project_id == project_id)
    stmt = _people_seen_by(viewer_id).where(users.c.user_id.not_in(current))
    with read_connection(engine) as conn:
        return [{"user_id": u, "name": n} for u, n in conn.execute(stmt.limit(500)).all()]


def find_users(engine: Engine, viewer_id: str | None, text: str, limit: int,
               ) -> list[dict[str, str]]:
    """Users whose name contains ``text`` (ignoring case), among those ``viewer_id``
    may see: the members of the projects they belong to, themselves included (every
    user when ``viewer_id`` is None: a global admin); names starting with ``text`` first, then by
    name; at most ``limit``."""
    pattern = "%" + _like_escaped(text.lower()) + "%"
    name = func.lower(users.c.name)
    stmt = _people_seen_by(viewer_id).where(name.like(pattern, escape="\\"))
    starts = case((name.like(_like_escaped(text.lower()) + "%", escape="\\"), 0), else_=1)
    with read_connection(engine) as conn:
        rows = conn.execute(stmt.order_by(None).order_by(starts, users.c.name, users.c.user_id)
                            .limit(limit)).all()
    return [{"user_id": u, "name": n} for u, n in rows]


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _people_seen_by(viewer_id: str | None) -> Select:
    """(user id, name) of the people ``viewer_id`` may see, by name: everyone for a
    global admin (None); otherwise everyone in a project of theirs."""
    stmt = select(users.c.user_id, users.c.name)
    if viewer_id is not None:
        mine = select(members.c.project_id).where(members.c.user_id == viewer_id)
        stmt = stmt.where(users.c.user_id.in_(
            select(members.c.user_id).where(members.c.project_id.in_(mine))))
    return stmt.order_by(users.c.name, users.c.user_id)
