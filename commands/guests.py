"""Guest review links: a project admin shares chosen assets with people outside the
project, for a while, to look at or to look at and comment on. Guests never decide.

A link reads ``<link id>.<secret>``; only the secret's SHA-256 is stored. Opening one
that is unknown, wrong, revoked or expired is NotFound (a revoked link is as gone as one
that never existed). Every guest action is appended with the link as its actor
(``link:<link id>``); a guest's comment names the guest (``guest:<guest id>``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from commands.asset_state import folded_asset, locate_asset
from commands.fold_cache import Folding, cache_of
from commands.projects import hidden, load_project
from commands.reviews import AddComment, comment_body, decide_comment
from commands.state import execute, first_of, new_id
from commands.users import Principal
from events.domain import stream_id
from events.errors import DomainError, Forbidden, NotFound
from events.guests import GUEST_PERMISSIONS, GuestJoined, GuestLinkCreated, GuestLinkRevoked
from events.reviews import CommentAdded
from events.store import ANY, NO_STREAM, EventStore, Metadata, StreamAppend
from events.types import Event
from rules.access import ADMIN, require_role

CODE = re.compile(r"^([0-9a-f]{32})\.([A-Za-z0-9_-]{20,100})$")
LINK_ID = re.compile(r"[0-9a-f]{32}")
MAX_DAYS = 90
LINK_GONE = "this review link does not exist, was revoked or has expired"


@dataclasses.dataclass
class GuestLinkState:
    created: GuestLinkCreated | None = None
    created_at: datetime | None = None
    revoked: bool = False
    guests: dict[str, str] = dataclasses.field(default_factory=dict)
    """guest id → display name."""

    def copy(self) -> GuestLinkState:
        return dataclasses.replace(self, guests=dict(self.guests))

    @property
    def link_id(self) -> str:
        assert self.created is not None
        return self.created.link_id

    def expired(self, now: datetime) -> bool:
        assert self.created is not None
        return datetime.fromisoformat(self.created.expires_at) <= now

    def allows_comments(self) -> bool:
        return self.created is not None and self.created.permission == "comment"


def _apply(state: GuestLinkState, event: Event, at: datetime | None = None) -> None:
    match event:
        case GuestLinkCreated():
            state.created, state.created_at = event, at
        case GuestLinkRevoked():
            state.revoked = True
        case GuestJoined():
            state.guests[event.guest_id] = event.name


LINK = Folding(GuestLinkState, _apply, GuestLinkState.copy)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def link_actor(link_id: str) -> str:
    """The actor id every event of a guest link's guests is recorded with."""
    return f"link:{link_id}"


def guest_author(guest_id: str) -> str:
    return f"guest:{guest_id}"


# -- decisions (pure) ------------------------------------------------------------------

def decide_create_link(link_id: str, project_id: str, asset_ids: list[str], permission: str,
                       expires_at: datetime, label: str, secret_hash: str, created_by: str,
                       ) -> list[Event]:
    """Raises DomainError for an unknown permission, no assets, or an expiry in the
    past or more than MAX_DAYS ahead (of ``expires_at``'s own reference, checked by the
    handler)."""
    if permission not in GUEST_PERMISSIONS:
        raise DomainError(f"permission must be one of {', '.join(GUEST_PERMISSIONS)}")
    if not asset_ids:
        raise DomainError("a review link shares at least one asset", field="asset_ids")
    return [GuestLinkCreated(link_id=link_id, project_id=project_id,
                             asset_ids=list(dict.fromkeys(asset_ids)), permission=permission,
                             label=label, expires_at=expires_at.isoformat(),
                             secret_hash=secret_hash, created_by=created_by)]


def decide_join(state: GuestLinkState, guest_id: str, name: str) -> list[Event]:
    if not name.strip():
        raise DomainError("give the name the others will see", field="name")
    return [GuestJoined(link_id=state.link_id, guest_id=guest_id, name=name.strip())]


# -- handlers (impure) -------------------------------------------------------------------

def create_guest_link(store: EventStore, principal: Principal, meta: Metadata,
                      project_id: str, *, asset_ids: list[str], permission: str,
                      expires_in_days: float, label: str = "", now: datetime | None = None,
                      ) -> tuple[dict[str, Any], int]:
    """Share ``asset_ids`` of the project (admin role) for ``expires_in_days``. Returns
    (link body with its ``code``, shown this once, and position). Raises NotFound for a
    stranger or an asset of another project, Forbidden for a weaker role."""
    if not 0 < expires_in_days <= MAX_DAYS:
        raise DomainError(f"a review link lasts more than 0 and at most {MAX_DAYS} days",
                          field="expires_in_days")
    link_id = uuid.uuid4().hex
    secret = secrets.token_urlsafe(24)
    expires_at = (now or datetime.now(UTC)) + timedelta(days=expires_in_days)

    def plan() -> list[StreamAppend]:
        project, _ = load_project(store, project_id)
        require_role(project.members, principal, ADMIN, hidden=hidden(project_id))
        for asset_id in asset_ids:
            if folded_asset(store, asset_id).state.project_id != project_id:
                raise NotFound(f"asset {asset_id} does not exist in project {project_id}")
        events = decide_create_link(link_id, project_id, asset_ids, permission, expires_at,
                                    label, _hash(secret), principal.user_id)
        return [StreamAppend(stream_id("guestlink", link_id), "guestlink", NO_STREAM, events)]

    recorded = execute(store, meta, plan)
    _, created = first_of(recorded, GuestLinkCreated)
    body = link_body(created, recorded[0].recorded_at, revoked=False)
    if created.link_id == link_id:  # not a repeated Idempotency-Key: the secret is ours
        body["code"] = f"{link_id}.{secret}"
    return body, recorded[-1].position


def link_body(created: GuestLinkCreated, created_at: datetime | None, *, revoked: bool,
              ) -> dict[str, Any]:
    return {"link_id": created.link_id, "project_id": created.project_id,
            "asset_ids": list(created.asset_ids), "permission": created.permission,
            "label": created.label, "expires_at": created.expires_at,
            "created_by": created.created_by,
            "created_at": created_at.isoformat() if created_at else None, "revoked": revoked}


def load_link(store: EventStore, link_id: str) -> tuple[GuestLinkState, int]:
    """The folded link; NotFound when it never existed."""
    folded = cache_of(store).load(stream_id("guestlink", link_id), LINK)
    if folded.state.created is None:
        raise NotFound(LINK_GONE)
    return folded.state, folded.version


def revoke_guest_link(store: EventStore, principal: Principal, meta: Metadata, link_id: str,
                      ) -> int | None:
    """Revoke a link (admin of its project); nothing when already revoked. Returns the
    position (None when nothing was appended). Raises NotFound for strangers."""

    def plan() -> list[StreamAppend]:
        state, version = load_link(store, link_id)
        project, _ = load_project(store, state.created.project_id)
        require_role(project.members, principal, ADMIN, hidden=LINK_GONE)
        if state.revoked:
            return []
        return [StreamAppend(stream_id("guestlink", link_id), "guestlink", version,
                             [GuestLinkRevoked(link_id=link_id, revoked_by=principal.user_id)])]

    recorded = execute(store, meta, plan)
    return recorded[-1].position if recorded else None


def open_link(store: EventStore, code: str, *, now: datetime | None = None,
              ) -> GuestLinkState:
    """The link a guest's code opens; NotFound when it is malformed, unknown, wrong,
    revoked or expired (one answer for all)."""
    match = CODE.match(code.strip())
    if not match:
        raise NotFound(LINK_GONE)
    link_id, secret = match.groups()
    try:
        state, _ = load_link(store, link_id)
    except NotFound:
        hmac.compare_digest("0" * 64, _hash(secret))  # the same work as a known link
        raise
    if not hmac.compare_digest(state.created.secret_hash, _hash(secret)) or state.revoked \
            or state.expired(now or datetime.now(UTC)):
        raise NotFound(LINK_GONE)
    return state


def join_link(store: EventStore, state: GuestLinkState, name: str) -> str:
    """Record a guest arriving with a display name; returns their guest id."""
    guest_id = new_id()
    events = decide_join(state, guest_id, name)
    store.append(stream_id("guestlink", state.link_id), ANY, events,
                 Metadata(actor_id=link_actor(state.link_id)), stream_type="guestlink")
    return guest_id


def require_link_asset(store: EventStore, state: GuestLinkState, entity_id: str, what: str,
                       ) -> str:
    """The asset id of ``entity_id`` (an asset, version or comment id) when the link
    shares it; NotFound otherwise."""
    asset_id = entity_id if what == "asset" else locate_asset(store, entity_id, what)
    if asset_id not in state.created.asset_ids:
        raise NotFound(f"{what} {entity_id} does not exist")
    return asset_id


def guest_comment(store: EventStore, state: GuestLinkState, guest_id: str,
                  version_id: str, *, body: str, region: dict[str, float] | None = None,
                  parent_comment_id: str | None = None, command_id: str | None = None,
                  ) -> tuple[dict[str, Any], int]:
    """A guest's comment on a shared version (the link must allow comments). Returns
    (comment body, position). Raises NotFound for anything the link does not share,
    Forbidden when it only allows looking."""
    if not state.allows_comments():
        raise Forbidden("this review link lets guests look, not comment")
    if guest_id not in state.guests:
        raise NotFound("this guest has not opened the link")
    asset_id = require_link_asset(store, state, version_id, "version")
    comment_id = new_id()
    cmd = AddComment(comment_id, version_id, guest_author(guest_id), body, region,
                     parent_comment_id)

    def plan() -> list[StreamAppend]:
        asset = folded_asset(store, asset_id).state
        return [StreamAppend(stream_id("asset", asset_id), "asset", ANY,
                             decide_comment(asset, cmd), entity_ids=(comment_id,))]

    meta = Metadata(actor_id=link_actor(state.link_id), command_id=command_id)
    recorded = execute(store, meta, plan)
    _, added = first_of(recorded, CommentAdded)
    folded = folded_asset(store, asset_id).state
    info = folded.comments.get(added.comment_id)
    return (comment_body(info) if info else {"comment_id": added.comment_id},
            recorded[-1].position)
