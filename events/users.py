"""Users and API tokens. Streams: ``user-<id>`` and ``token-<id>``."""

from __future__ import annotations

from dataclasses import dataclass

from events.types import Event, event


@event("user.registered")
@dataclass(frozen=True, kw_only=True)
class UserRegistered(Event):
    user_id: str
    name: str
    is_admin: bool = False


@event("token.issued")
@dataclass(frozen=True, kw_only=True)
class TokenIssued(Event):
    """Only the SHA-256 of the secret is stored; the secret is shown once."""

    token_id: str
    user_id: str
    secret_hash: str
    label: str = ""


@event("token.revoked")
@dataclass(frozen=True, kw_only=True)
class TokenRevoked(Event):
    token_id: str
    reason: str = ""
