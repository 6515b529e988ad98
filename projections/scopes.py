"""Which project a stream belongs to, read from the stream's first event.

The first event of an asset, job, template or guest link stream names its project and never changes,
so the answer is cached for good. User and token streams belong to no project.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from events.schema import events

_PROJECT_OF_FIRST_EVENT = ("asset", "job", "template", "guestlink")
CACHE_LIMIT = 200_000


def entity_id(stream_id: str) -> str:
    """``asset-<uuid>`` → ``<uuid>``."""
    return stream_id.split("-", 1)[1] if "-" in stream_id else stream_id


def stream_kind(stream_id: str) -> str:
    return stream_id.split("-", 1)[0]


def project_of_stream(ctx: Any, stream_id: str, first: Any = None) -> str | None:  # noqa: ANN401
    """The project id owning ``stream_id``, or None (users, tokens, unknown streams).

    ``ctx`` is the runner's ApplyContext: its cache remembers answers; the lookup reads
    the immutable ``events`` table, so it needs no flush of buffered writes. ``first``
    is the stream's first event when the caller holds it (no lookup needed then).
    """
    kind = stream_kind(stream_id)
    project = getattr(first, "project_id", None)
    if project is not None and kind in _PROJECT_OF_FIRST_EVENT:
        ctx.cache["project-of:" + stream_id] = project
        return project
    if kind == "project":
        return entity_id(stream_id)
    if kind not in _PROJECT_OF_FIRST_EVENT:
        return None
    key = "project-of:" + stream_id
    cache = ctx.cache
    if key not in cache:
        payload = ctx.log_conn.execute(select(events.c.payload).where(
            events.c.stream_id == stream_id, events.c.stream_version == 1)).scalar()
        project = payload.get("project_id") if isinstance(payload, dict) else None
        if project is None:
            return None  # not written yet: do not cache a miss
        if len(cache) > CACHE_LIMIT:
            cache.clear()  # crude bound: misses only cost a lookup
        cache[key] = project
    return cache[key]
