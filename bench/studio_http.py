"""The load driver's HTTP side: a keep-alive client per simulated user that records every
attempt (route template, status, latency) and every accepted write (its Idempotency-Key
and response), and a pacer that holds all users together to one offered request rate.

A write that meets a network error or a 502/503/504 is sent again with the SAME
Idempotency-Key (honouring Retry-After), which is exactly what the key exists for: the
checker then proves the log holds it once.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import threading
import time
import uuid
from typing import Any

RETRYABLE_STATUS = (502, 503, 504)
# A lost optimistic-concurrency race on a write without If-Match: the server re-planned
# several times and gave up; a client sends the same request (same key) again.
STALE = "stale-version"
KEEP_READ_ERRORS = 200
MAX_ATTEMPTS = 5
TIMEOUT_SECONDS = 30.0
# gunicorn runs with --keep-alive 10; reconnecting a little before it closes an idle
# connection avoids sending a request into a socket the server is closing.
IDLE_RECONNECT_SECONDS = 8.0


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One HTTP attempt: ``status`` 0 means a network error or timeout."""

    phase: str
    route: str
    method: str
    status: int
    ms: float
    finished: float
    """Seconds since the recorder's start."""
    attempt: int
    user: str


@dataclasses.dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Recorder:
    """Thread-safe log of attempts, accepted writes, refused writes and projection lag
    seen by readers. ``list.append`` is atomic in CPython, so no lock is needed."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.attempts: list[Attempt] = []
        self.accepted: list[dict[str, Any]] = []
        self.refused: list[dict[str, Any]] = []
        self.read_behind: list[int] = []
        self.read_errors: list[dict[str, Any]] = []

    def now(self) -> float:
        return time.monotonic() - self.started


class Pacer:
    """Hands out request slots ``1/rate`` seconds apart across all threads (an offered
    load that does not slow down when the server does, up to the users' concurrency)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        delay = slot - time.monotonic()
        if delay > 0:
            time.sleep(delay)


class Client:
    """One user's API client: a persistent loopback connection and their bearer token."""

    def __init__(self, host: str, port: int, recorder: Recorder, *, token: str = "",
                 user_id: str = "", name: str = "") -> None:
        self.host, self.port = host, port
        self.recorder = recorder
        self.token = token
        self.user_id = user_id
        self.name = name or user_id
        self.phase = "setup"
        self._conn: http.client.HTTPConnection | None = None
        self._last_used = 0.0

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def get(self, path: str, route: str) -> Reply:
        reply = self._send("GET", path, route, None, {})
        if not reply.ok and len(self.recorder.read_errors) < KEEP_READ_ERRORS:
            self.recorder.read_errors.append({"route": route, "path": path,
                                              "status": reply.status, "problem": reply.body})
        behind = reply.header("Lineage-Projection-Behind")
        if behind is not None and behind.isdigit():
            self.recorder.read_behind.append(int(behind))
        return reply

    def write(self, method: str, path: str, route: str, body: dict[str, Any] | None = None,
              ) -> Reply:
        """Send a write with a fresh Idempotency-Key; retry transient failures with the
        same key. Records the key and the response when it was accepted (2xx)."""
        key = uuid.uuid4().hex
        headers = {"Idempotency-Key": key}
        definite_refusal = True
        for attempt in range(1, MAX_ATTEMPTS + 1):
            reply = self._send(method, path, route, body, headers, attempt)
            if reply.status == 0 or reply.status in RETRYABLE_STATUS:
                definite_refusal = False
            elif not _lost_race(reply):
                break
            if attempt < MAX_ATTEMPTS:
                time.sleep(_retry_delay(reply, attempt))
        record = {"route": route, "method": method, "path": path, "key": key,
                  "user_id": self.user_id, "status": reply.status, "phase": self.phase}
        if reply.ok:
            record.update(body=reply.body, position=reply.header("Lineage-Position"))
            self.recorder.accepted.append(record)
        else:
            # "definite": every attempt got an answer that says nothing was written.
            record.update(definite=definite_refusal and reply.status != 500,
                          problem=reply.body if isinstance(reply.body, dict) else None)
            self.recorder.refused.append(record)
        return reply

    def _send(self, method: str, path: str, route: str, body: dict[str, Any] | None,
              extra: dict[str, str], attempt: int = 1) -> Reply:
        headers = {"Accept": "application/json", **extra}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            conn = self._connection()
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            reply = Reply(response.status, _decode(raw),
                          {k.lower(): v for k, v in response.getheaders()})
            if response.will_close:
                self.close()
        except (OSError, http.client.HTTPException):
            self.close()
            reply = Reply(0, None, {})
        elapsed_ms = (time.perf_counter() - started) * 1000
        self._last_used = time.monotonic()
        self.recorder.attempts.append(Attempt(self.phase, route, method, reply.status,
                                              elapsed_ms, self.recorder.now(), attempt,
                                              self.name))
        return reply

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is not None and time.monotonic() - self._last_used > IDLE_RECONNECT_SECONDS:
            self.close()
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port,
                                                    timeout=TIMEOUT_SECONDS)
        return self._conn


def _decode(raw: bytes) -> Any:  # noqa: ANN401 - JSON of any shape
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _lost_race(reply: Reply) -> bool:
    return reply.status == 409 and isinstance(reply.body, dict) and \
        str(reply.body.get("type", "")).endswith(STALE)


def _retry_delay(reply: Reply, attempt: int) -> float:
    after = reply.header("Retry-After")
    if after and after.isdigit():
        return min(float(after), 5.0)
    return min(0.2 * 2 ** (attempt - 1), 3.0)
