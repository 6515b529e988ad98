"""Projects, their members and users' names: who may see which project.

The ``access`` projection lists the projects a user belongs to (for searches across
projects); a single project's membership is read from its own short stream, so a member
added a moment ago can read at once.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, insert, select

from events.domain import stream_id
from events.errors import NotFound
from events.store import EventStore, Recorded
from projections.runner import ApplyContext, Projection
from projections.scopes import entity_id
from projections.tables import members, projects, users


def _project_created(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    ctx.conn.execute(insert(ctx.t("rm_projects")).values(
        project_id=e.project_id, name=e.name, description=e.description,
        created_at=rec.recorded_at))


def _member_role_set(ctx: ApplyContext, rec: Recorded) -> None:
    table = ctx.t("rm_members")
    project_id = entity_id(rec.stream_id)
    ctx.conn.execute(delete(table).where(table.c.project_id == project_id,
                                         table.c.user_id == rec.event.user_id))
    ctx.conn.execute(insert(table).values(project_id=project_id, user_id=rec.event.user_id,
                                          role=rec.event.role))


def _member_removed(ctx: ApplyContext, rec: Recorded) -> None:
    table = ctx.t("rm_members")
    ctx.conn.execute(delete(table).where(table.c.project_id == entity_id(rec.stream_id),
                                         table.c.user_id == rec.event.user_id))


def _user_registered(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    ctx.conn.execute(insert(ctx.t("rm_users")).values(
        user_id=e.user_id, name=e.name, is_admin=e.is_admin))


PROJECTION = Projection(
    name="access",
    tables=(projects, members, users),
    handlers={
        "project.created": _project_created,
        "project.member_role_set": _member_role_set,
        "project.member_removed": _member_removed,
        "user.registered": _user_registered,
    },
)


def role_in_project(store: EventStore, project_id: str, user_id: str) -> str | None:
    """The user's current role in the project (folded from the project's stream), or None
    when they are not a member; raises NotFound for an unknown project."""
    history = store.read_stream(stream_id("project", project_id))
    if not history:
        raise NotFound(f"project {project_id} does not exist")
    role = None
    for recorded in history:
        if recorded.event_type == "project.member_role_set" \
                and recorded.event.user_id == user_id:
            role = recorded.event.role
        elif recorded.event_type == "project.member_removed" \
                and recorded.event.user_id == user_id:
            role = None
    return role


def visible_projects(engine: Engine, user_id: str, is_admin: bool) -> list[str] | None:
    """Ids of the projects a user belongs to; None means every project (an admin)."""
    if is_admin:
        return None
    with engine.connect() as conn:
        return list(conn.execute(select(members.c.project_id)
                                 .where(members.c.user_id == user_id)).scalars())


def user_names(engine: Engine, user_ids: set[str]) -> dict[str, str]:
    """Display names for user ids (unknown ids are left out)."""
    if not user_ids:
        return {}
    with engine.connect() as conn:
        return dict(conn.execute(select(users.c.user_id, users.c.name)
                                 .where(users.c.user_id.in_(sorted(user_ids)))).all())


__all__ = ["PROJECTION", "role_in_project", "visible_projects", "user_names"]
