"""Guest review links: a project admin shares some assets with people outside the
project. Stream: ``guestlink-<id>``.

Every guest action is recorded with the link as its actor (``link:<link id>``); a
guest's comments name the guest (``guest:<guest id>``) as their author, and
``guest.joined`` says which display name that guest gave.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from events.types import Event, event

GUEST_PERMISSIONS = ("view", "comment")
"""What a link allows: look, or look and comment. Guests never decide."""


@event("guest_link.created")
@dataclass(frozen=True, kw_only=True)
class GuestLinkCreated(Event):
    """``asset_ids``: the assets the guest sees; ``expires_at`` ISO 8601 UTC; only the
    SHA-256 of the link's secret is stored."""

    link_id: str
    project_id: str
    asset_ids: list[str] = field(default_factory=list)
    permission: str = "view"
    label: str = ""
    expires_at: str
    secret_hash: str
    created_by: str


@event("guest_link.revoked")
@dataclass(frozen=True, kw_only=True)
class GuestLinkRevoked(Event):
    link_id: str
    revoked_by: str


@event("guest.joined")
@dataclass(frozen=True, kw_only=True)
class GuestJoined(Event):
    """A guest opened the link and gave a display name."""

    link_id: str
    guest_id: str
    name: str
