"""The folded state of one asset stream: the asset, its version tree, jobs it waits for,
comments, decisions and pins. Versions and reviews share the asset's stream, so "the
asset as it was at T" is this fold over ``read_stream(as_of=T)``."""

from __future__ import annotations

import copy
import dataclasses
from datetime import datetime
from typing import Any

from commands.access import VIEWER, require_role
from commands.people import Principal
from commands.projects import ProjectState, load_project
from commands.state import fold
from events.assets import AssetCreated, JobsRequested, TagAdded, TagRemoved, VersionCreated
from events.domain import stream_id
from events.errors import NotFound
from events.reviews import (
    CommentAdded,
    CommentResolved,
    DecisionRecorded,
    DecisionRevoked,
    VersionPinned,
    VersionUnpinned,
)
from events.store import EventStore
from events.types import Event


@dataclasses.dataclass
class VersionInfo:
    event: VersionCreated
    created_at: datetime | None
    children: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class CommentInfo:
    event: CommentAdded
    created_at: datetime | None
    resolved: bool = False
    resolved_at: datetime | None = None


@dataclasses.dataclass
class DecisionInfo:
    event: DecisionRecorded
    created_at: datetime | None
    revoked: DecisionRevoked | None = None
    revoked_at: datetime | None = None


@dataclasses.dataclass
class PinInfo:
    event: VersionPinned
    created_at: datetime | None


@dataclasses.dataclass
class AssetState:
    asset_id: str | None = None
    project_id: str | None = None
    name: str = ""
    brief: str = ""
    tags: list[str] = dataclasses.field(default_factory=list)
    created_at: datetime | None = None
    versions: dict[str, VersionInfo] = dataclasses.field(default_factory=dict)
    pending_jobs: dict[str, str] = dataclasses.field(default_factory=dict)
    """Job id → tier of jobs requested for this asset that have not made a version yet."""
    comments: dict[str, CommentInfo] = dataclasses.field(default_factory=dict)
    decisions: dict[str, DecisionInfo] = dataclasses.field(default_factory=dict)
    pins: dict[str, PinInfo] = dataclasses.field(default_factory=dict)
    """Active pins only; an unpinned pin id is in ``removed_pins``."""
    removed_pins: set[str] = dataclasses.field(default_factory=set)

    @property
    def exists(self) -> bool:
        return self.asset_id is not None

    def count(self, tier: str) -> int:
        return sum(1 for v in self.versions.values() if v.event.tier == tier)


def apply(state: AssetState, event: Event, at: datetime | None = None) -> None:
    """Fold one event into ``state`` in place (fold's fast path; see :func:`evolve`)."""
    match event:
        case AssetCreated():
            state.asset_id, state.project_id = event.asset_id, event.project_id
            state.name, state.brief, state.created_at = event.name, event.brief, at
            state.tags = list(event.tags)
        case TagAdded() if event.tag not in state.tags:
            state.tags.append(event.tag)
        case TagRemoved() if event.tag in state.tags:
            state.tags.remove(event.tag)
        case JobsRequested():
            for job_id in event.job_ids:
                state.pending_jobs[job_id] = event.tier
        case VersionCreated():
            state.versions[event.version_id] = VersionInfo(event, at)
            for parent in event.parent_ids:
                if parent in state.versions:
                    state.versions[parent].children.append(event.version_id)
            if event.job_id is not None:
                state.pending_jobs.pop(event.job_id, None)
        case CommentAdded():
            state.comments[event.comment_id] = CommentInfo(event, at)
        case CommentResolved() if event.comment_id in state.comments:
            state.comments[event.comment_id].resolved = True
            state.comments[event.comment_id].resolved_at = at
        case DecisionRecorded():
            state.decisions[event.decision_id] = DecisionInfo(event, at)
        case DecisionRevoked() if event.decision_id in state.decisions:
            state.decisions[event.decision_id].revoked = event
            state.decisions[event.decision_id].revoked_at = at
        case VersionPinned():
            state.pins[event.pin_id] = PinInfo(event, at)
        case VersionUnpinned():
            state.pins.pop(event.pin_id, None)
            state.removed_pins.add(event.pin_id)


def evolve(state: AssetState, event: Event, at: datetime | None = None) -> AssetState:
    """The state after ``event``; ``state`` itself is left unchanged."""
    after = copy.deepcopy(state)
    apply(after, event, at)
    return after


def hidden_asset(asset_id: str) -> str:
    return f"asset {asset_id} does not exist"


def load_asset(store: EventStore, asset_id: str, *, as_of: datetime | None = None,
               up_to_version: int | None = None) -> tuple[AssetState, int]:
    """The folded asset and its stream version. NotFound when it does not exist (then)."""
    state, version = fold(store, stream_id("asset", asset_id), AssetState(), apply,
                          as_of=as_of, up_to_version=up_to_version)
    if not state.exists:
        when = f" at {as_of.isoformat()}" if as_of else ""
        raise NotFound(f"asset {asset_id} does not exist{when}")
    return state, version


def load_asset_as(store: EventStore, principal: Principal, asset_id: str, needed: str, *,
                  as_of: datetime | None = None, hidden: str | None = None,
                  ) -> tuple[AssetState, int, ProjectState, str]:
    """Load an asset and its project and check the caller's role there.

    Returns (asset, asset stream version, project, role held). Raises NotFound for
    unknown assets and non-members (``hidden`` is then the message), Forbidden for a
    weaker role.
    """
    asset, version = load_asset(store, asset_id, as_of=as_of)
    project, _ = load_project(store, asset.project_id)
    role = require_role(project.members, principal, needed,
                        hidden=hidden or hidden_asset(asset_id))
    return asset, version, project, role


def locate_asset(store: EventStore, entity_id: str, what: str) -> str:
    """The asset id whose stream registered ``entity_id`` (a version, comment, decision or
    pin id); NotFound when none did."""
    located = store.locate(entity_id)
    if located is None or not located.startswith("asset-"):
        raise NotFound(f"{what} {entity_id} does not exist")
    return located.removeprefix("asset-")


def load_entity_asset(store: EventStore, principal: Principal, entity_id: str, what: str,
                      needed: str = VIEWER) -> tuple[AssetState, int, ProjectState, str]:
    """:func:`load_asset_as` for the asset owning ``entity_id``; non-members get the
    entity's own NotFound."""
    asset_id = locate_asset(store, entity_id, what)
    return load_asset_as(store, principal, asset_id, needed,
                         hidden=f"{what} {entity_id} does not exist")


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def version_summary(info: VersionInfo) -> dict[str, Any]:
    v = info.event
    return {"version_id": v.version_id, "parent_ids": list(v.parent_ids),
            "operation": v.operation, "tier": v.tier, "content_hash": v.content_hash,
            "width": v.width, "height": v.height, "author_id": v.author_id,
            "job_id": v.job_id, "created_at": iso(info.created_at)}
