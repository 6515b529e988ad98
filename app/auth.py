"""Authentication for requests: a bearer token, or the studio's session cookie (see
app/sessions.py), with a limit on repeated failures.

Failures are counted per presented token id (a well-formed token that is unknown, wrong or
revoked), and per client address only for tokens that are not even well-formed and for
session cookies that fail. A valid token or session is never refused because of failures,
its own id's or anyone else's: behind a reverse proxy every client shares one address, and
one client's typos must not lock the others out. Client addresses come from the socket, or
from X-Forwarded-For when LINEAGE_TRUSTED_PROXIES says how many proxies in front of Lineage
append to it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TypeVar

from flask import g, request

from app.context import services
from app.sessions import cookie_principal, session_token
from commands.users import Principal, authenticate, token_id_of
from events.errors import DomainError, Unauthorized

FAILURES_ALLOWED = 20
FAILURE_WINDOW_SECONDS = 60.0
MAX_TRACKED_KEYS = 100_000
"""Token ids and addresses remembered at most (the oldest are forgotten first), so a
client inventing token ids cannot grow the limiter without bound."""


class TooManyFailures(DomainError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


class FailureLimiter:
    """At most FAILURES_ALLOWED failed authentications per key (a token id or an address)
    per FAILURE_WINDOW_SECONDS."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def wait_seconds(self, key: str) -> int:
        """0 when ``key`` may try again now, else the seconds until it may (Retry-After)."""
        with self._lock:
            recent = self._recent(key)
            if len(recent) < FAILURES_ALLOWED:
                return 0
            oldest_that_counts = recent[-FAILURES_ALLOWED]
            return max(1, math.ceil(oldest_that_counts + FAILURE_WINDOW_SECONDS
                                    - time.monotonic()))

    def record(self, key: str) -> None:
        with self._lock:
            self._recent(key).append(time.monotonic())
            self._failures.move_to_end(key)
            while len(self._failures) > MAX_TRACKED_KEYS:
                self._failures.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()

    def _recent(self, key: str) -> deque[float]:
        recent = self._failures.setdefault(key, deque(maxlen=FAILURES_ALLOWED))
        cutoff = time.monotonic() - FAILURE_WINDOW_SECONDS
        while recent and recent[0] < cutoff:
            recent.popleft()
        return recent


limiter = FailureLimiter()
T = TypeVar("T")


def current_principal() -> Principal:
    """The caller of this request; raises Unauthorized without a valid bearer token or
    session cookie (a bearer header wins over a cookie) and TooManyFailures (429,
    Retry-After) for a failing key that failed too often."""
    cached = g.get("principal")
    if cached is not None:
        return cached
    header = request.headers.get("Authorization", "")
    client = client_address()
    if not header and session_token() is not None:
        # The studio's pages and widgets: a session cookie (changes need its CSRF token).
        g.principal = limited(f"address:{client}", cookie_principal)
        return g.principal
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send an API token as 'Authorization: Bearer <token>'")
    g.principal = authenticate_token(token.strip())
    return g.principal


def authenticate_token(token: str) -> Principal:
    """The person an API token stands for (also the studio's sign-in form); raises
    Unauthorized, or TooManyFailures when its key failed too often.

    A malformed token can never be valid: counted by client address and refused before
    any lookup. A well-formed one is looked up first, so a valid token always passes.
    """
    token_id = token_id_of(token)
    if token_id is None:
        return limited(f"address:{client_address()}",
                       lambda: authenticate(services().store, token), check_first=True)
    return limited(f"token:{token_id}", lambda: authenticate(services().store, token))


def limited(key: str, attempt: Callable[[], T], *, check_first: bool = False) -> T:
    """Run ``attempt()``; when it raises Unauthorized, count a failure under ``key`` and
    raise TooManyFailures instead if ``key`` had already failed too often. With
    ``check_first`` (keys that can never succeed) a key over the limit is refused before
    trying. A success is never refused, whatever failed before."""
    if check_first and (wait := limiter.wait_seconds(key)):
        raise _too_many(key, wait)
    try:
        return attempt()
    except Unauthorized:
        wait = limiter.wait_seconds(key)
        limiter.record(key)
        if wait:
            raise _too_many(key, wait) from None
        raise


def client_address() -> str:
    """The client's address (X-Forwarded-For only behind LINEAGE_TRUSTED_PROXIES)."""
    return request.remote_addr or "unknown"


def _too_many(key: str, wait: int) -> TooManyFailures:
    whose = "this token" if key.startswith("token:") else "this address"
    return TooManyFailures(f"too many failed authentications with {whose}; retry in {wait} s",
                           retry_after=wait)
