"""Projects, their members and users' names: who may see which project.

The ``access`` projection lists the projects a user belongs to (for searches across
projects); a single project's membership is read from its own short stream, so a member
added a moment ago can read at once.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, insert, select

from commands.access import VIEWER, require_role
from commands.asset_state import locate_asset
from commands.fold_cache import cache_of
from commands.people import Principal
from commands.projects import load_project
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


def project_members(store: EventStore, project_id: str) -> dict[str, str]:
    """user id → role, folded from the project's stream (through the write side's fold
    cache: the stream grows with every finished job); NotFound for an unknown project.
    The mapping is shared with other requests: read it, never change it."""
    project, _ = load_project(store, project_id)
    return project.members


def require_member(store: EventStore, principal: Principal, project_id: str, *,
                   hidden: str | None = None) -> str:
    """The caller's role in the project (``admin`` for global admins). Non-members and
    unknown projects both get NotFound with ``hidden`` (nothing about the project leaks)."""
    message = hidden or f"project {project_id} does not exist"
    try:
        members = project_members(store, project_id)
    except NotFound:
        raise NotFound(message) from None
    return require_role(members, principal, VIEWER, hidden=message)


def project_of_asset(store: EventStore, asset_id: str) -> str:
    """The project an asset belongs to (from its first event, remembered: it never
    changes); NotFound if none."""

    def first_event_project() -> str | None:
        first = store.read_stream(stream_id("asset", asset_id), up_to_version=1)
        if not first or first[0].event_type != "asset.created":
            return None
        return first[0].event.project_id

    project_id = cache_of(store).fact(("project of", asset_id), first_event_project)
    if project_id is None:
        raise NotFound(f"asset {asset_id} does not exist")
    return project_id


def project_of_template(store: EventStore, template_id: str) -> str:
    """The project a template belongs to (from its first event, remembered); NotFound
    if none."""

    def first_event_project() -> str | None:
        first = store.read_stream(stream_id("template", template_id), up_to_version=1)
        if not first or first[0].event_type != "template.created":
            return None
        return first[0].event.project_id

    project_id = cache_of(store).fact(("project of template", template_id),
                                      first_event_project)
    if project_id is None:
        raise NotFound(f"template {template_id} does not exist")
    return project_id


def require_asset_member(store: EventStore, principal: Principal, asset_id: str, *,
                         hidden: str | None = None) -> str:
    """The project id of the asset, after checking the caller may see it (NotFound
    otherwise, with ``hidden`` as the message)."""
    message = hidden or f"asset {asset_id} does not exist"
    try:
        project_id = project_of_asset(store, asset_id)
    except NotFound:
        raise NotFound(message) from None
    require_member(store, principal, project_id, hidden=message)
    return project_id


def require_version_member(store: EventStore, principal: Principal, version_id: str,
                           ) -> str:
    """The asset id owning the version, after checking the caller may see it."""
    asset_id = locate_asset(store, version_id, "version")
    require_asset_member(store, principal, asset_id, hidden=f"version {version_id} does not exist")
    return asset_id


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
    with engine.connect() as conn:
        rows = conn.execute(stmt.order_by(projects.c.name, projects.c.project_id)).all()
    return [{"project_id": p, "name": n, "role": r} for p, n, r in rows]


def known_people(engine: Engine, viewer_id: str | None, project_id: str,
                 ) -> list[dict[str, str]]:
    """People a project admin may add without knowing their id: members of the other
    projects ``viewer_id`` belongs to (every user when ``viewer_id`` is None: a global
    admin), minus the project's own members; by name."""
    current = select(members.c.user_id).where(members.c.project_id == project_id)
    if viewer_id is None:
        stmt = select(users.c.user_id, users.c.name)
    else:
        mine = select(members.c.project_id).where(members.c.user_id == viewer_id)
        stmt = (select(users.c.user_id, users.c.name).distinct()
                .join(members, members.c.user_id == users.c.user_id)
                .where(members.c.project_id.in_(mine)))
    stmt = stmt.where(users.c.user_id.not_in(current)).order_by(users.c.name, users.c.user_id)
    with engine.connect() as conn:
        return [{"user_id": u, "name": n} for u, n in conn.execute(stmt.limit(500)).all()]
