"""Assets: creation, tags, and the read views of an asset and its versions.

Reads fold the asset stream (optionally as of a time), so ``GET /api/assets/{id}?as_of=``
shows exactly what the stream said then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from commands.asset_state import (
    AssetState,
    VersionInfo,
    iso,
    load_asset,
    load_asset_as,
    load_entity_asset,
    version_summary,
)
from commands.people import Principal
from commands.projects import hidden, load_project
from commands.reviews import comment_body, decision_body, pin_body
from commands.state import ensure_same_request, execute, expected, first_of, new_id
from events.assets import AssetCreated, TagAdded, TagRemoved
from events.domain import stream_id
from events.errors import NotFound
from events.store import ANY, NO_STREAM, EventStore, Metadata, StreamAppend
from events.types import Event
from rules.access import CREATOR, VIEWER, require_role

# -- decisions (pure) ----------------------------------------------------------------


def decide_create(asset_id: str, project_id: str, name: str, brief: str, tags: list[str],
                  ) -> list[Event]:
    unique = list(dict.fromkeys(tags))
    return [AssetCreated(asset_id=asset_id, project_id=project_id, name=name, brief=brief,
                         tags=unique)]


def decide_add_tag(state: AssetState, tag: str) -> list[Event]:
    """Nothing when the asset already has ``tag``."""
    return [] if tag in state.tags else [TagAdded(tag=tag)]


def decide_remove_tag(state: AssetState, tag: str) -> list[Event]:
    """Raises NotFound when the asset does not have ``tag``."""
    if tag not in state.tags:
        raise NotFound(f"asset {state.asset_id} has no tag {tag[:80]!r}")
    return [TagRemoved(tag=tag)]


# -- handlers (impure) ---------------------------------------------------------------


def create_asset(store: EventStore, principal: Principal, meta: Metadata, project_id: str, *,
                 name: str, brief: str = "", tags: list[str] | None = None,
                 ) -> tuple[dict[str, Any], int, int]:
    """Create an asset (creator role). Returns (body, stream version, position)."""
    asset_id = new_id()

    def plan() -> list[StreamAppend]:
        project, _ = load_project(store, project_id)
        require_role(project.members, principal, CREATOR, hidden=hidden(project_id))
        events = decide_create(asset_id, project_id, name, brief, tags or [])
        return [StreamAppend(stream_id("asset", asset_id), "asset", NO_STREAM, events)]

    recorded = execute(store, meta, plan)
    created, event = first_of(recorded, AssetCreated)
    body, version = view_asset(store, principal, event.asset_id,
                               up_to_version=created.stream_version)
    return body, version, created.position


def change_tag(store: EventStore, principal: Principal, meta: Metadata, asset_id: str, tag: str,
               *, add: bool, if_match: int = ANY) -> tuple[dict[str, Any], int, int | None]:
    """Add or remove a tag (creator role). Returns (asset body, version, position or None
    when nothing changed)."""
    stream = stream_id("asset", asset_id)

    def plan() -> list[StreamAppend]:
        asset, version, _, _ = load_asset_as(store, principal, asset_id, CREATOR)
        events = decide_add_tag(asset, tag) if add else decide_remove_tag(asset, tag)
        return [StreamAppend(stream, "asset", expected(if_match, version), events)]

    recorded = execute(store, meta, plan, if_match=if_match)
    ensure_same_request(recorded, stream, TagAdded, TagRemoved)
    at = recorded[-1].stream_version if recorded else None
    body, version = view_asset(store, principal, asset_id, up_to_version=at)
    return body, version, recorded[-1].position if recorded else None


# -- reads -----------------------------------------------------------------------------


def view_asset(store: EventStore, principal: Principal, asset_id: str, *,
               as_of: datetime | None = None, up_to_version: int | None = None,
               ) -> tuple[dict[str, Any], int]:
    """The asset with its version tree, pins, decisions and open comment count, as of a
    time or stream version when given. Returns (body, stream version)."""
    if up_to_version is not None:
        asset, version = load_asset(store, asset_id, up_to_version=up_to_version)
        project, _ = load_project(store, asset.project_id)
        require_role(project.members, principal, VIEWER, hidden=f"asset {asset_id} does not exist")
    else:
        asset, version, _, _ = load_asset_as(store, principal, asset_id, VIEWER, as_of=as_of)
    return asset_body(asset, version, as_of), version


def asset_body(asset: AssetState, version: int, as_of: datetime | None = None,
               ) -> dict[str, Any]:
    heads = [v.event.version_id for v in asset.versions.values() if not v.children]
    return {
        "asset_id": asset.asset_id, "project_id": asset.project_id, "name": asset.name,
        "brief": asset.brief, "tags": list(asset.tags), "created_at": iso(asset.created_at),
        "version": version, "as_of": iso(as_of),
        "counts": {"draft": asset.count("draft"), "final": asset.count("final"),
                   "pending_jobs": len(asset.pending_jobs),
                   "open_comments": sum(1 for c in asset.comments.values() if not c.resolved)},
        "versions": [version_summary(v) for v in asset.versions.values()],
        "heads": heads,
        "pins": [pin_body(p) for p in asset.pins.values()],
        "decisions": [decision_body(d) for d in asset.decisions.values()],
    }


def view_version(store: EventStore, principal: Principal, version_id: str,
                 ) -> tuple[dict[str, Any], int]:
    """One version: recipe, environment, parents and children, content hash, tier, author,
    time, and its comments, decisions and pins. Returns (body, asset stream version)."""
    asset, stream_version, _, _ = load_entity_asset(store, principal, version_id, "version")
    info = _version(asset, version_id)
    return version_body(asset, info), stream_version


def version_image_hash(store: EventStore, principal: Principal, version_id: str) -> str:
    """The content hash of a version the caller may see (NotFound otherwise)."""
    asset, _, _, _ = load_entity_asset(store, principal, version_id, "version")
    return _version(asset, version_id).event.content_hash


def _version(asset: AssetState, version_id: str) -> VersionInfo:
    info = asset.versions.get(version_id)
    if info is None:
        raise NotFound(f"version {version_id} does not exist")
    return info


def version_body(asset: AssetState, info: VersionInfo) -> dict[str, Any]:
    v = info.event
    return {
        **version_summary(info),
        "asset_id": asset.asset_id, "project_id": asset.project_id,
        "recipe": v.recipe, "environment": v.recipe.get("environment"),
        "children": list(info.children), "cost_seconds": v.cost_seconds, "note": v.note,
        "imported": v.imported, "derived_from": v.derived_from,
        "comments": [comment_body(c) for c in asset.comments.values()
                     if c.event.version_id == v.version_id],
        "decisions": [decision_body(d) for d in asset.decisions.values()
                      if d.event.version_id == v.version_id],
        "pins": [pin_body(p) for p in asset.pins.values() if p.event.version_id == v.version_id],
    }


