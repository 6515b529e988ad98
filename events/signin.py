"""One-time sign-in links for the studio. Stream: ``signin-<id>``.

A link carries a short-lived single-use code, never an API token: redeeming it issues a
fresh studio session token (a ``token.issued`` event) and marks the link used, in one
atomic append whose expected version makes a second redemption lose.
"""

from __future__ import annotations

from dataclasses import dataclass

from events.types import Event, event


@event("signin.link_issued")
@dataclass(frozen=True, kw_only=True)
class SigninLinkIssued(Event):
    """Only the SHA-256 of the code's secret is stored; ``expires_at`` is ISO 8601 UTC."""

    link_id: str
    user_id: str
    secret_hash: str
    expires_at: str


@event("signin.link_used")
@dataclass(frozen=True, kw_only=True)
class SigninLinkUsed(Event):
    link_id: str
    token_id: str
