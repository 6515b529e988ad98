"""The append-only event store: append with optimistic concurrency, read, idempotency.

One transaction per append: take the one-row head counter (its lock serialises writers,
so global positions are gap-free and follow commit order on SQLite and PostgreSQL), check
expected versions, insert rows extending the hash chain, commit (see events/append.py).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine, func, insert, select

from events import append as _append
from events.append import COLUMNS as _COLUMN_LIST
from events.append import Duplicate, new_event_ids, new_recorded
from events.chain import canonical_json
from events.db import pooled_connection
from events.errors import ConcurrencyError, DomainError, IdempotencyKeyReused
from events.group_commit import AppendRequest
from events.postgres_writer import PostgresWriter
from events.records import (  # re-exported: callers import the record types from here
    ANY,  # noqa: F401
    NO_STREAM,
    Metadata,
    Pending,
    Recorded,
    RequestFingerprint,  # noqa: F401
    StreamAppend,
)
from events.schema import GENESIS_HASH, entity_streams, event_commands, event_head, events
from events.types import Event, decode, encode

STREAMS_PER_QUERY = 500
"""Streams one :meth:`EventStore.read_streams` query names: well below the bound
parameters either backend accepts (SQLite's default is 32,766)."""


@dataclasses.dataclass(frozen=True)
class Head:
    position: int
    hash: str
    recorded_at: datetime


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime (SQLite hands back naive UTC values)."""
    tzinfo = moment.tzinfo
    if tzinfo is UTC:
        return moment
    if tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


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
        self._sql = _append.Statements(self._sqlite)
        self._writer = (_append.SqliteWriter if self._sqlite else PostgresWriter)(engine)
        self._integrity_error = engine.dialect.loaded_dbapi.IntegrityError
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
        pending = [Pending(a, [self._serialise(e) for e in a.events]) for a in appends]
        count = sum(len(p.events) for p in pending)
        if count == 0:
            return []
        occurred_at = utc(meta.occurred_at) if meta.occurred_at else None
        event_ids = new_event_ids(count)
        try:
            recorded = self._writer.group.submit(
                AppendRequest(pending, count, meta, occurred_at, event_ids))
        except Duplicate as dup:
            _refuse_other_request(meta.request, dup.route, dup.digest)
            return self._read_range(dup.first, dup.last, meta.command_id)
        except self._integrity_error as exc:
            self._raise_if_created_meanwhile(appends, exc)
            raise
        with self._appended:
            self._local_head = max(self._local_head, recorded[-1].position)
            self._appended.notify_all()
        return recorded

    def _raise_if_created_meanwhile(self, appends: Sequence[StreamAppend],
                                    exc: BaseException) -> None:
        """A stream created with NO_STREAM that already exists fails UNIQUE(stream_id,
        stream_version) instead of a version query: report it as that query would have."""
        for pending in appends:
            if pending.expected_version == NO_STREAM:
                current = self.stream_version(pending.stream_id)
                if current:
                    raise ConcurrencyError(pending.stream_id, NO_STREAM, current) from exc

    @staticmethod
    def _serialise(evt: Event) -> tuple[Event, str]:
        payload = encode(evt)
        try:
            payload_json = canonical_json(payload)
        except (TypeError, ValueError) as exc:
            raise DomainError(f"{evt.type_name} payload is not plain JSON: {exc}") from exc
        if "\\u0000" in payload_json and _has_nul(payload):
            raise DomainError(f"{evt.type_name} payload contains a NUL character")
        return evt, payload_json

    def _raw_select(self, query: str, params: Sequence) -> list[tuple]:
        with pooled_connection(self.engine) as connection:
            cursor = connection.cursor()
            cursor.execute(query, params)
            rows = cursor.fetchall()
            cursor.close()
            if not self._sqlite:
                connection.rollback()
            return rows

    def _db_time(self, moment: datetime):  # noqa: ANN202
        # SQLite keeps SQLAlchemy's DateTime text form (naive UTC); PostgreSQL timestamptz.
        if not self._sqlite:
            return moment
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    # -- reading ----------------------------------------------------------------------

    def read_stream(self, stream_id: str, *, from_version: int = 1,
                    up_to_version: int | None = None,
                    as_of: datetime | None = None) -> list[Recorded]:
        """The stream's events in version order, optionally from a version (a cached
        fold's tail), up to a version or up to a time."""
        where, params = ["stream_id = ?"], [stream_id]
        if from_version > 1:
            where.append("stream_version >= ?")
            params.append(from_version)
        self._cut(where, params, up_to_version, as_of)
        return self._select(where, params, "stream_version", None)

    def read_streams(self, stream_ids: Iterable[str], *, up_to_version: int | None = None,
                     as_of: datetime | None = None) -> list[Recorded]:
        """The events of several streams in position order (so each stream's in version
        order), each stream up to a version or a time as :meth:`read_stream` reads it.

        One query per :data:`STREAMS_PER_QUERY` streams instead of a round trip per
        stream: a request that walks many short streams (the jobs and users of a
        lineage chain) reads them together. Unknown streams add nothing."""
        wanted = list(dict.fromkeys(stream_ids))
        found: list[Recorded] = []
        for start in range(0, len(wanted), STREAMS_PER_QUERY):
            batch = wanted[start:start + STREAMS_PER_QUERY]
            where, params = [f"stream_id IN ({', '.join('?' * len(batch))})"], list(batch)
            self._cut(where, params, up_to_version, as_of)
            found += self._select(where, params, "position", None)
        if len(wanted) > STREAMS_PER_QUERY:
            found.sort(key=lambda recorded: recorded.position)
        return found

    def _cut(self, where: list[str], params: list, up_to_version: int | None,
             as_of: datetime | None) -> None:
        """Add a stream read's bounds (up to a version, up to a time) to its conditions,
        the same for one stream or several."""
        if up_to_version is not None:
            where.append("stream_version <= ?")
            params.append(up_to_version)
        if as_of is not None:
            where.append("recorded_at <= ?")
            params.append(self._db_time(utc(as_of)))

    def read_all(self, after: int = 0, limit: int = 1000, *,
                 event_types: Iterable[str] | None = None,
                 stream_types: Iterable[str] | None = None,
                 up_to: int | None = None) -> list[Recorded]:
        """Up to ``limit`` events with position > ``after`` in position order."""
        page = log_page(after, limit, event_types=event_types, stream_types=stream_types,
                        up_to=up_to)
        if page is None:
            return []
        return self._decoded(*page)

    def _select(self, where: list[str], params: list, order: str,
                limit: int | None) -> list[Recorded]:
        return self._decoded(*_select_sql(where, params, order, limit))

    def _decoded(self, query: str, params: list) -> list[Recorded]:
        return decode_rows(self._raw_select(self._sql.adapt(query), params), self._sqlite)

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

    def recorded_for_command(self, command_id: str,
                             request: RequestFingerprint | None = None,
                             ) -> list[Recorded] | None:
        """The events a command id produced, or None if it was never recorded.

        Raises IdempotencyKeyReused when the id was first recorded for a request other
        than ``request`` (a client reusing an Idempotency-Key)."""
        columns = event_commands.c
        with self.engine.connect() as conn:
            seen = conn.execute(
                select(columns.first_position, columns.last_position, columns.request_route,
                       columns.request_digest)
                .where(columns.command_id == command_id)).first()
        if seen is None:
            return None
        _refuse_other_request(request, seen[2], seen[3])
        return self._read_range(seen[0], seen[1], command_id)

    def _read_range(self, first: int, last: int, command_id: str | None) -> list[Recorded]:
        return self._select(["position >= ?", "position <= ?", "command_id = ?"],
                            [first, last, command_id], "position", None)

    # -- following --------------------------------------------------------------------

    def wait_for_append(self, after_position: int, timeout: float) -> None:
        """Block until this process appends past ``after_position`` or ``timeout`` passes.

        Appends by other processes are not signalled: callers re-read after the timeout.
        """
        with self._appended:
            if self._local_head <= after_position:
                self._appended.wait(timeout)


def _refuse_other_request(request: RequestFingerprint | None, first_route: str | None,
                          first_digest: str | None) -> None:
    """Raise IdempotencyKeyReused when a command id recorded with ``first_digest`` comes
    back with another request (ids recorded without a fingerprint are not compared)."""
    if request is not None and first_digest is not None and request.digest != first_digest:
        raise IdempotencyKeyReused(first_route)


def _has_nul(value) -> bool:  # noqa: ANN001
    """PostgreSQL cannot store U+0000 in JSONB text, so no backend accepts it."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def log_page(after: int, limit: int, *, event_types: Iterable[str] | None = None,
             stream_types: Iterable[str] | None = None, up_to: int | None = None,
             ) -> tuple[str, list] | None:
    """The query (``?`` placeholders) and parameters of :meth:`EventStore.read_all`'s page;
    None when an empty filter makes it empty."""
    where, params = ["position > ?"], [after]
    if up_to is not None:
        where.append("position <= ?")
        params.append(up_to)
    for column, values in (("event_type", event_types), ("stream_type", stream_types)):
        if values is not None:
            values = list(values)
            if not values:
                return None
            where.append(f"{column} IN ({', '.join('?' * len(values))})")
            params += values
    return _select_sql(where, params, "position", limit)


def _select_sql(where: list[str], params: list, order: str, limit: int | None,
                ) -> tuple[str, list]:
    query = f"SELECT {_COLUMN_LIST} FROM events WHERE {' AND '.join(where)} ORDER BY {order}"
    if limit is not None:
        query += " LIMIT ?"
        params = [*params, limit]
    return query, params


_fromisoformat = datetime.fromisoformat
_scan_json = json.JSONDecoder().scan_once  # the C scanner; stored payloads have no padding


def _decode_sqlite_rows(rows: list[tuple]) -> list[Recorded]:
    """Decode SQLite rows; times repeat within an append, so each text is parsed once."""
    out = []
    last_text, last_time = None, None
    for (position, event_id, stream_id, stream_type, stream_version, event_type,
         schema_version, payload, actor_id, correlation_id, causation_id, command_id,
         occurred_at, recorded_at, prev_hash, hash_) in rows:
        if recorded_at != last_text:
            last_text, last_time = recorded_at, _fromisoformat(recorded_at + "+00:00")
        recorded = last_time
        occurred = recorded if occurred_at == recorded_at else _fromisoformat(
            occurred_at + "+00:00")
        out.append(new_recorded(Recorded, (
            position, event_id, stream_id, stream_type, stream_version, event_type,
            schema_version, decode(event_type, schema_version, _scan_json(payload, 0)[0]),
            actor_id, correlation_id, causation_id, command_id, occurred, recorded,
            prev_hash, hash_)))
    return out


def decode_rows(rows: list, sqlite: bool) -> list[Recorded]:
    """Plain driver rows of ``events`` in column order, decoded: SQLite's text payloads
    and times, or psycopg's parsed ones."""
    if sqlite:
        return _decode_sqlite_rows(rows)
    return [decode_row(row) for row in rows]


def decode_row(row) -> Recorded:  # noqa: ANN001
    """A row of ``events`` in column order whose payload is already parsed and whose
    times are datetimes (psycopg rows, SQLAlchemy Core rows on either backend)."""
    (position, event_id, stream_id, stream_type, stream_version, event_type, schema_version,
     payload, actor_id, correlation_id, causation_id, command_id, occurred_at, recorded_at,
     prev_hash, hash_) = row
    return Recorded(
        position, event_id, stream_id, stream_type, stream_version, event_type,
        schema_version, decode(event_type, schema_version, payload), actor_id,
        correlation_id, causation_id, command_id, utc(occurred_at), utc(recorded_at),
        prev_hash, hash_,
    )
