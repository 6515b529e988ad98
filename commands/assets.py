"""Assets: creation and tags. A write answers with the asset as its own append left it
(folded from the stream); reads answer from projections (projections/asset_view.py)."""

from __future__ import annotations

from typing import Any

from commands.asset_state import (
    AssetState,
    iso,
    load_asset,
    load_asset_as,
    version_summary,
)
from commands.projects import hidden, load_project
from commands.reviews import decision_body, pin_body
from commands.state import ensure_same_request, execute, expected, first_of, new_id
from commands.users import Principal
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


# -- the write's answer ------------------------------------------------------------------


def view_asset(store: EventStore, principal: Principal, asset_id: str, *,
               up_to_version: int | None) -> tuple[dict[str, Any], int]:
    """The asset as a write just left it (its stream up to ``up_to_version``; now when
    None), in the shape GET /api/assets/{id} reads from projections/asset_view.py.
    Returns (body, stream version)."""
    asset, version = load_asset(store, asset_id, up_to_version=up_to_version)
    project, _ = load_project(store, asset.project_id)
    require_role(project.members, principal, VIEWER, hidden=f"asset {asset_id} does not exist")
    return asset_body(asset, version), version


def asset_body(asset: AssetState, version: int) -> dict[str, Any]:
    heads = [v.event.version_id for v in asset.versions.values() if not v.children]
    return {
        "asset_id": asset.asset_id, "project_id": asset.project_id, "name": asset.name,
        "brief": asset.brief, "tags": list(asset.tags), "created_at": iso(asset.created_at),
        "version": version, "as_of": None,
        "counts": {"draft": asset.count("draft"), "final": asset.count("final"),
                   "pending_jobs": len(asset.pending_jobs),
                   "open_comments": sum(1 for c in asset.comments.values() if not c.resolved)},
        "versions": [version_summary(v) for v in asset.versions.values()],
        "heads": heads,
        "pins": [pin_body(p) for p in asset.pins.values()],
        "decisions": [decision_body(d) for d in asset.decisions.values()],
    }
