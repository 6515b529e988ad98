"""Account commands over HTTP: admins create users; everyone manages their own tokens.

No endpoint lets a user act as another: tokens are issued to the caller, and a token of
someone else is "not found" unless the caller is a global admin.
"""

from __future__ import annotations

from typing import Any

from commands.people import (
    IssuedToken,
    Principal,
    User,
    create_user,
    issue_token,
    revoke_token,
)
from events.domain import stream_id
from events.errors import Forbidden, NotFound
from events.people import TokenIssued
from events.store import EventStore, Metadata

TOKEN_ID_CHARS = frozenset("0123456789abcdef")


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
