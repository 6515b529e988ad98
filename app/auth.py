"""Authentication for requests: a bearer token, or the studio's session cookie (see
app/sessions.py), with a limit on repeated failures."""

from __future__ import annotations

import threading
import time
from collections import deque

from flask import g, request

from app.context import services
from app.sessions import cookie_principal, session_token
from commands.people import Principal, authenticate
from events.errors import DomainError, Unauthorized

FAILURES_ALLOWED = 20
FAILURE_WINDOW_SECONDS = 60.0


class TooManyFailures(DomainError):
    status = 429
    title = "Too many requests"


class _FailureLimiter:
    """At most FAILURES_ALLOWED failed authentications per client address per window."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def check(self, client: str) -> None:
        with self._lock:
            recent = self._recent(client)
            if len(recent) >= FAILURES_ALLOWED:
                raise TooManyFailures(
                    "too many failed authentications from this address; wait a minute")

    def record(self, client: str) -> None:
        with self._lock:
            self._recent(client).append(time.monotonic())

    def _recent(self, client: str) -> deque[float]:
        recent = self._failures.setdefault(client, deque())
        cutoff = time.monotonic() - FAILURE_WINDOW_SECONDS
        while recent and recent[0] < cutoff:
            recent.popleft()
        return recent


limiter = _FailureLimiter()


def current_principal() -> Principal:
    """The caller of this request; raises Unauthorized without a valid bearer token or
    session cookie (a bearer header wins over a cookie)."""
    cached = g.get("principal")
    if cached is not None:
        return cached
    header = request.headers.get("Authorization", "")
    client = request.remote_addr or "unknown"
    if not header and session_token() is not None:
        # The studio's pages and widgets: a session cookie (changes need its CSRF token).
        limiter.check(client)
        try:
            principal = cookie_principal()
        except Unauthorized:
            limiter.record(client)
            raise
        g.principal = principal
        return principal
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send an API token as 'Authorization: Bearer <token>'")
    limiter.check(client)
    try:
        principal = authenticate(services().store, token.strip())
    except Unauthorized:
        limiter.record(client)
        raise
    g.principal = principal
    return principal
