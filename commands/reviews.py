"""Reviews on versions: comments (threaded, resolvable), decisions (approve, request
changes, reject; revocable) and pins. All live in the asset's stream; their ids are
registered with the store so ``/api/comments/{id}`` etc. find it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from commands.asset_state import (
    ASSET,
    AssetState,
    CommentInfo,
    DecisionInfo,
    PinInfo,
    VersionInfo,
    authorised_entity_asset,
    iso,
)
from commands.fold_cache import Folded, cache_of
from commands.projects import Answer, ProjectState
from commands.state import execute, expected, first_of, new_id
from commands.users import Principal
from events.domain import stream_id
from events.errors import Conflict, DomainError, NotFound
from events.reviews import (
    DECISIONS,
    CommentAdded,
    CommentResolved,
    DecisionRecorded,
    DecisionRevoked,
    VersionPinned,
    VersionUnpinned,
)
from events.store import ANY, EventStore, Metadata, Recorded, StreamAppend
from events.types import Event
from rules.access import CREATOR, REVIEWER


@dataclasses.dataclass(frozen=True)
class AddComment:
    comment_id: str
    version_id: str
    author_id: str
    body: str
    region: dict[str, float] | None = None
    parent_comment_id: str | None = None


@dataclasses.dataclass(frozen=True)
class RecordDecision:
    decision_id: str
    version_id: str
    reviewer_id: str
    role: str
    decision: str
    channel: str | None = None
    note: str = ""


Decide = Callable[[AssetState, ProjectState, str], list[Event]]
"""(asset, project, caller's role) → events."""


# -- decisions (pure) ----------------------------------------------------------------


def decide_comment(asset: AssetState, cmd: AddComment) -> list[Event]:
    """Raises NotFound for an unknown version or parent comment, DomainError for a reply
    to a comment on another version or a region outside the image."""
    _require_version(asset, cmd.version_id)
    if cmd.parent_comment_id is not None:
        parent = asset.comments.get(cmd.parent_comment_id)
        if parent is None:
            raise NotFound(f"comment {cmd.parent_comment_id} does not exist")
        if parent.event.version_id != cmd.version_id:
            raise DomainError(f"comment {cmd.parent_comment_id} is on version "
                              f"{parent.event.version_id}, not {cmd.version_id}")
    if cmd.region is not None:
        r = cmd.region
        if r["x"] + r["w"] > 1 or r["y"] + r["h"] > 1:
            raise DomainError("region must lie inside the image: x + w and y + h must be <= 1")
    return [CommentAdded(comment_id=cmd.comment_id, version_id=cmd.version_id,
                         author_id=cmd.author_id, body=cmd.body, region=cmd.region,
                         parent_comment_id=cmd.parent_comment_id)]


def decide_resolve(asset: AssetState, comment_id: str) -> list[Event]:
    """Nothing when already resolved; NotFound for an unknown comment."""
    comment = asset.comments.get(comment_id)
    if comment is None:
        raise NotFound(f"comment {comment_id} does not exist")
    if comment.resolved:
        return []
    return [CommentResolved(comment_id=comment_id, version_id=comment.event.version_id)]


def decide_decision(asset: AssetState, project: ProjectState, cmd: RecordDecision,
                    ) -> list[Event]:
    """Record a decision naming the version's exact content hash.

    Raises DomainError for an unknown decision or channel, or an approval for a channel
    whose minimum size the version does not meet; NotFound for an unknown version.
    """
    if cmd.decision not in DECISIONS:
        raise DomainError(f"unknown decision {cmd.decision!r}; use {', '.join(DECISIONS)}")
    version = _require_version(asset, cmd.version_id).event
    if cmd.channel is not None:
        size = project.channels.get(cmd.channel)
        if size is None:
            known = ", ".join(sorted(project.channels)) or "none"
            raise DomainError(f"unknown channel {cmd.channel!r}; the project's channels: {known}")
        if cmd.decision == "approved" and (
                version.width < size["min_width"] or version.height < size["min_height"]):
            raise DomainError(
                f"version {version.version_id} is {version.width}x{version.height}; channel "
                f"{cmd.channel!r} needs at least {size['min_width']}x{size['min_height']}",
                width=version.width, height=version.height, channel=cmd.channel, **size)
    return [DecisionRecorded(decision_id=cmd.decision_id, version_id=cmd.version_id,
                             decision=cmd.decision, content_hash=version.content_hash,
                             reviewer_id=cmd.reviewer_id, role=cmd.role, channel=cmd.channel,
                             note=cmd.note)]


def decide_revoke(asset: AssetState, decision_id: str, revoked_by: str, reason: str,
                  ) -> list[Event]:
    """Raises NotFound for an unknown decision, Conflict when already revoked."""
    decision = asset.decisions.get(decision_id)
    if decision is None:
        raise NotFound(f"decision {decision_id} does not exist")
    if decision.revoked is not None:
        raise Conflict(f"decision {decision_id} was already revoked")
    return [DecisionRevoked(decision_id=decision_id, version_id=decision.event.version_id,
                            revoked_by=revoked_by, reason=reason)]


def decide_pin(asset: AssetState, pin_id: str, version_id: str, label: str, pinned_by: str,
               ) -> list[Event]:
    _require_version(asset, version_id)
    return [VersionPinned(pin_id=pin_id, version_id=version_id, label=label,
                          pinned_by=pinned_by)]


def decide_unpin(asset: AssetState, pin_id: str) -> list[Event]:
    """Raises NotFound for an unknown or already removed pin."""
    pin = asset.pins.get(pin_id)
    if pin is None:
        gone = " (it was removed)" if pin_id in asset.removed_pins else ""
        raise NotFound(f"pin {pin_id} does not exist{gone}")
    return [VersionUnpinned(pin_id=pin_id, version_id=pin.event.version_id)]


def _require_version(asset: AssetState, version_id: str) -> VersionInfo:
    info = asset.versions.get(version_id)
    if info is None:
        raise NotFound(f"version {version_id} does not exist")
    return info


# -- handlers (impure) ---------------------------------------------------------------


def _review_command(store: EventStore, principal: Principal, meta: Metadata, entity_id: str,
                    what: str, needed: str, decide: Decide, *, if_match: int,
                    new_entity: str | None, holds_later: bool = False,
                    ) -> tuple[AssetState, int, list[Recorded]]:
    """Load the asset owning ``entity_id``, check ``needed``, append ``decide(asset,
    project, role)``. Returns the asset folded up to the result (the current asset when
    nothing was appended), its stream version and the recorded events.

    ``holds_later``: the decision stays valid whatever is appended to the asset after it
    (versions and comments are never removed), so without If-Match it is appended at the
    stream's version then, not the folded one: a busy asset cannot make it lose races.
    """
    planned: list[Folded[AssetState]] = []

    def plan() -> list[StreamAppend]:
        folded, project, role = authorised_entity_asset(store, principal, entity_id, what,
                                                        needed)
        planned.append(folded)
        events = decide(folded.state, project, role)
        version = ANY if holds_later else folded.version
        return [StreamAppend(stream_id("asset", folded.state.asset_id), "asset",
                             expected(if_match, version), events,
                             entity_ids=(new_entity,) if new_entity and events else ())]

    recorded = execute(store, meta, plan, if_match=if_match)
    if not recorded:
        return planned[-1].state, planned[-1].version, recorded
    stream = recorded[-1].stream_id
    if not stream.startswith("asset-"):
        raise Conflict("this Idempotency-Key was already used for a different request; "
                       "use a new key for each distinct request")
    cache = cache_of(store)
    base = planned[-1] if planned else None
    if base is not None and stream_id("asset", base.state.asset_id) == stream:
        # The command's own events folded onto the state it decided on: no second fold.
        after = cache.extend(stream, ASSET, base, recorded)
    else:  # a repeated Idempotency-Key answered with the first request's events
        after = cache.advance(stream, ASSET, None, up_to_version=recorded[-1].stream_version)
    return after.state, after.version, recorded


def _position(recorded: list[Recorded]) -> int | None:
    return recorded[-1].position if recorded else None


def add_comment(store: EventStore, principal: Principal, meta: Metadata, version_id: str, *,
                body: str, region: dict[str, float] | None = None,
                parent_comment_id: str | None = None, if_match: int = ANY) -> Answer:
    """Comment on a version (creator role). Returns (comment body, asset stream version,
    position)."""
    comment_id = new_id()
    cmd = AddComment(comment_id, version_id, principal.user_id, body, region, parent_comment_id)
    asset, version, recorded = _review_command(
        store, principal, meta, version_id, "version", CREATOR,
        lambda asset, _project, _role: decide_comment(asset, cmd),
        if_match=if_match, new_entity=comment_id, holds_later=True)
    _, added = first_of(recorded, CommentAdded)
    return comment_body(asset.comments[added.comment_id]), version, _position(recorded)


def resolve_comment(store: EventStore, principal: Principal, meta: Metadata, comment_id: str,
                    *, if_match: int = ANY) -> Answer:
    """Resolve a comment (creator role); resolving twice changes nothing."""
    asset, version, recorded = _review_command(
        store, principal, meta, comment_id, "comment", CREATOR,
        lambda asset, _project, _role: decide_resolve(asset, comment_id),
        if_match=if_match, new_entity=None)
    if recorded:
        first_of(recorded, CommentResolved)
    return comment_body(asset.comments[comment_id]), version, _position(recorded)


def record_decision(store: EventStore, principal: Principal, meta: Metadata, version_id: str,
                    *, decision: str, channel: str | None = None, note: str = "",
                    if_match: int = ANY) -> Answer:
    """Approve, request changes or reject (reviewer role); the role held is recorded."""
    decision_id = new_id()

    def decide(asset: AssetState, project: ProjectState, role: str) -> list[Event]:
        cmd = RecordDecision(decision_id, version_id, principal.user_id, role, decision,
                             channel, note)
        return decide_decision(asset, project, cmd)

    asset, version, recorded = _review_command(
        store, principal, meta, version_id, "version", REVIEWER, decide,
        if_match=if_match, new_entity=decision_id, holds_later=True)
    _, recorded_decision = first_of(recorded, DecisionRecorded)
    return (decision_body(asset.decisions[recorded_decision.decision_id]), version,
            _position(recorded))


def revoke_decision(store: EventStore, principal: Principal, meta: Metadata, decision_id: str,
                    *, reason: str, if_match: int = ANY) -> Answer:
    """Revoke a decision (reviewer role); Conflict when it already was."""
    asset, version, recorded = _review_command(
        store, principal, meta, decision_id, "decision", REVIEWER,
        lambda asset, _p, _r: decide_revoke(asset, decision_id, principal.user_id, reason),
        if_match=if_match, new_entity=None)
    first_of(recorded, DecisionRevoked)
    return decision_body(asset.decisions[decision_id]), version, _position(recorded)


def pin_version(store: EventStore, principal: Principal, meta: Metadata, version_id: str, *,
                label: str, if_match: int = ANY) -> Answer:
    """Pin a version with a label (creator role)."""
    pin_id = new_id()
    asset, version, recorded = _review_command(
        store, principal, meta, version_id, "version", CREATOR,
        lambda asset, _p, _r: decide_pin(asset, pin_id, version_id, label, principal.user_id),
        if_match=if_match, new_entity=pin_id, holds_later=True)
    _, pinned = first_of(recorded, VersionPinned)
    info = asset.pins.get(pinned.pin_id) or PinInfo(pinned, recorded[0].recorded_at)
    return pin_body(info), version, _position(recorded)


def unpin(store: EventStore, principal: Principal, meta: Metadata, pin_id: str, *,
          if_match: int = ANY) -> tuple[int, int | None]:
    """Remove a pin (creator role). Returns (asset stream version, position)."""
    _, version, recorded = _review_command(
        store, principal, meta, pin_id, "pin", CREATOR,
        lambda asset, _p, _r: decide_unpin(asset, pin_id), if_match=if_match, new_entity=None)
    first_of(recorded, VersionUnpinned)
    return version, _position(recorded)


# -- bodies ----------------------------------------------------------------------------


def comment_body(info: CommentInfo) -> dict[str, Any]:
    c = info.event
    return {"comment_id": c.comment_id, "version_id": c.version_id, "author_id": c.author_id,
            "body": c.body, "region": c.region, "parent_comment_id": c.parent_comment_id,
            "resolved": info.resolved, "created_at": iso(info.created_at),
            "resolved_at": iso(info.resolved_at)}


def decision_body(info: DecisionInfo) -> dict[str, Any]:
    d = info.event
    revoked = info.revoked
    return {"decision_id": d.decision_id, "version_id": d.version_id, "decision": d.decision,
            "content_hash": d.content_hash, "channel": d.channel, "note": d.note,
            "reviewer_id": d.reviewer_id, "role": d.role, "created_at": iso(info.created_at),
            "revoked": revoked is not None,
            "revoked_by": revoked.revoked_by if revoked else None,
            "revoke_reason": revoked.reason if revoked else None,
            "revoked_at": iso(info.revoked_at)}


def pin_body(info: PinInfo) -> dict[str, Any]:
    p = info.event
    return {"pin_id": p.pin_id, "version_id": p.version_id, "label": p.label,
            "pinned_by": p.pinned_by, "created_at": iso(info.created_at)}
