"""The append-only event store: append with optimistic concurrency, read, idempotency.

One transaction per append: bump the one-row head counter (its row lock serialises
writers, so global positions are gap-free and follow commit order on SQLite and
PostgreSQL), check expected versions, insert rows extending the hash chain, commit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import DBAPIError

from events.chain import canonical_json, iso, record_hash
from events.errors import ConcurrencyError, DomainError, ServiceUnavailable
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
        self._sql = _Statements(self._sqlite)
        # SQLite admits one writer at a time; queueing this process's writers on a lock is
        # far cheaper than letting them poll SQLite's sleeping busy handler.
        self._write_lock = threading.Lock() if self._sqlite else contextlib.nullcontext()
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
        occurred_at = utc(meta.occurred_at) if meta.occurred_at else None
        try:
            recorded = self._append_locked(rows_by_stream, count, meta, occurred_at)
        except _Duplicate as dup:
            return self._read_range(dup.first, dup.last, meta.command_id)
        with self._appended:
            self._local_head = max(self._local_head, recorded[-1].position)
            self._appended.notify_all()
        return recorded

    @staticmethod
    def _serialise(evt: Event) -> tuple[Event, dict, str]:
        payload = encode(evt)
        try:
            payload_json = canonical_json(payload)
        except (TypeError, ValueError) as exc:
            raise DomainError(f"{evt.type_name} payload is not plain JSON: {exc}") from exc
        if "\\u0000" in payload_json and _has_nul(payload):
            raise DomainError(f"{evt.type_name} payload contains a NUL character")
        return evt, payload, payload_json

    def _append_locked(self, rows_by_stream, count, meta, occurred_at) -> list[Recorded]:
        sql = self._sql
        with self._raw_write() as cursor:
            cursor.execute(sql.bump_head, (count,))
            last, prev_hash, last_recorded = cursor.fetchone()
            if meta.command_id is not None:
                cursor.execute(sql.command_seen, (meta.command_id,))
                seen = cursor.fetchone()
                if seen is not None:
                    raise _Duplicate(seen[0], seen[1])
            recorded_at = max(datetime.now(UTC), _parse_time(last_recorded))
            # Without a client-given time, the event occurred when it was recorded.
            occurred_at = occurred_at or recorded_at
            db_occurred, db_recorded = self._db_time(occurred_at), self._db_time(recorded_at)
            times = (iso(occurred_at), iso(recorded_at))
            position = last - count
            params: list[tuple] = []
            recorded: list[Recorded] = []
            located: list[tuple[str, str]] = []
            for pending, serialised in rows_by_stream:
                version = self._check_version(cursor, pending)
                located += [(entity_id, pending.stream_id) for entity_id in pending.entity_ids]
                for evt, payload, payload_json in serialised:
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
                    row["hash"] = prev_hash = record_hash(prev_hash, row, payload_json, times)
                    params.append((
                        position, row["event_id"], pending.stream_id, pending.stream_type,
                        version, evt.type_name, evt.schema_version, payload_json,
                        meta.actor_id, meta.correlation_id, meta.causation_id,
                        meta.command_id, db_occurred, db_recorded, row["prev_hash"],
                        row["hash"]))
                    recorded.append(_recorded(row, evt))
            cursor.executemany(sql.insert_event, params)
            if located:
                cursor.executemany(sql.insert_entity, located)
            if meta.command_id is not None:
                cursor.execute(sql.insert_command, (meta.command_id, last - count + 1, last))
            cursor.execute(sql.update_head, (prev_hash, db_recorded))
        return recorded

    def _check_version(self, cursor, pending: StreamAppend) -> int:  # noqa: ANN001
        cursor.execute(self._sql.stream_version, (pending.stream_id,))
        current = cursor.fetchone()[0] or 0
        expected = pending.expected_version
        if expected != ANY and expected != current:
            raise ConcurrencyError(pending.stream_id, expected, current)
        return current

    @contextlib.contextmanager
    def _raw_write(self) -> Iterator:
        """A DBAPI cursor inside one write transaction (the append hot path skips the
        SQL expression layer: building statements cost more than running them)."""
        with self._write_lock, self._raw_connection() as connection:
            cursor = connection.cursor()
            if self._sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                if self._sqlite:
                    cursor.execute("ROLLBACK")
                else:
                    connection.rollback()
                raise
            if self._sqlite:
                cursor.execute("COMMIT")
            else:
                connection.commit()
            cursor.close()

    @contextlib.contextmanager
    def _raw_connection(self) -> Iterator:
        """A pooled DBAPI connection. A driver-level failure (server down, restarted,
        connection lost) discards the pool so the next call reconnects, and is raised as
        ServiceUnavailable: the HTTP layer answers 503 with Retry-After, workers retry."""
        dbapi = self.engine.dialect.loaded_dbapi
        try:
            connection = self.engine.raw_connection()
        except (DBAPIError, dbapi.Error) as exc:  # raw_connection raises the driver's own
            raise ServiceUnavailable(f"the database is unavailable ({_first_line(exc)})") from exc
        try:
            yield connection
        except (dbapi.OperationalError, dbapi.InterfaceError) as exc:
            connection.invalidate()
            if not self._sqlite:
                self.engine.dispose(close=False)
            raise ServiceUnavailable(f"the database is unavailable ({_first_line(exc)})") from exc
        finally:
            connection.close()

    def _raw_select(self, query: str, params: Sequence) -> list[tuple]:
        with self._raw_connection() as connection:
            cursor = connection.cursor()
            cursor.execute(query, params)
            rows = cursor.fetchall()
            cursor.close()
            if not self._sqlite:
                connection.rollback()
            return rows

    def _db_time(self, moment: datetime):  # noqa: ANN202
        # SQLite keeps SQLAlchemy's DateTime text form (naive UTC); PostgreSQL timestamptz.
        return moment.astimezone(UTC).strftime(_SQLITE_TIME) if self._sqlite else moment

    # -- reading ----------------------------------------------------------------------

    def read_stream(self, stream_id: str, *, up_to_version: int | None = None,
                    as_of: datetime | None = None) -> list[Recorded]:
        """The stream's events in version order, optionally up to a version or a time."""
        where, params = ["stream_id = ?"], [stream_id]
        if up_to_version is not None:
            where.append("stream_version <= ?")
            params.append(up_to_version)
        if as_of is not None:
            where.append("recorded_at <= ?")
            params.append(self._db_time(utc(as_of)))
        return self._select(where, params, "stream_version", None)

    def read_all(self, after: int = 0, limit: int = 1000, *,
                 event_types: Iterable[str] | None = None,
                 stream_types: Iterable[str] | None = None,
                 up_to: int | None = None) -> list[Recorded]:
        """Up to ``limit`` events with position > ``after`` in position order."""
        where, params = ["position > ?"], [after]
        if up_to is not None:
            where.append("position <= ?")
            params.append(up_to)
        for column, values in (("event_type", event_types), ("stream_type", stream_types)):
            if values is not None:
                values = list(values)
                if not values:
                    return []
                where.append(f"{column} IN ({', '.join('?' * len(values))})")
                params += values
        return self._select(where, params, "position", limit)

    def _select(self, where: list[str], params: list, order: str,
                limit: int | None) -> list[Recorded]:
        query = f"SELECT {_COLUMN_LIST} FROM events WHERE {' AND '.join(where)} ORDER BY {order}"
        if limit is not None:
            query += " LIMIT ?"
            params = [*params, limit]
        rows = self._raw_select(self._sql.adapt(query), params)
        if self._sqlite:
            return _decode_sqlite_rows(rows)
        return [decode_row(row) for row in rows]

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


def _recorded(row: dict, evt: Event) -> Recorded:
    return Recorded(
        row["position"], row["event_id"], row["stream_id"], row["stream_type"],
        row["stream_version"], row["event_type"], row["schema_version"], evt,
        row["actor_id"], row["correlation_id"], row["causation_id"], row["command_id"],
        row["occurred_at"], row["recorded_at"], row["prev_hash"], row["hash"],
    )


_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
_COLUMN_LIST = (
    "position, event_id, stream_id, stream_type, stream_version, event_type, schema_version,"
    " payload, actor_id, correlation_id, causation_id, command_id, occurred_at, recorded_at,"
    " prev_hash, hash"
)


class _Statements:
    """The append/read SQL for one backend (qmark for sqlite3, format for psycopg)."""

    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite
        payload = "?" if sqlite else "CAST(? AS jsonb)"
        self.bump_head = self.adapt(
            "UPDATE event_head SET position = position + ? WHERE id = 1 "
            "RETURNING position, hash, recorded_at")
        self.update_head = self.adapt(
            "UPDATE event_head SET hash = ?, recorded_at = ? WHERE id = 1")
        self.command_seen = self.adapt(
            "SELECT first_position, last_position FROM event_commands WHERE command_id = ?")
        self.stream_version = self.adapt(
            "SELECT max(stream_version) FROM events WHERE stream_id = ?")
        self.insert_event = self.adapt(
            f"INSERT INTO events ({_COLUMN_LIST}) VALUES "
            f"(?, ?, ?, ?, ?, ?, ?, {payload}, ?, ?, ?, ?, ?, ?, ?, ?)")
        self.insert_entity = self.adapt(
            "INSERT INTO entity_streams (entity_id, stream_id) VALUES (?, ?)")
        self.insert_command = self.adapt(
            "INSERT INTO event_commands (command_id, first_position, last_position) "
            "VALUES (?, ?, ?)")

    def adapt(self, query: str) -> str:
        return query if self.sqlite else query.replace("?", "%s")


def _parse_time(value) -> datetime:  # noqa: ANN001
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return utc(value)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _has_nul(value) -> bool:  # noqa: ANN001
    """PostgreSQL cannot store U+0000 in JSONB text, so no backend accepts it."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


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
        out.append(Recorded(
            position, event_id, stream_id, stream_type, stream_version, event_type,
            schema_version, decode(event_type, schema_version, _scan_json(payload, 0)[0]),
            actor_id, correlation_id, causation_id, command_id, occurred, recorded,
            prev_hash, hash_))
    return out


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
