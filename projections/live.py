"""The live event feed behind ``GET /api/events/stream`` (Server-Sent Events).

Each event's SSE ``id`` is its global position; resuming after ``Last-Event-ID`` reads
``position > id`` from the log, so a reconnect gets every event exactly once. Only
events of the requested project are sent (user and token streams belong to none), and
the feed ends when the caller stops being a member.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from events.store import EventStore, Recorded
from events.types import encode
from projections.scopes import CACHE_LIMIT, stream_kind

PAGE = 200
POLL_SECONDS = 0.25
"""Appends by other processes are not signalled in-process: re-read at least this often."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class FeedOptions:
    after: int
    heartbeat_seconds: float = 15.0
    max_seconds: float = 300.0
    limit: int | None = None


class StreamProjects:
    """Which project a stream belongs to, from the stream's first event (cached)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._known: dict[str, str | None] = {}

    def project_of(self, stream_id: str) -> str | None:
        kind = stream_kind(stream_id)
        if kind == "project":
            return stream_id.split("-", 1)[1]
        if kind not in ("asset", "job", "template", "guestlink"):
            return None
        if stream_id not in self._known:
            first = self.store.read_stream(stream_id, up_to_version=1)
            project = getattr(first[0].event, "project_id", None) if first else None
            if project is None:
                return None
            if len(self._known) > CACHE_LIMIT:
                self._known.clear()
            self._known[stream_id] = project
        return self._known[stream_id]


def sse_message(recorded: Recorded) -> str:
    """One SSE message: ``id`` the position, ``event`` the type, ``data`` JSON."""
    data = {
        "position": recorded.position, "event_id": recorded.event_id,
        "stream_id": recorded.stream_id, "stream_version": recorded.stream_version,
        "event_type": recorded.event_type, "actor_id": recorded.actor_id,
        "recorded_at": recorded.recorded_at.isoformat(), "data": _payload(recorded),
    }
    return (f"id: {recorded.position}\nevent: {recorded.event_type}\n"
            f"data: {json.dumps(data, separators=(',', ':'))}\n\n")


def _payload(recorded: Recorded) -> Any:
    try:
        return encode(recorded.event)
    except TypeError:  # an event type this code does not know
        return getattr(recorded.event, "payload", None)


def project_feed(store: EventStore, project_id: str, user_id: str, options: FeedOptions, *,
                 still_member: Callable[[], bool]) -> Iterator[str]:
    """SSE text for the project's events after ``options.after``, live, until
    ``max_seconds`` or ``limit`` events, or the caller leaves the project.

    Heartbeat comments keep idle connections (and proxies) alive.
    """
    projects = StreamProjects(store)
    started = last_sent = time.monotonic()
    after, sent = options.after, 0
    yield "retry: 1000\n\n"
    while True:
        batch = store.read_all(after, PAGE)
        for recorded in batch:
            after = recorded.position
            if projects.project_of(recorded.stream_id) != project_id:
                continue
            yield sse_message(recorded)
            sent += 1
            last_sent = time.monotonic()
            if options.limit is not None and sent >= options.limit:
                return
            if recorded.event_type == "project.member_removed" \
                    and recorded.event.user_id == user_id and not still_member():
                yield "event: end\ndata: {\"reason\":\"no longer a member\"}\n\n"
                return
        now = time.monotonic()
        if now - started >= options.max_seconds:
            return
        if len(batch) == PAGE:
            continue
        if now - last_sent >= options.heartbeat_seconds:
            yield f": heartbeat {after}\n\n"
            last_sent = now
        wait = min(POLL_SECONDS, options.heartbeat_seconds,
                   options.max_seconds - (now - started))
        store.wait_for_append(after, max(wait, 0.0))
