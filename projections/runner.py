"""The projection runner: checkpoints, catch-up and blue/green replay.

A projection is a name, the tables it owns and one apply function per event type it
cares about (other types are skipped). The runner reads events after the projection's
checkpoint, applies a batch and moves the checkpoint in the SAME transaction, so a
crash anywhere before the commit leaves neither the table changes nor the checkpoint.
The checkpoint row is locked for the batch (``SELECT … FOR UPDATE`` on PostgreSQL; the
``BEGIN IMMEDIATE`` write lock on SQLite), so several runners never apply an event
twice. Catch-up and replay are one code path: a replay is a catch-up from position 0
into ``<table>__next`` copies, swapped in by one transaction at the end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from events.append import adapt
from events.db import write_transaction
from events.schema import event_head, events, subscription_checkpoints
from events.store import Recorded, decode_rows, log_page, utc
from projections.apply import ApplyContext
from projections.fill import (
    SecondFill,
    SecondFillEntry,
    copy_side,
    fill_all,
    processes_for,
    side_engine,
    side_file,
    side_path,
    split,
    sqlite_file,
)
from projections.tables import (
    NEXT_SUFFIX,
    create_query_indexes,
    create_tables,
    drop_tables,
    physical_tables,
    rename_table,
)

log = logging.getLogger(__name__)
DEFAULT_BATCH = 500
REPLAY_BATCH = 20_000
"""Events per transaction while a replay fills its ``__next`` tables: nobody waits on
those, so batches are large (fewer commits, longer executemany runs); live catch-up
keeps small batches for latency."""
REPLAY_SQLITE_CACHE_KIB = 256 * 1024
"""SQLite page cache (KiB) of the connection that fills a replay (see bulk_page_cache);
pages are allocated as used (a small database never takes this much); 256 MiB holds the
random-id indexes of a million-event history."""


Handler = Callable[[ApplyContext, Recorded], None]
StorageHook = Callable[[Connection, Mapping[str, Table]], None]
RenameHook = Callable[[Connection, Mapping[str, Table], Mapping[str, Table]], None]


@dataclasses.dataclass(frozen=True)
class Projection:
    """A read model: its name, its tables, and apply functions by stored event type.

    The optional hooks manage storage SQLAlchemy cannot describe (a full-text index):
    created after the tables, dropped before them, renamed along with them;
    ``index_extra`` indexes that storage for queries and, like the query indexes, runs
    only once a replay's bulk fill is done.
    """

    name: str
    tables: tuple[Table, ...]
    handlers: Mapping[str, Handler]
    create_extra: StorageHook | None = None
    drop_extra: StorageHook | None = None
    rename_extra: RenameHook | None = None
    index_extra: StorageHook | None = None

    @property
    def live_tables(self) -> dict[str, Table]:
        return physical_tables(self.tables)


Target = tuple[Projection, Mapping[str, Table], str]
"""A projection, the generation of its tables to write, and that generation's checkpoint."""


@dataclasses.dataclass(frozen=True)
class Status:
    name: str
    position: int
    head: int
    behind: int
    lag_seconds: float
    updated_at: datetime | None


def read_log(conn: Connection, after: int, head: int, event_types: list[str], limit: int,
             ) -> list[Recorded]:
    """Up to ``limit`` events of ``event_types`` with ``after < position <= head``, in
    position order, read in ``conn``'s transaction. The store's own query and decoders on
    a plain driver cursor: SQLAlchemy's per-row result handling would cost more than the
    read itself."""
    page = log_page(after, limit, event_types=event_types, up_to=head)
    if page is None:
        return []
    query, params = page
    sqlite = conn.dialect.name == "sqlite"
    cursor = conn.connection.cursor()
    try:
        cursor.execute(adapt(query, sqlite), params)
        return decode_rows(cursor.fetchall(), sqlite)
    finally:
        cursor.close()


def apply_events(ctx: ApplyContext, projection: Projection, batch: Iterable[Recorded]) -> None:
    """Apply events through the projection's handlers; unknown types are skipped."""
    handlers = projection.handlers
    for recorded in batch:
        handler = handlers.get(recorded.event_type)
        if handler is not None:
            handler(ctx, recorded)
    ctx.flush()


class ProjectionRunner:
    """Runs projections against one database.

    ``batch_size`` is the events per transaction of live catch-up, ``replay_batch_size``
    that of a replay's bulk fill, ``fill_processes`` the processes that fill a replay
    (see projections.fill.processes_for); a second one runs ``second_fill`` (see
    projections/fill_process.py; without it a replay fills in this process alone).
    ``before_commit`` is a test hook called inside each batch's transaction after the
    events were applied and the checkpoint written, just before the commit (in a fill's
    second process, there: it must then pickle).
    """

    def __init__(self, engine: Engine, projections: Iterable[Projection], *,
                 batch_size: int = DEFAULT_BATCH, replay_batch_size: int = REPLAY_BATCH,
                 fill_processes: int | None = None,
                 second_fill: SecondFillEntry | None = None,
                 before_commit: Callable[[str, int], None] | None = None) -> None:
        self.engine = engine
        self.fill_processes = fill_processes
        self.second_fill = second_fill
        self.projections = {p.name: p for p in projections}
        self.batch_size = batch_size
        self.replay_batch_size = replay_batch_size
        self.before_commit = before_commit
        self._cache: dict[str, Any] = {}

    def projection(self, name: str) -> Projection:
        """Raises KeyError naming the known projections for an unknown name."""
        try:
            return self.projections[name]
        except KeyError:
            raise KeyError(f"no projection {name!r}; known: "
                           f"{', '.join(sorted(self.projections))}") from None

    # -- catch-up ---------------------------------------------------------------------

    def step(self, name: str) -> int:
        """Apply one batch to the live tables of ``name``; returns the events read."""
        projection = self.projection(name)
        return self._step(projection, projection.live_tables, name)[0]

    def catch_up(self, names: Iterable[str] | None = None, *, max_batches: int | None = None,
                 ) -> int:
        """Apply batches until every named projection (default: all) reaches the head
        seen at its last batch; returns the number of events read."""
        total = 0
        names = list(names or self.projections)
        # A read-only look first: an idle runner must not queue for the write lock.
        with self.engine.connect() as conn:
            head = conn.execute(select(event_head.c.position)).scalar_one()
        positions = self.positions(names)
        for name in names:
            if positions[name] >= head:
                continue
            projection = self.projection(name)
            tables = projection.live_tables
            batches = 0
            while max_batches is None or batches < max_batches:
                read, caught_up = self._step(projection, tables, name)
                total += read
                batches += 1
                if caught_up:
                    break
        return total

    def _step(self, projection: Projection, tables: Mapping[str, Table],
              checkpoint: str) -> tuple[int, bool]:
        return self._step_many([(projection, tables, checkpoint)])

    def _step_many(self, targets: list[Target], limit: int | None = None,
                   conn: Connection | None = None) -> tuple[int, bool]:
        """One batch in a transaction of its own, on ``conn`` (a writing connection
        outside any transaction) or on a pooled one."""
        with (_begin(conn) if conn is not None else write_transaction(self.engine)) as conn:
            read, caught_up, position = self._apply_batch(conn, targets, limit)
            if self.before_commit is not None:
                for _, _, checkpoint in targets:
                    self.before_commit(checkpoint, position)
        return read, caught_up

    def _apply_batch(self, conn: Connection, targets: list[Target], limit: int | None = None,
                     ) -> tuple[int, bool, int]:
        """Inside ``conn``'s transaction: lock the targets' checkpoints, read the next
        batch (``limit`` events, default the live batch size) once, apply it to each
        target past its own checkpoint, move the checkpoints. Returns (events read,
        caught up with the head, new position)."""
        afters = [lock_checkpoint(conn, checkpoint) for _, _, checkpoint in targets]
        after = min(afters)
        # The head is read first: everything at or below it is committed, so a filtered
        # read that comes back short proves there is nothing relevant up to the head.
        head = conn.execute(select(event_head.c.position)).scalar_one()
        if head <= after:
            return 0, True, after
        limit = limit or self.batch_size
        wanted = sorted({t for projection, _, _ in targets for t in projection.handlers})
        batch = read_log(conn, after, head, wanted, limit)
        caught_up = len(batch) < limit
        position = head if caught_up else batch[-1].position
        for (projection, tables, checkpoint), own in zip(targets, afters, strict=True):
            if own >= position:
                continue
            apply_events(ApplyContext(conn, tables, self._cache), projection,
                         (r for r in batch if r.position > own))
            _write_checkpoint(conn, checkpoint, position)
        return len(batch), caught_up, position

    # -- replay ----------------------------------------------------------------------

    def _fill(self, targets: list[Target], engine: Engine | None = None) -> int:
        """Fill the targets' fresh tables up to the head through ``engine`` (default the
        runner's), then index and analyse them; returns the events read. One connection
        throughout: its page cache (enlarged, see bulk_page_cache) outlives the
        batches."""
        total = 0
        caught_up = False
        with (engine or self.engine).connect() as conn, bulk_page_cache(conn):
            conn = conn.execution_options(lineage_write=True)
            while not caught_up:
                read, caught_up = self._step_many(targets, self.replay_batch_size, conn)
                total += read
            with conn.begin():
                _index(conn, targets)
            vacuum(conn, [table for _, fresh, _ in targets for table in fresh.values()])
        return total

    def fill_next(self) -> int:
        """Fill the ``__next`` tables of every projection of this runner from position 0
        as a replay's second fill process does (on SQLite into the side file beside the
        database, see projections/fill.py); returns the events read."""
        targets = _next_targets(self.projections.values())
        if self.engine.dialect.name != "sqlite":
            return self._fill(targets)
        engine = side_engine(side_path(self.engine), sqlite_file(self.engine))
        try:
            with engine.begin() as conn:
                subscription_checkpoints.create(conn)
                for projection, fresh, _ in targets:
                    create_storage(conn, projection, fresh, query_indexes=False)
            return self._fill(targets, engine)
        finally:
            engine.dispose()

    def _fill_groups(self, targets: list[Target]) -> int:
        """Fill every target, in one process or two (projections/fill.py)."""
        wanted = processes_for(self.engine, self.fill_processes)
        groups = split(targets, wanted if self.second_fill is not None else 1)
        if len(groups) == 1:
            return fill_all(self._fill, groups)
        order = SecondFill(self.engine.url.render_as_string(hide_password=False),
                           tuple(projection.name for projection, _, _ in groups[1]),
                           self.replay_batch_size, self.before_commit)
        if self.engine.dialect.name != "sqlite":
            return fill_all(self._fill, groups, self.second_fill, order)
        with side_file(self.engine):
            total = fill_all(self._fill, groups, self.second_fill, order)
            # The copies get the indexes the child built before their rows arrive.
            copy_side(self.engine, side_path(self.engine), lambda conn: _index(conn, groups[1]))
        return total

    def replay(self, *names: str) -> int:
        """Blue/green replay of the named projections (default: all) from position 0, in
        one pass over the log (one per fill process, see projections/fill.py); returns
        the events read.

        The live tables keep serving (and keep being caught up by other runners) while
        ``__next`` copies are filled; one transaction then finishes the copies up to the
        head, drops the live tables and renames the copies into their place.
        """
        projections = [self.projection(name) for name in (names or self.projections)]
        targets = _next_targets(projections)
        with write_transaction(self.engine) as conn:
            for projection, fresh, checkpoint in targets:
                drop_storage(conn, projection, fresh)  # leftovers of an interrupted replay
                create_storage(conn, projection, fresh, query_indexes=False)
                conn.execute(delete(subscription_checkpoints)
                             .where(subscription_checkpoints.c.name == checkpoint))
        total = self._fill_groups(targets)
        with write_transaction(self.engine) as conn:
            for projection in projections:
                lock_checkpoint(conn, projection.name)
            caught_up = False
            while not caught_up:
                read, caught_up, position = self._apply_batch(conn, targets)
                total += read
            for projection, fresh, checkpoint in targets:
                live = projection.live_tables
                drop_storage(conn, projection, live)
                for logical, table in fresh.items():
                    rename_table(conn, table.name, live[logical].name)
                if projection.rename_extra is not None:
                    projection.rename_extra(conn, fresh, live)
                _write_checkpoint(conn, projection.name, position)
                conn.execute(delete(subscription_checkpoints)
                             .where(subscription_checkpoints.c.name == checkpoint))
        log.info("replayed %s from %d events", ", ".join(p.name for p in projections), total)
        return total

    def create_missing(self) -> None:
        """Create the live tables of projections that have none yet (a new projection
        added after the migrations ran); existing tables are left alone."""
        with write_transaction(self.engine) as conn:
            for projection in self.projections.values():
                live = projection.live_tables
                missing = [t for t in live.values()
                           if not conn.dialect.has_table(conn, t.name)]
                if len(missing) == len(live):
                    create_storage(conn, projection, live)

    # -- observing --------------------------------------------------------------------

    def status(self) -> list[Status]:
        """Checkpoint, head and lag (events, and age of the oldest unapplied event)."""
        now = datetime.now(UTC)
        with self.engine.connect() as conn:
            head = conn.execute(select(event_head.c.position)).scalar_one()
            rows = {row.name: row for row in conn.execute(select(subscription_checkpoints))}
            result = []
            for name in self.projections:
                row = rows.get(name)
                position = row.position if row else 0
                lag = 0.0
                if position < head:
                    oldest = conn.execute(select(events.c.recorded_at)
                                          .where(events.c.position == position + 1)).scalar()
                    lag = (now - utc(oldest)).total_seconds() if oldest else 0.0
                result.append(Status(name, position, head, head - position, max(lag, 0.0),
                                     utc(row.updated_at) if row else None))
        return result

    def positions(self, names: Iterable[str] | None = None) -> dict[str, int]:
        wanted = list(names or self.projections)
        with self.engine.connect() as conn:
            rows = dict(conn.execute(
                select(subscription_checkpoints.c.name, subscription_checkpoints.c.position)
                .where(subscription_checkpoints.c.name.in_(wanted))).all())
        return {name: rows.get(name, 0) for name in wanted}

    def wait_for(self, position: int, names: Iterable[str], timeout: float) -> int:
        """Catch ``names`` up until all reach ``position`` or ``timeout`` seconds pass.

        Returns the lowest checkpoint reached (compare it with ``position``).
        """
        names = list(names)
        deadline = time.monotonic() + timeout
        while True:
            reached = min(self.positions(names).values())
            if reached >= position or time.monotonic() >= deadline:
                return reached
            self.catch_up(names, max_batches=4)
            reached = min(self.positions(names).values())
            if reached >= position:
                return reached
            # Behind a head we cannot see yet (another process is still committing).
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


def _next_targets(projections: Iterable[Projection]) -> list[Target]:
    """Each projection with its ``__next`` tables and their checkpoint: what a replay
    fills."""
    return [(p, physical_tables(p.tables, NEXT_SUFFIX), p.name + NEXT_SUFFIX)
            for p in projections]


def _index(conn: Connection, targets: Iterable[Target]) -> None:
    """Build the query indexes of the targets' freshly filled tables."""
    for projection, fresh, _ in targets:
        create_query_indexes(conn, dict(fresh))
        if projection.index_extra is not None:
            projection.index_extra(conn, fresh)


@contextlib.contextmanager
def _begin(conn: Connection) -> Iterator[Connection]:
    with conn.begin():
        yield conn


@contextlib.contextmanager
def bulk_page_cache(conn: Connection) -> Iterator[None]:
    """SQLite: a page cache of REPLAY_SQLITE_CACHE_KIB for ``conn`` while the block
    runs, then its own size again (the memory is given back before the connection
    returns to the pool). PostgreSQL's buffers are the server's: left alone.

    Filling fresh tables inserts into b-trees keyed by random ids; with SQLite's default
    2 MiB cache nearly every insert reads its leaf page back from the file and dirty
    pages spill to the WAL mid-transaction.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    # On the driver's connection: through ``conn`` the pragma would begin a transaction.
    driver = conn.connection.driver_connection
    before = driver.execute("PRAGMA cache_size").fetchone()[0]
    driver.execute(f"PRAGMA cache_size = -{REPLAY_SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA cache_size = {before}")


def lock_checkpoint(conn: Connection, name: str) -> int:
    """The checkpoint of ``name``, its row created at 0 if missing and locked until
    the transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(pg_insert(subscription_checkpoints)
                     .values(name=name, position=0, updated_at=datetime.now(UTC))
                     .on_conflict_do_nothing(index_elements=["name"]))
        return conn.execute(select(subscription_checkpoints.c.position)
                            .where(subscription_checkpoints.c.name == name)
                            .with_for_update()).scalar_one()
    # SQLite: the caller's BEGIN IMMEDIATE already holds the database write lock.
    position = conn.execute(select(subscription_checkpoints.c.position)
                            .where(subscription_checkpoints.c.name == name)).scalar()
    if position is None:
        conn.execute(insert(subscription_checkpoints)
                     .values(name=name, position=0, updated_at=datetime.now(UTC)))
        return 0
    return position


def _write_checkpoint(conn: Connection, name: str, position: int) -> None:
    conn.execute(update(subscription_checkpoints)
                 .where(subscription_checkpoints.c.name == name)
                 .values(position=position, updated_at=datetime.now(UTC)))


def vacuum(conn: Connection, tables: Iterable[Table]) -> None:
    """Vacuum and analyse freshly filled tables on PostgreSQL (``conn`` outside a
    transaction; it is left in autocommit mode).

    A replayed generation has no statistics and no visibility map until autovacuum gets
    to it (never, where autovacuum is off): the planner then guesses row counts and picks
    scans over the query indexes, and every index-only scan still reads the table's rows.
    SQLite is left alone: its plans are chosen without statistics, and it has no
    visibility map.
    """
    if conn.dialect.name != "postgresql":
        return
    autocommit = conn.execution_options(isolation_level="AUTOCOMMIT")
    for table in tables:
        name = conn.dialect.identifier_preparer.quote(table.name)
        autocommit.exec_driver_sql(f"VACUUM (ANALYZE) {name}")


def create_storage(conn: Connection, projection: Projection, tables: Mapping[str, Table],
                   *, query_indexes: bool = True) -> None:
    """Create one generation of a projection's tables (and its extra storage)."""
    create_tables(conn, dict(tables), query_indexes=query_indexes)
    if projection.create_extra is not None:
        projection.create_extra(conn, tables)
    if query_indexes and projection.index_extra is not None:
        projection.index_extra(conn, tables)


def drop_storage(conn: Connection, projection: Projection, tables: Mapping[str, Table],
                 ) -> None:
    """Drop one generation of a projection's tables if they exist."""
    if projection.drop_extra is not None:
        projection.drop_extra(conn, tables)
    drop_tables(conn, dict(tables))
