"""The record types of the event store: what an append is handed (:class:`StreamAppend`,
:class:`Metadata`) and what it and every read hand back (:class:`Recorded`).

Their own module so the store, the append path and group commit all import them from
here, and none of those three imports another to learn a type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from events.types import Event

ANY = -1
"""Expected version: append whatever the stream's version is."""
NO_STREAM = 0
"""Expected version: the stream must not exist yet."""


class RequestFingerprint(NamedTuple):
    """The request that carried a command id: ``route`` names it ("POST /api/…") and
    ``digest`` is the SHA-256 of everything that makes it this request (method, path,
    query, canonical body, uploaded files' hashes)."""

    route: str
    digest: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class Metadata:
    """Who and why: recorded on every event of one append. ``request`` is kept beside the
    command id (not in the events): a repeat of the id must be the same request."""

    actor_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    command_id: str | None = None
    occurred_at: datetime | None = None
    request: RequestFingerprint | None = None


class Recorded(NamedTuple):
    """An event as stored: its global position, stream version, metadata and hashes.

    A named tuple rather than a dataclass: reads build hundreds of thousands per second.
    """

    position: int
    event_id: str
    stream_id: str
    stream_type: str
    stream_version: int
    event_type: str
    schema_version: int
    event: Event
    actor_id: str | None
    correlation_id: str | None
    causation_id: str | None
    command_id: str | None
    occurred_at: datetime
    recorded_at: datetime
    prev_hash: str
    hash: str


@dataclasses.dataclass(frozen=True)
class StreamAppend:
    """One stream's share of an (atomic, possibly multi-stream) append."""

    stream_id: str
    stream_type: str
    expected_version: int
    events: Sequence[Event]
    entity_ids: Sequence[str] = ()
    """Ids of entities created in this stream (versions, comments…), for :meth:`locate`."""


class Pending(NamedTuple):
    """One stream's share of an append, serialised before the write lock is taken."""

    stream: StreamAppend
    events: list[tuple[Event, str]]
    """Each event with its payload's canonical JSON."""
