"""The append transaction: take the head, check versions, insert rows extending the chain.

Everything that does not depend on the head (payload JSON, event ids) is computed by the
caller before the write lock; under it, each backend spends as little as it can:

- SQLite: one long-lived write connection per store (writers of this process already queue
  on one lock, so a pool checkout per append bought nothing and cost a cold page cache
  whenever another pooled connection had written last), five statements for a plain append.
- PostgreSQL (events/postgres_writer.py): one round trip after the head the store knows,
  else two in pipeline mode (lock and read the head; insert, move the head and commit),
  plus the commit's WAL flush.

Creating a stream (``NO_STREAM``) needs no version query: its first event is version 1, and
UNIQUE(stream_id, stream_version) refuses it if the stream exists; that refusal is turned
into the same ConcurrencyError the query would have raised.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Engine, event

from events.chain import append_hasher, iso
from events.db import pooled_connection, sqlite_synchronous, unavailable
from events.errors import ConcurrencyError
from events.group_commit import AppendRequest, GroupCommit
from events.records import ANY, NO_STREAM, Metadata, Pending, Recorded, StreamAppend
from events.wal import BACKSTOP_PAGES, WalCheckpointer


class Duplicate(Exception):
    """The append's command id was recorded before, at these positions, by the request
    ``route`` whose fingerprint was ``digest`` (both None for commands without one)."""

    def __init__(self, first: int, last: int, route: str | None = None,
                 digest: str | None = None) -> None:
        self.first, self.last = first, last
        self.route, self.digest = route, digest


_MASK_62 = (1 << 62) - 1


def new_event_ids(count: int) -> list[str]:
    """``count`` time-ordered UUIDs (RFC 9562 version 7: 48-bit Unix milliseconds, then
    74 random bits; the events of one append count up from one random draw), so ids sort
    in the order events were appended. Nothing but this function makes event ids, and 74
    random bits per append keep them unique without an index (migration 0016 dropped it).
    """
    draw = int.from_bytes(os.urandom(10), "big")
    high = (((time.time_ns() // 1_000_000) << 80) | (0x7 << 76) | ((draw >> 68) << 64)
            | (0b10 << 62))  # the 48-bit time, the version, 12 random bits, the variant
    low = draw & _MASK_62
    ids = []
    for k in range(count):
        h = f"{high | ((low + k) & _MASK_62):032x}"
        ids.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return ids


new_recorded = tuple.__new__
"""``new_recorded(Recorded, values)``: a Recorded without its generated ``__new__``'s
Python call (a third of building one); ``values`` must hold all sixteen fields."""


class Built(NamedTuple):
    params: list[tuple]
    recorded: list[Recorded]
    last_hash: str
    db_recorded_at: object


def build_rows(head: tuple, pending: Sequence[Pending], versions: Sequence[int], meta: Metadata,
               occurred_at: datetime | None, event_ids: Sequence[str], sqlite: bool) -> Built:
    """The insert parameters and Recorded events of an append after head ``(position, hash,
    recorded_at)``, with each stream continuing from its version in ``versions``."""

    position, prev_hash, last_recorded = head
    recorded_at, last = datetime.now(UTC), _parse_time(last_recorded)
    if recorded_at < last:
        recorded_at = last
    recorded_iso = recorded_at.isoformat(timespec="microseconds")  # iso() of a UTC time
    if occurred_at is None:  # without a client-given time, it occurred when recorded
        occurred_at, occurred_iso = recorded_at, recorded_iso
    else:
        occurred_iso = iso(occurred_at)
    if sqlite:  # SQLAlchemy's DateTime text form (naive UTC) from the same ISO text
        db_recorded = recorded_iso[:10] + " " + recorded_iso[11:26]
        db_occurred = (db_recorded if occurred_iso is recorded_iso
                       else occurred_iso[:10] + " " + occurred_iso[11:26])
    else:
        db_occurred, db_recorded = occurred_at, recorded_at
    actor, correlation, causation, command = (
        meta.actor_id, meta.correlation_id, meta.causation_id, meta.command_id)
    hash_record = append_hasher(actor, causation, command, correlation, occurred_iso,
                                recorded_iso)
    params: list[tuple] = []
    out: list[Recorded] = []
    ids = iter(event_ids)
    for (stream, serialised), version in zip(pending, versions, strict=True):
        stream_id, stream_type = stream.stream_id, stream.stream_type
        for evt, payload_json in serialised:
            position += 1
            version += 1
            event_id = next(ids)
            type_name, schema_version = evt.type_name, evt.schema_version
            hash_ = hash_record(prev_hash, event_id, type_name, payload_json, position,
                                schema_version, stream_id, stream_type, version)
            params.append((
                position, event_id, stream_id, stream_type, version, type_name,
                schema_version, payload_json, actor, correlation, causation, command,
                db_occurred, db_recorded, prev_hash, hash_))
            out.append(new_recorded(Recorded, (
                position, event_id, stream_id, stream_type, version, type_name,
                schema_version, evt, actor, correlation, causation, command, occurred_at,
                recorded_at, prev_hash, hash_)))
            prev_hash = hash_
    return Built(params, out, prev_hash, db_recorded)


_last_parsed: tuple = (None, None)
"""The head time parsed last and its UTC datetime: the next append's head is usually the
time the previous one wrote."""


def _parse_time(value) -> datetime:  # noqa: ANN001
    global _last_parsed
    last = _last_parsed
    if value == last[0]:
        return last[1]
    if isinstance(value, str):
        moment = datetime.fromisoformat(value).replace(tzinfo=UTC)
    elif value.tzinfo is None:
        moment = value.replace(tzinfo=UTC)
    else:
        moment = value.astimezone(UTC)
    _last_parsed = (value, moment)
    return moment


COLUMNS = (
    "position, event_id, stream_id, stream_type, stream_version, event_type, schema_version,"
    " payload, actor_id, correlation_id, causation_id, command_id, occurred_at, recorded_at,"
    " prev_hash, hash"
)


class Statements:
    """The append/read SQL for one backend (qmark for sqlite3, format for psycopg)."""

    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite
        payload = "?" if sqlite else "CAST(? AS jsonb)"
        # SQLite's BEGIN IMMEDIATE already holds the database's one write lock, so reading
        # the head suffices; PostgreSQL takes the head row's lock by bumping it.
        self.take_head = self.adapt(
            "SELECT position, hash, recorded_at FROM event_head WHERE id = 1" if sqlite else
            "UPDATE event_head SET position = position + ? WHERE id = 1 "
            "RETURNING position - ?, hash, recorded_at")
        self.lock_head = self.adapt(
            "SELECT position, hash, recorded_at FROM event_head WHERE id = 1 FOR UPDATE")
        self.update_head = self.adapt(
            "UPDATE event_head SET position = ?, hash = ?, recorded_at = ? WHERE id = 1")
        self.command_seen = self.adapt(
            "SELECT first_position, last_position, request_route, request_digest "
            "FROM event_commands WHERE command_id = ?")
        self.stream_version = self.adapt(
            "SELECT max(stream_version) FROM events WHERE stream_id = ?")
        self.insert_event = self.adapt(
            f"INSERT INTO events ({COLUMNS}) VALUES "
            f"(?, ?, ?, ?, ?, ?, ?, {payload}, ?, ?, ?, ?, ?, ?, ?, ?)")
        self.insert_entity = self.adapt(
            "INSERT INTO entity_streams (entity_id, stream_id) VALUES (?, ?)")
        self.insert_command = self.adapt(
            "INSERT INTO event_commands (command_id, first_position, last_position, "
            "request_route, request_digest) VALUES (?, ?, ?, ?, ?)")

    def adapt(self, query: str) -> str:
        return adapt(query, self.sqlite)


def adapt(query: str, sqlite: bool) -> str:
    """``query`` written with ``?`` placeholders in the driver's style (psycopg: ``%s``)."""
    return query if sqlite else query.replace("?", "%s")


def check_version(stream: StreamAppend, current: int | None) -> int:
    """The stream's version to continue from; ``current`` is None when not queried (a new
    stream, whose existence the unique constraint checks)."""
    if current is None:
        return 0
    expected = stream.expected_version
    if expected != ANY and expected != current:
        raise ConcurrencyError(stream.stream_id, expected, current)
    return current


def needs_version_query(stream: StreamAppend) -> bool:
    return stream.expected_version != NO_STREAM


class SqliteWriter:
    """Appends through one SQLite connection that this store keeps open.

    SQLite admits one writer at a time; queueing this process's writers (group commit,
    events/group_commit.py) is far cheaper than letting them poll SQLite's sleeping busy
    handler, and once they queue, one connection serves them all with a page cache that
    stays warm between appends. (An in-memory database is one per pooled connection, so
    there each append checks one out as the rest of the code does.) WAL checkpoints run
    on their own thread (events/wal.py).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sql = Statements(True)
        self.group = GroupCommit(self._write_group)
        self._state_lock = threading.Lock()
        database = engine.url.database
        self._file = (database if database and database != ":memory:"
                      and "mode=memory" not in str(engine.url) else None)
        self._connection = None  # a checked-out pool connection, or None
        self._cursor = None
        self._pid = 0
        self._checkpointer: WalCheckpointer | None = None
        dbapi = engine.dialect.loaded_dbapi
        self._fatal = (dbapi.OperationalError, dbapi.InterfaceError)
        """The connection's errors: they fail the whole group and drop the connection."""
        self_ref = weakref.ref(self)

        def _release_on_dispose(_engine: Engine) -> None:
            writer = self_ref()
            if writer is not None:
                with writer._state_lock:
                    writer._release()
                    checkpointer, writer._checkpointer = writer._checkpointer, None
                if checkpointer is not None:  # it may be waiting for the lock
                    checkpointer.stop()

        event.listen(engine, "engine_disposed", _release_on_dispose)

    def _write_group(self, requests: list[AppendRequest]) -> None:
        if self._file is None:
            with pooled_connection(self.engine) as connection:
                self._write(connection.driver_connection.cursor(), requests)
            return
        with self._state_lock:
            cursor = self._checkout()
            try:
                self._write(cursor, requests)
            except self._fatal as exc:
                self._release()  # the next append reconnects
                raise unavailable(exc) from exc
            self._checkpointer.committed()

    def _write(self, cursor, requests: list[AppendRequest]) -> None:  # noqa: ANN001
        """One transaction: read the head, write the requests after it, move it, commit."""
        execute, sql = cursor.execute, self.sql
        execute("BEGIN IMMEDIATE")
        try:
            head = execute(sql.take_head).fetchone()
            end = write_requests(cursor, sql, requests, head, True, self._fatal)
            if end is not head:
                execute(sql.update_head, end)
            execute("COMMIT")
        except BaseException:
            if cursor.connection.in_transaction:
                execute("ROLLBACK")
            raise

    def _checkout(self):  # noqa: ANN202
        if self._pid != os.getpid():
            # Inherited across fork (also after a release, when only the checkpointer is
            # left): neither the connection nor the checkpointer's thread is ours.
            self._connection = self._cursor = self._checkpointer = None
        if self._connection is None:
            dbapi = self.engine.dialect.loaded_dbapi
            try:
                self._connection = self.engine.raw_connection()
            except dbapi.Error as exc:
                raise unavailable(exc) from exc
            self._pid = os.getpid()
            self._cursor = self._connection.driver_connection.cursor()
            self._cursor.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
            if self._checkpointer is None:
                self._checkpointer = WalCheckpointer(self._file, sqlite_synchronous(),
                                                    self._state_lock)
                weakref.finalize(self, self._checkpointer.stop)
        return self._cursor

    def _release(self) -> None:
        connection, self._connection, self._cursor = self._connection, None, None
        if connection is not None and self._pid == os.getpid():
            connection.invalidate()


def write_requests(cursor, sql: Statements, requests: list[AppendRequest],  # noqa: ANN001
                   head: tuple, sqlite: bool, fatal: tuple[type, ...]) -> tuple:
    """Write each request after ``head`` (position, hash, recorded_at), each in its own
    savepoint when there are several; return the head after the last one written, or
    ``head`` itself when none was. Errors in ``fatal`` (the connection's) fail them all."""
    if len(requests) == 1:
        request = requests[0]
        request.result, end = write_request(cursor, sql, request, head, sqlite)
        return end
    end = head
    for request in requests:
        cursor.execute("SAVEPOINT lineage_append")
        try:
            request.result, end = write_request(cursor, sql, request, end, sqlite)
        except fatal:
            raise
        except Exception as exc:  # this append is refused; the others go on
            cursor.execute("ROLLBACK TO SAVEPOINT lineage_append")
            request.error = exc
        cursor.execute("RELEASE SAVEPOINT lineage_append")
    return end


def write_request(cursor, sql: Statements, request: AppendRequest,  # noqa: ANN001
                  head: tuple, sqlite: bool) -> tuple[list[Recorded], tuple]:
    """Insert one append's rows after ``head``; return them and the head after them."""
    meta, pending = request.meta, request.pending
    if meta.command_id is not None:
        cursor.execute(sql.command_seen, (meta.command_id,))
        seen = cursor.fetchone()
        if seen is not None:
            raise Duplicate(*seen)
    versions = []
    for p in pending:
        current = None
        if needs_version_query(p.stream):
            cursor.execute(sql.stream_version, (p.stream.stream_id,))
            current = cursor.fetchone()[0] or 0
        versions.append(check_version(p.stream, current))
    built = build_rows(head, pending, versions, meta, request.occurred_at, request.event_ids,
                       sqlite)
    if sqlite and request.count == 1:
        cursor.execute(sql.insert_event, built.params[0])
    else:
        cursor.executemany(sql.insert_event, built.params)
    write_side_rows(cursor, sql, pending, meta, head[0], request.count)
    last = built.recorded[-1]
    return built.recorded, (last.position, built.last_hash, built.db_recorded_at)


def write_side_rows(cursor, sql: Statements, pending: Sequence[Pending],  # noqa: ANN001
                     meta: Metadata, before: int, count: int) -> None:
    """Entity locations and the command id, when the append has any."""
    located = [(entity_id, p.stream.stream_id) for p in pending
               for entity_id in p.stream.entity_ids]
    if located:
        cursor.executemany(sql.insert_entity, located)
    if meta.command_id is not None:
        route, digest = meta.request or (None, None)
        cursor.execute(sql.insert_command,
                       (meta.command_id, before + 1, before + count, route, digest))
