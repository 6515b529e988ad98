"""Fold helpers and the one impure step every write command shares.

A command handler gives :func:`execute` a ``plan`` function that loads (folds) the
streams it needs, checks access and decides; ``execute`` appends what the plan returns
with optimistic concurrency and retries a lost race a bounded number of times.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from random import uniform
from time import sleep
from typing import TypeVar

from events.errors import ConcurrencyError, Conflict, IdempotencyKeyReused, NotFound
from events.store import ANY, EventStore, Metadata, Recorded, StreamAppend
from events.types import Event

S = TypeVar("S")
E = TypeVar("E", bound=Event)

MAX_ATTEMPTS = 8
"""Appends tried per command when no If-Match pinned the version (lost races only)."""
BACKOFF_SECONDS = 0.002
"""Before re-planning attempt n, wait a random time up to BACKOFF_SECONDS * 2**n: writers
that lost the same race spread out instead of colliding again at once."""

Apply = Callable[[S, Event, datetime | None], None]


def fold(store: EventStore, stream: str, initial: S, apply: Apply, *,
         up_to_version: int | None = None, as_of: datetime | None = None) -> tuple[S, int]:
    """Fold a stream into ``initial`` (mutated in place by ``apply``).

    Returns the state and the stream version it reflects (0 for a missing stream).
    """
    version = 0
    for recorded in store.read_stream(stream, up_to_version=up_to_version, as_of=as_of):
        apply(initial, recorded.event, recorded.recorded_at)
        version = recorded.stream_version
    return initial, version


def expected(if_match: int, folded_version: int) -> int:
    """The version to append at: the client's If-Match when given, else the folded one."""
    return folded_version if if_match == ANY else if_match


def execute(store: EventStore, meta: Metadata, plan: Callable[[], Sequence[StreamAppend]],
            *, if_match: int = ANY) -> list[Recorded]:
    """Run ``plan`` and append its result atomically; return the recorded events.

    A command id seen before returns the first append's events without planning again,
    so a repeated Idempotency-Key gets the first answer even if the decision would now
    fail. A lost race re-plans (the decision may have changed) after a short jittered
    wait, up to MAX_ATTEMPTS times, unless ``if_match`` pinned the version, where the race
    is the client's answer.
    An empty plan appends nothing and returns []. Raises what ``plan`` raises and
    ConcurrencyError.
    """
    if meta.command_id is not None:
        prior = store.recorded_for_command(meta.command_id, meta.request)
        if prior is not None:
            return prior
    attempts = 1 if if_match != ANY else MAX_ATTEMPTS
    for attempt in range(1, attempts + 1):
        appends = plan()
        if not any(a.events for a in appends):
            return []
        try:
            return store.append_streams(appends, meta)
        except ConcurrencyError:
            if attempt == attempts:
                raise
            sleep(uniform(0, BACKOFF_SECONDS * 2 ** attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def first_of(recorded: Sequence[Recorded], event_type: type[E]) -> tuple[Recorded, E]:
    """The first recorded event of ``event_type``.

    Raises Conflict when there is none: the command id was first used for another
    kind of request (a client reusing an Idempotency-Key across endpoints).
    """
    for item in recorded:
        if isinstance(item.event, event_type):
            return item, item.event
    raise key_reused()


def ensure_same_request(recorded: Sequence[Recorded], stream: str,
                        *event_types: type[Event]) -> None:
    """Raise Conflict unless ``recorded`` (possibly a repeat's events) is empty or holds an
    event of one of ``event_types`` on ``stream``: a reused Idempotency-Key."""
    if recorded and not any(r.stream_id == stream and isinstance(r.event, event_types)
                            for r in recorded):
        raise key_reused()


def key_reused() -> Conflict:
    """The refusal of an Idempotency-Key first used for a different request (one recorded
    without a request fingerprint; the store refuses the others, naming the first)."""
    return IdempotencyKeyReused()


def all_of(recorded: Sequence[Recorded], event_type: type[E]) -> list[E]:
    return [r.event for r in recorded if isinstance(r.event, event_type)]


def new_id() -> str:
    return str(uuid.uuid4())


def parse_id(value: str, what: str) -> str:
    """A canonical UUID string; NotFound for anything else (no such entity can exist)."""
    try:
        parsed = uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise NotFound(f"{what} {value[:80]!r} does not exist") from None
    return str(parsed)
