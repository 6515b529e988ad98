"""Studio sign-in: one-time sign-in links and browser sessions.

A session is an ordinary API token issued for the signed-in user (label
:data:`SESSION_LABEL`) that lives only in an HttpOnly cookie: signing out revokes it, so
every process refuses it at once, and a revoked or deleted user's sessions fail like
their tokens. Session tokens expire after :data:`SESSION_HOURS`.

A sign-in link holds ``<link id>.<secret>``; only the secret's SHA-256 is stored. It
works once, until it expires: redeeming appends ``signin.link_used`` at the link
stream's first version together with the new session token, so of two simultaneous
redemptions one loses the race and is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from commands.fold_cache import cache_of
from commands.users import TOKEN, IssuedToken, Principal, authenticate, get_user, new_token
from events.domain import stream_id
from events.errors import ConcurrencyError, Unauthorized
from events.signin import SigninLinkIssued, SigninLinkUsed
from events.store import NO_STREAM, EventStore, Metadata, StreamAppend

SESSION_LABEL = "studio session"
SESSION_HOURS = 24 * 7
LINK_MINUTES = 60
CODE_PATTERN = re.compile(r"^([0-9a-f]{32})\.([A-Za-z0-9_-]{20,100})$")
REFUSED = "this sign-in link is unknown, already used or expired; ask for a new one"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def issue_signin_link(store: EventStore, user_id: str, *, actor_id: str,
                      minutes: int = LINK_MINUTES, now: datetime | None = None) -> str:
    """A new one-time sign-in code for ``user_id`` valid for ``minutes``; the code is
    returned once and stored only as a hash. Raises NotFound for an unknown user."""
    get_user(store, user_id)
    link_id = uuid.uuid4().hex
    secret = secrets.token_urlsafe(24)
    expires = (now or datetime.now(UTC)) + timedelta(minutes=minutes)
    issued = SigninLinkIssued(link_id=link_id, user_id=user_id, secret_hash=_hash(secret),
                              expires_at=expires.isoformat())
    store.append(stream_id("signin", link_id), NO_STREAM, [issued],
                 Metadata(actor_id=actor_id), stream_type="signin")
    return f"{link_id}.{secret}"


def redeem_signin_link(store: EventStore, code: str, *, now: datetime | None = None,
                       ) -> IssuedToken:
    """Use a sign-in code: a new session token for its user. Raises Unauthorized when
    the code is malformed, unknown, wrong, used or expired (one message for all)."""
    match = CODE_PATTERN.match(code.strip())
    if not match:
        raise Unauthorized(REFUSED)
    link_id, secret = match.groups()
    stream = stream_id("signin", link_id)
    history = store.read_stream(stream)
    issued = history[0].event if history else None
    expected = issued.secret_hash if isinstance(issued, SigninLinkIssued) else "0" * 64
    valid = hmac.compare_digest(expected, _hash(secret)) and len(history) == 1
    if not valid or not isinstance(issued, SigninLinkIssued) or \
            datetime.fromisoformat(issued.expires_at) <= (now or datetime.now(UTC)):
        raise Unauthorized(REFUSED)
    token_append, token = new_token(issued.user_id, SESSION_LABEL)
    used = StreamAppend(stream, "signin", 1,
                        [SigninLinkUsed(link_id=link_id, token_id=token.token_id)])
    try:
        store.append_streams([used, token_append], Metadata(actor_id=issued.user_id))
    except ConcurrencyError:
        raise Unauthorized(REFUSED) from None
    return token


def start_session(store: EventStore, principal: Principal) -> IssuedToken:
    """A session token for someone who proved who they are (signed in with a token)."""
    token_append, token = new_token(principal.user_id, SESSION_LABEL)
    store.append_streams([token_append], Metadata(actor_id=principal.user_id))
    return token


def session_principal(store: EventStore, token: str, *, now: datetime | None = None,
                      ) -> Principal:
    """The principal of a session cookie's token; Unauthorized when the token is not a
    valid studio session (wrong, revoked, expired, or an API token in a cookie)."""
    principal = authenticate(store, token)
    state = cache_of(store).load(stream_id("token", principal.token_id), TOKEN).state
    if state.issued is None or state.issued.label != SESSION_LABEL or state.issued_at is None:
        raise Unauthorized("this is not a studio session")
    issued_at = state.issued_at if state.issued_at.tzinfo else state.issued_at.replace(
        tzinfo=UTC)
    if issued_at + timedelta(hours=SESSION_HOURS) <= (now or datetime.now(UTC)):
        raise Unauthorized("the studio session has expired; sign in again")
    return principal


def csrf_token(session_token: str) -> str:
    """The CSRF token pages send back with every change: derived from the session's
    secret (which only the HttpOnly cookie holds), so it needs no storage and a page of
    another site cannot know it."""
    return hmac.new(session_token.encode(), b"lineage studio csrf", "sha256").hexdigest()
