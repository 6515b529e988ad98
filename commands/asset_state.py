"""The folded state of one asset stream: the asset, its version tree, jobs it waits for,
comments, decisions and pins. Versions and reviews share the asset's stream, so "the
asset as it was at T" is this fold over ``read_stream(as_of=T)``."""

from __future__ import annotations

import copy
import dataclasses
from datetime import datetime
from typing import Any

from commands.fold_cache import Folded, Folding, cache_of
from commands.projects import ProjectState, load_project
from commands.state import fold
from commands.users import Principal
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
from rules.access import VIEWER, require_role

# The per-entity records are frozen: folded states are cached and shared between request
# threads (commands.fold_cache), so a fold replaces a record instead of changing it.


@dataclasses.dataclass(frozen=True)
class VersionInfo:
    event: VersionCreated
    created_at: datetime | None
    children: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class CommentInfo:
    event: CommentAdded
    created_at: datetime | None
    resolved: bool = False
    resolved_at: datetime | None = None


@dataclasses.dataclass(frozen=True)
class DecisionInfo:
    event: DecisionRecorded
    created_at: datetime | None
    revoked: DecisionRevoked | None = None
    revoked_at: datetime | None = None


@dataclasses.dataclass(frozen=True)
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

    def copy(self) -> AssetState:
        """A copy whose containers :func:`apply` may change; the frozen records are shared."""
        return dataclasses.replace(
            self, tags=list(self.tags), versions=dict(self.versions),
            pending_jobs=dict(self.pending_jobs), comments=dict(self.comments),
            decisions=dict(self.decisions), pins=dict(self.pins),
            removed_pins=set(self.removed_pins))


def apply(state: AssetState, event: Event, at: datetime | None = None) -> None:
    """Fold one event into ``state`` in place (fold's fast path; see :func:`evolve`).

    Changes only ``state``'s own containers, never a record they hold, so a
    :meth:`AssetState.copy` can be folded on while the original is read elsewhere."""
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
                info = state.versions.get(parent)
                if info is not None:
                    state.versions[parent] = dataclasses.replace(
                        info, children=(*info.children, event.version_id))
            if event.job_id is not None:
                state.pending_jobs.pop(event.job_id, None)
        case CommentAdded():
            state.comments[event.comment_id] = CommentInfo(event, at)
        case CommentResolved() if event.comment_id in state.comments:
            state.comments[event.comment_id] = dataclasses.replace(
                state.comments[event.comment_id], resolved=True, resolved_at=at)
        case DecisionRecorded():
            state.decisions[event.decision_id] = DecisionInfo(event, at)
        case DecisionRevoked() if event.decision_id in state.decisions:
            state.decisions[event.decision_id] = dataclasses.replace(
                state.decisions[event.decision_id], revoked=event, revoked_at=at)
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


ASSET = Folding(AssetState, apply, AssetState.copy)
"""How asset streams fold (the key of their cached folds)."""


def folded_asset(store: EventStore, asset_id: str) -> Folded[AssetState]:
    """The asset folded up to now (through the fold cache); NotFound when it does not exist.

    The state is shared with other requests: read it, never change it."""
    folded = cache_of(store).load(stream_id("asset", asset_id), ASSET)
    if not folded.state.exists:
        raise NotFound(f"asset {asset_id} does not exist")
    return folded


def load_asset(store: EventStore, asset_id: str, *, as_of: datetime | None = None,
               up_to_version: int | None = None) -> tuple[AssetState, int]:
    """The folded asset and its stream version. NotFound when it does not exist (then).

    The current asset, or the asset at a stream version, comes from the fold cache (read
    it, never change it); the asset as it was at a time is folded afresh."""
    stream = stream_id("asset", asset_id)
    if as_of is not None:
        state, version = fold(store, stream, AssetState(), apply, as_of=as_of,
                              up_to_version=up_to_version)
    elif up_to_version is not None:
        state, version, _ = cache_of(store).load_up_to(stream, ASSET, up_to_version)
    else:
        state, version, _ = cache_of(store).load(stream, ASSET)
    if not state.exists:
        when = f" at {as_of.isoformat()}" if as_of else ""
        raise NotFound(f"asset {asset_id} does not exist{when}")
    return state, version


def authorise(store: EventStore, principal: Principal, asset: AssetState, needed: str,
              hidden: str) -> tuple[ProjectState, str]:
    """The asset's project and the caller's role there, at least ``needed``. Raises
    NotFound(``hidden``) for non-members, Forbidden for a weaker role."""
    project, _ = load_project(store, asset.project_id)
    return project, require_role(project.members, principal, needed, hidden=hidden)


def load_asset_as(store: EventStore, principal: Principal, asset_id: str, needed: str, *,
                  hidden: str | None = None,
                  ) -> tuple[AssetState, int, ProjectState, str]:
    """Load an asset and its project and check the caller's role there.

    Returns (asset, asset stream version, project, role held). Raises NotFound for
    unknown assets and non-members (``hidden`` is then the message), Forbidden for a
    weaker role.
    """
    asset, version = load_asset(store, asset_id)
    project, role = authorise(store, principal, asset, needed, hidden or hidden_asset(asset_id))
    return asset, version, project, role


def locate_asset(store: EventStore, entity_id: str, what: str) -> str:
    """The asset id whose stream registered ``entity_id`` (a version, comment, decision or
    pin id); NotFound when none did."""
    located = cache_of(store).fact(("stream of", entity_id), lambda: store.locate(entity_id))
    if located is None or not located.startswith("asset-"):
        raise NotFound(f"{what} {entity_id} does not exist")
    return located.removeprefix("asset-")


def load_entity_asset(store: EventStore, principal: Principal, entity_id: str, what: str,
                      needed: str = VIEWER) -> tuple[AssetState, int, ProjectState, str]:
    """:func:`load_asset_as` for the asset owning ``entity_id``; non-members get the
    entity's own NotFound."""
    folded, project, role = authorised_entity_asset(store, principal, entity_id, what, needed)
    return folded.state, folded.version, project, role


def authorised_entity_asset(store: EventStore, principal: Principal, entity_id: str,
                            what: str, needed: str,
                            ) -> tuple[Folded[AssetState], ProjectState, str]:
    """:func:`load_entity_asset` keeping the fold itself, so a command can fold its own
    events onto it (:meth:`FoldCache.extend`) instead of folding the stream again."""
    folded = folded_asset(store, locate_asset(store, entity_id, what))
    project, role = authorise(store, principal, folded.state, needed,
                              f"{what} {entity_id} does not exist")
    return folded, project, role


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def version_summary(info: VersionInfo) -> dict[str, Any]:
    v = info.event
    return {"version_id": v.version_id, "parent_ids": list(v.parent_ids),
            "operation": v.operation, "tier": v.tier, "content_hash": v.content_hash,
            "width": v.width, "height": v.height, "author_id": v.author_id,
            "job_id": v.job_id, "created_at": iso(info.created_at)}
