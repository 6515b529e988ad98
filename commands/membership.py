"""Whether a caller may read a project's resources, decided immediately: membership is
folded from the project's own short stream (through the write side's fold cache), never
read from a projection that may lag, so a member added a moment ago can read at once and
a removed one is refused on the next request. The rule applied is rules/access.py, as
every command applies it; the read views call this module.
"""

from __future__ import annotations

from commands.asset_state import locate_asset
from commands.fold_cache import cache_of
from commands.projects import load_project
from commands.users import Principal
from events.domain import stream_id
from events.errors import NotFound
from events.store import EventStore
from rules.access import VIEWER, require_role


def project_members(store: EventStore, project_id: str) -> dict[str, str]:
    """user id → role, folded from the project's stream (through the write side's fold
    cache: the stream grows with every finished job); NotFound for an unknown project.
    The mapping is shared with other requests: read it, never change it."""
    project, _ = load_project(store, project_id)
    return project.members


def require_member(store: EventStore, principal: Principal, project_id: str, *,
                   hidden: str | None = None, needed: str = VIEWER) -> str:
    """The caller's role in the project (``admin`` for global admins), at least
    ``needed`` (Forbidden below it). Non-members and unknown projects both get NotFound
    with ``hidden`` (nothing about the project leaks)."""
    message = hidden or f"project {project_id} does not exist"
    try:
        members = project_members(store, project_id)
    except NotFound:
        raise NotFound(message) from None
    return require_role(members, principal, needed, hidden=message)


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


def require_template_member(store: EventStore, principal: Principal, template_id: str) -> str:
    """The project id of the template, after checking the caller may see it (NotFound
    naming the template otherwise, also for an unknown one)."""
    hidden = f"template {template_id} does not exist"
    project_id = project_of_template(store, template_id)
    require_member(store, principal, project_id, hidden=hidden)
    return project_id
