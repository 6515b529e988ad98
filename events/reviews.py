"""Comments, decisions and pins on versions (in the asset's stream)."""

from __future__ import annotations

from dataclasses import dataclass

from events.types import Event, event

DECISIONS = ("approved", "changes_requested", "rejected")


@event("comment.added")
@dataclass(frozen=True, kw_only=True)
class CommentAdded(Event):
    """``region`` is a normalised box {x, y, w, h} in 0..1, or None for the whole image."""

    comment_id: str
    version_id: str
    author_id: str
    body: str
    region: dict[str, float] | None = None
    parent_comment_id: str | None = None


@event("comment.resolved")
@dataclass(frozen=True, kw_only=True)
class CommentResolved(Event):
    comment_id: str
    version_id: str


@event("decision.recorded")
@dataclass(frozen=True, kw_only=True)
class DecisionRecorded(Event):
    """Who decided what about which exact pixels: the role is the one held at the time."""

    decision_id: str
    version_id: str
    decision: str
    content_hash: str
    reviewer_id: str
    role: str
    channel: str | None = None
    note: str = ""


@event("decision.revoked")
@dataclass(frozen=True, kw_only=True)
class DecisionRevoked(Event):
    decision_id: str
    version_id: str
    revoked_by: str
    reason: str


@event("version.pinned")
@dataclass(frozen=True, kw_only=True)
class VersionPinned(Event):
    pin_id: str
    version_id: str
    label: str
    pinned_by: str


@event("version.unpinned")
@dataclass(frozen=True, kw_only=True)
class VersionUnpinned(Event):
    pin_id: str
    version_id: str
