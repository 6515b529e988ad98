"""The append-only event store: append with optimistic concurrency, read, idempotency.

One transaction per append: bump the one-row head counter (its row lock serialises
writers, so global positions are gap-free and follow commit order on SQLite and
PostgreSQL), check expected versions, insert rows extending the hash chain, commit.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine, and_, func, insert, select, update

from events.chain import canonical_json, record_hash
from events.db import write_transaction
from events.errors import ConcurrencyError, DomainError
from events.schema import GENESIS_HASH, entity_streams, event_commands, event_head, events
from events.types import Event, decode, encode

ANY = -1
"""Expected version: append whatever the stream's version is."""
NO_STREAM = 0
"""Expected version: the stream must not exist yet."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Metadata:
    """Who and why: recorded on every event of one append."""

    actor_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    command_id: str | None = None
    occurred_at: datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Recorded:
    """An event as stored: its global position, stream version, metadata and hashes."""

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


@dataclasses.dataclass(frozen=True)
class Head:
    position: int
    hash: str
    recorded_at: datetime


class _Duplicate(Exception):
    def __init__(self, first: int, last: int) -> None:
        self.first, self.last = first, last


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime (SQLite hands back naive UTC values)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def utc_naive(moment: datetime) -> datetime:
    """The same instant as a naive UTC datetime, for binding parameters on SQLite."""
    return utc(moment).replace(tzinfo=None)


_COLUMNS = (
    events.c.position, events.c.event_id, events.c.stream_id, events.c.stream_type,
    events.c.stream_version, events.c.event_type, events.c.schema_version, events.c.payload,
    events.c.actor_id, events.c.correlation_id, events.c.causation_id, events.c.command_id,
    events.c.occurred_at, events.c.recorded_at, events.c.prev_hash, events.c.hash,
)


def ensure_head(conn) -> None:  # noqa: ANN001
    """Insert the head row of an empty store (migrations and test fixtures call this)."""
    if conn.execute(select(event_head.c.id)).first() is None:
        conn.execute(insert(event_head).values(
            id=1, position=0, hash=GENESIS_HASH, recorded_at=datetime(1970, 1, 1)))


class EventStore:
    """Append to and read from the ``events`` table of one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._appended = threading.Condition()
        self._local_head = 0

    # -- writing ----------------------------------------------------------------------

    def append(
        self,
        stream_id: str,
        expected_version: int,
        new_events: Sequence[Event],
        meta: Metadata = Metadata(),
        *,
        stream_type: str,
    ) -> list[Recorded]:
        """Append events to one stream; see :meth:`append_streams`."""
        return self.append_streams(
            [StreamAppend(stream_id, stream_type, expected_version, new_events)], meta)

    def append_streams(self, appends: Sequence[StreamAppend], meta: Metadata = Metadata(),
                       ) -> list[Recorded]:
        """Append to one or more streams in one transaction.

        Returns the recorded events in position order. Raises ConcurrencyError when a
        stream's version is not the expected one. When ``meta.command_id`` was already
        recorded, nothing is appended and the first append's events are returned.
        """
        rows_by_stream = [(a, [self._serialise(e) for e in a.events]) for a in appends]
        count = sum(len(rows) for _, rows in rows_by_stream)
        if count == 0:
            return []
        occurred_at = utc(meta.occurred_at) if meta.occurred_at else datetime.now(UTC)
        try:
            recorded = self._append_locked(rows_by_stream, count, meta, occurred_at)
        except _Duplicate as dup:
            return self._read_range(dup.first, dup.last, meta.command_id)
        with self._appended:
            self._local_head = max(self._local_head, recorded[-1].position)
            self._appended.notify_all()
        return recorded

    @staticmethod
    def _serialise(evt: Event) -> tuple[Event, dict]:
        payload = encode(evt)
        try:
            canonical_json(payload)
        except (TypeError, ValueError) as exc:
            raise DomainError(f"{evt.type_name} payload is not plain JSON: {exc}") from exc
        return evt, payload

    def _append_locked(self, rows_by_stream, count, meta, occurred_at) -> list[Recorded]:
        with write_transaction(self.engine) as conn:
            last, prev_hash, last_recorded = conn.execute(
                update(event_head).where(event_head.c.id == 1)
                .values(position=event_head.c.position + count)
                .returning(event_head.c.position, event_head.c.hash,
                           event_head.c.recorded_at)
            ).one()
            if meta.command_id is not None:
                seen = conn.execute(
                    select(event_commands.c.first_position, event_commands.c.last_position)
                    .where(event_commands.c.command_id == meta.command_id)).first()
                if seen is not None:
                    raise _Duplicate(seen[0], seen[1])
            recorded_at = max(datetime.now(UTC), utc(last_recorded))
            position = last - count
            rows: list[dict] = []
            recorded: list[Recorded] = []
            for pending, serialised in rows_by_stream:
                version = self._check_version(conn, pending)
                for evt, payload in serialised:
                    position += 1
                    version += 1
                    row = {
                        "position": position, "event_id": str(uuid.uuid4()),
                        "stream_id": pending.stream_id, "stream_type": pending.stream_type,
                        "stream_version": version, "event_type": evt.type_name,
                        "schema_version": evt.schema_version, "payload": payload,
                        "actor_id": meta.actor_id, "correlation_id": meta.correlation_id,
                        "causation_id": meta.causation_id, "command_id": meta.command_id,
                        "occurred_at": occurred_at, "recorded_at": recorded_at,
                    }
                    row["prev_hash"] = prev_hash
                    row["hash"] = prev_hash = record_hash(prev_hash, row)
                    rows.append(row)
                    recorded.append(_recorded(row, evt))
            if self._sqlite:
                for row in rows:
                    row["occurred_at"] = utc_naive(occurred_at)
                    row["recorded_at"] = utc_naive(recorded_at)
            conn.execute(insert(events), rows)
            located = [{"entity_id": entity_id, "stream_id": pending.stream_id}
                       for pending, _ in rows_by_stream for entity_id in pending.entity_ids]
            if located:
                conn.execute(insert(entity_streams), located)
            if meta.command_id is not None:
                conn.execute(insert(event_commands).values(
                    command_id=meta.command_id, first_position=last - count + 1,
                    last_position=last))
            conn.execute(update(event_head).where(event_head.c.id == 1)
                         .values(hash=prev_hash, recorded_at=recorded_at))
        return recorded

    @staticmethod
    def _check_version(conn, pending: StreamAppend) -> int:  # noqa: ANN001
        current = conn.execute(
            select(func.max(events.c.stream_version))
            .where(events.c.stream_id == pending.stream_id)).scalar() or 0
        expected = pending.expected_version
        if expected != ANY and expected != current:
            raise ConcurrencyError(pending.stream_id, expected, current)
        return current

    # -- reading ----------------------------------------------------------------------

    def read_stream(self, stream_id: str, *, up_to_version: int | None = None,
                    as_of: datetime | None = None) -> list[Recorded]:
        """The stream's events in version order, optionally up to a version or a time."""
        query = select(*_COLUMNS).where(events.c.stream_id == stream_id)
        if up_to_version is not None:
            query = query.where(events.c.stream_version <= up_to_version)
        if as_of is not None:
            query = query.where(events.c.recorded_at <= self._bind_time(as_of))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(events.c.stream_version)).all()
        return [_decode_row(row) for row in rows]

    def read_all(self, after: int = 0, limit: int = 1000, *,
                 event_types: Iterable[str] | None = None,
                 stream_types: Iterable[str] | None = None,
                 up_to: int | None = None) -> list[Recorded]:
        """Up to ``limit`` events with position > ``after`` in position order."""
        query = select(*_COLUMNS).where(events.c.position > after)
        if up_to is not None:
            query = query.where(events.c.position <= up_to)
        if event_types is not None:
            query = query.where(events.c.event_type.in_(list(event_types)))
        if stream_types is not None:
            query = query.where(events.c.stream_type.in_(list(stream_types)))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(events.c.position).limit(limit)).all()
        return [_decode_row(row) for row in rows]

    def iter_all(self, after: int = 0, page: int = 5000, **filters) -> Iterator[Recorded]:
        """Every event after ``after``, fetched page by page."""
        while True:
            batch = self.read_all(after, page, **filters)
            yield from batch
            if len(batch) < page:
                return
            after = batch[-1].position

    def stream_version(self, stream_id: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.max(events.c.stream_version))
                .where(events.c.stream_id == stream_id)).scalar() or 0

    def locate(self, entity_id: str) -> str | None:
        """The stream that owns an entity registered through ``StreamAppend.entity_ids``."""
        with self.engine.connect() as conn:
            return conn.execute(select(entity_streams.c.stream_id)
                                .where(entity_streams.c.entity_id == entity_id)).scalar()

    def head(self) -> Head:
        with self.engine.connect() as conn:
            position, hash_, recorded_at = conn.execute(
                select(event_head.c.position, event_head.c.hash, event_head.c.recorded_at)
            ).one()
        return Head(position, hash_, utc(recorded_at))

    def recorded_for_command(self, command_id: str) -> list[Recorded] | None:
        """The events a command id produced, or None if it was never recorded."""
        with self.engine.connect() as conn:
            seen = conn.execute(
                select(event_commands.c.first_position, event_commands.c.last_position)
                .where(event_commands.c.command_id == command_id)).first()
        if seen is None:
            return None
        return self._read_range(seen[0], seen[1], command_id)

    def _read_range(self, first: int, last: int, command_id: str | None) -> list[Recorded]:
        query = select(*_COLUMNS).where(and_(events.c.position >= first,
                                             events.c.position <= last,
                                             events.c.command_id == command_id))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(events.c.position)).all()
        return [_decode_row(row) for row in rows]

    def _bind_time(self, moment: datetime) -> datetime:
        return utc_naive(moment) if self._sqlite else utc(moment)

    # -- following --------------------------------------------------------------------

    def wait_for_append(self, after_position: int, timeout: float) -> None:
        """Block until this process appends past ``after_position`` or ``timeout`` passes.

        Appends by other processes are not signalled: callers re-read after the timeout.
        """
        with self._appended:
            if self._local_head <= after_position:
                self._appended.wait(timeout)


def _recorded(row: dict, evt: Event) -> Recorded:
    return Recorded(
        row["position"], row["event_id"], row["stream_id"], row["stream_type"],
        row["stream_version"], row["event_type"], row["schema_version"], evt,
        row["actor_id"], row["correlation_id"], row["causation_id"], row["command_id"],
        row["occurred_at"], row["recorded_at"], row["prev_hash"], row["hash"],
    )


def _decode_row(row) -> Recorded:  # noqa: ANN001
    (position, event_id, stream_id, stream_type, stream_version, event_type, schema_version,
     payload, actor_id, correlation_id, causation_id, command_id, occurred_at, recorded_at,
     prev_hash, hash_) = row
    return Recorded(
        position, event_id, stream_id, stream_type, stream_version, event_type,
        schema_version, decode(event_type, schema_version, payload), actor_id,
        correlation_id, causation_id, command_id, utc(occurred_at), utc(recorded_at),
        prev_hash, hash_,
    )
