"""Users and API tokens: register, issue (secret shown once, stored hashed), revoke,
authenticate. Tokens read ``lin_<token_id>.<secret>``; the token id names the stream, so
authentication folds one short stream and compares hashes in constant time.

The ``*_as`` / ``*_own_*`` commands are the same acts asked for over HTTP by a principal:
admins create users; everyone manages their own tokens. No endpoint lets a user act as
another: tokens are issued to the caller, and a token of someone else is "not found"
unless the caller is a global admin."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from commands.fold_cache import Folding, cache_of
from commands.state import key_reused
from events.domain import stream_id
from events.errors import Conflict, Forbidden, NotFound, Unauthorized
from events.store import NO_STREAM, EventStore, Metadata, Recorded, StreamAppend
from events.types import Event
from events.users import TokenIssued, TokenRevoked, UserRegistered

TOKEN_PATTERN = re.compile(r"^lin_([0-9a-f]{32})\.([A-Za-z0-9_-]{20,100})$")
TOKEN_ID_CHARS = frozenset("0123456789abcdef")


@dataclasses.dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user_id: str
    name: str
    is_admin: bool
    token_id: str


@dataclasses.dataclass(frozen=True)
class User:
    user_id: str
    name: str
    is_admin: bool


@dataclasses.dataclass(frozen=True)
class IssuedToken:
    token_id: str
    user_id: str
    token: str
    """The full secret token: shown once, never stored."""


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def new_token(user_id: str, label: str) -> tuple[StreamAppend, IssuedToken]:
    """A fresh token for ``user_id``: the append that records it (its stream must not
    exist yet) and the secret to show once."""
    token_id = uuid.uuid4().hex
    secret = secrets.token_urlsafe(32)
    issued = TokenIssued(token_id=token_id, user_id=user_id, secret_hash=_hash_secret(secret),
                         label=label)
    return (StreamAppend(stream_id("token", token_id), "token", NO_STREAM, [issued]),
            IssuedToken(token_id, user_id, f"lin_{token_id}.{secret}"))


def create_user(store: EventStore, name: str, *, is_admin: bool = False,
                actor_id: str | None = None, meta: Metadata | None = None,
                ) -> tuple[User, IssuedToken]:
    """Register a user and issue their first token, atomically.

    ``meta`` (default: the actor, or the new user) may carry a command id; a repeated one
    appends nothing and raises Conflict (see :func:`_refuse_repeat`)."""
    user_id = str(uuid.uuid4())
    registered = UserRegistered(user_id=user_id, name=name, is_admin=is_admin)
    token_append, token = new_token(user_id, "first token")
    recorded = store.append_streams(
        [StreamAppend(stream_id("user", user_id), "user", NO_STREAM, [registered]),
         token_append],
        meta or Metadata(actor_id=actor_id or user_id))
    _refuse_repeat(recorded, token, registers_user=True)
    return User(user_id, name, is_admin), token


def issue_token(store: EventStore, user_id: str, label: str = "", *,
                actor_id: str | None = None, meta: Metadata | None = None) -> IssuedToken:
    """Issue ``user_id`` another token. ``meta`` as for :func:`create_user`."""
    get_user(store, user_id)
    token_append, token = new_token(user_id, label)
    recorded = store.append_streams([token_append],
                                    meta or Metadata(actor_id=actor_id or user_id))
    _refuse_repeat(recorded, token, registers_user=False)
    return token


def _refuse_repeat(recorded: Sequence[Recorded], token: IssuedToken, *,
                   registers_user: bool) -> None:
    """Raise Conflict unless ``recorded`` is the append of ``token`` itself.

    A repeated command id makes the store return the first append's events instead. Their
    secret was shown once and is stored only as a hash, so the first answer cannot be
    given again, and a fresh secret would be a second token the key never asked for: the
    Conflict names the token (and user) the key made, so a caller who lost the answer
    knows what to revoke. A key first used for another kind of request is refused too.
    """
    issued = [r.event for r in recorded if isinstance(r.event, TokenIssued)]
    registered = any(isinstance(r.event, UserRegistered) for r in recorded)
    if len(issued) != 1 or registered != registers_user:
        raise key_reused()
    first = issued[0]
    if first.token_id != token.token_id:
        made = f"user {first.user_id} and their token" if registers_user else "token"
        raise Conflict(f"this Idempotency-Key already created {made} {first.token_id}, "
                       "whose secret is shown only once and cannot be shown again; if "
                       "that answer was lost, revoke the token and ask again with a new key",
                       token_id=first.token_id, user_id=first.user_id)


def revoke_token(store: EventStore, token_id: str, *, actor_id: str, reason: str = "") -> None:
    history = store.read_stream(stream_id("token", token_id))
    if not history:
        raise NotFound(f"token {token_id} does not exist")
    if any(isinstance(r.event, TokenRevoked) for r in history):
        return
    store.append(stream_id("token", token_id), len(history),
                 [TokenRevoked(token_id=token_id, reason=reason)], Metadata(actor_id=actor_id),
                 stream_type="token")


def user_names(store: EventStore, user_ids: Iterable[str]) -> dict[str, str]:
    """The names of the given users that exist, by id (see :func:`get_users`)."""
    return {user_id: user.name for user_id, user in get_users(store, user_ids).items()}


def get_users(store: EventStore, user_ids: Iterable[str]) -> dict[str, User]:
    """The given users that exist, by id; unknown ids are left out.

    Users already read come from the store's cache; the others are read together, the
    first event of each stream in one query, so naming the many people of a page or a
    lineage costs one round trip however many there are."""
    cache = cache_of(store)
    users, unread = {}, []
    for user_id in dict.fromkeys(user_ids):
        known = cache.known(("user", user_id))
        if known is None:
            unread.append(user_id)
        else:
            users[user_id] = known
    streams = {stream_id("user", user_id): user_id for user_id in unread}
    for recorded in store.read_streams(streams, up_to_version=1):
        user, user_id = _registered(recorded), streams[recorded.stream_id]
        if user is not None:
            users[user_id] = cache.fact(("user", user_id), lambda user=user: user)
    return users


def get_user(store: EventStore, user_id: str) -> User:
    """Raises NotFound for an unknown user id. A user is what their first event registered,
    so it is remembered once read."""

    def registered() -> User | None:
        history = store.read_stream(stream_id("user", user_id), up_to_version=1)
        return _registered(history[0]) if history else None

    user = cache_of(store).fact(("user", user_id), registered)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def _registered(first: Recorded) -> User | None:
    """The user a user stream's first event registered (None if it registered none)."""
    event = first.event
    if not isinstance(event, UserRegistered):
        return None
    return User(event.user_id, event.name, event.is_admin)


@dataclasses.dataclass
class TokenState:
    issued: TokenIssued | None = None
    issued_at: datetime | None = None
    revoked: bool = False

    def copy(self) -> TokenState:
        return dataclasses.replace(self)


def _apply_token(state: TokenState, event: Event, at: datetime | None = None) -> None:
    if isinstance(event, TokenIssued):
        state.issued, state.issued_at = event, at
    elif isinstance(event, TokenRevoked):
        state.revoked = True


TOKEN = Folding(TokenState, _apply_token, TokenState.copy)


def token_id_of(token: str) -> str | None:
    """The token id a well-formed bearer token names (None for a malformed one)."""
    match = TOKEN_PATTERN.match(token)
    return match.group(1) if match else None


def authenticate(store: EventStore, token: str) -> Principal:
    """The principal a bearer token belongs to; Unauthorized if unknown, wrong or revoked.

    The token's stream is read on every call (only its tail, through the fold cache), so
    a revocation appended by any process refuses the very next request."""
    match = TOKEN_PATTERN.match(token)
    if not match:
        raise Unauthorized("the bearer token is malformed")
    token_id, secret = match.groups()
    state = cache_of(store).load(stream_id("token", token_id), TOKEN).state
    if state.revoked:
        raise Unauthorized("the bearer token has been revoked")
    issued = state.issued
    # Compare even for unknown ids so timing does not tell which token ids exist.
    expected = issued.secret_hash if issued else "0" * 64
    if not hmac.compare_digest(expected, _hash_secret(secret)) or issued is None:
        raise Unauthorized("the bearer token is not valid")
    user = get_user(store, issued.user_id)
    return Principal(user.user_id, user.name, user.is_admin, token_id)


def first_admin(store: EventStore) -> str | None:
    """The id of the first global admin registered (``lineage serve`` creates one)."""
    for recorded in store.iter_all(event_types=[UserRegistered.type_name]):
        if recorded.event.is_admin:
            return recorded.event.user_id
    return None


def any_user_exists(store: EventStore) -> bool:
    return bool(store.read_all(limit=1, event_types=[UserRegistered.type_name]))


def create_user_as(store: EventStore, principal: Principal, meta: Metadata, name: str,
                   *, is_admin: bool) -> tuple[User, IssuedToken]:
    """Global admins only (Forbidden otherwise). Returns the user and their first token;
    Conflict for a repeated command id in ``meta`` (the secret is never shown twice)."""
    if not principal.is_admin:
        raise Forbidden("only global admins create users", required_role="global admin")
    return create_user(store, name, is_admin=is_admin, meta=meta)


def issue_own_token(store: EventStore, principal: Principal, meta: Metadata, label: str,
                    ) -> IssuedToken:
    """A new token for the caller; Conflict for a repeated command id in ``meta``."""
    return issue_token(store, principal.user_id, label, meta=meta)


def revoke_token_as(store: EventStore, principal: Principal, token_id: str, reason: str,
                    ) -> None:
    """Revoke one of the caller's tokens (any token for a global admin). NotFound for
    unknown tokens and other people's."""
    missing = NotFound(f"token {token_id[:80]} does not exist")
    if len(token_id) != 32 or not set(token_id) <= TOKEN_ID_CHARS:
        raise missing
    history = store.read_stream(stream_id("token", token_id))
    issued = next((r.event for r in history if isinstance(r.event, TokenIssued)), None)
    if issued is None or (issued.user_id != principal.user_id and not principal.is_admin):
        raise missing
    revoke_token(store, token_id, actor_id=principal.user_id, reason=reason)


def token_body(token: IssuedToken) -> dict[str, Any]:
    return {"token_id": token.token_id, "user_id": token.user_id, "token": token.token}
