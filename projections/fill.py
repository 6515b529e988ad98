"""Filling a replay's fresh tables: in one process, or split across two.

A replay fills each projection's ``__next`` tables from position 0, batch after batch,
each batch committed with that generation's own checkpoint. Projections are independent
(separate tables, separate checkpoints), so two processes can fill two groups of them at
once, each reading the log itself: the work is mostly Python per event, and one process
uses one core. The parent waits for both, and the swap into the live tables stays one
transaction in the parent (see ProjectionRunner.replay).

The second process is started by spawn, not fork, and is handed only a
:class:`SecondFill`: the database URL, the projections' names and the batch size. It
builds its own engine and runner (projections/fill_process.py); nothing of the parent
(threads, pooled connections, SQLite's process-wide mutexes) is inherited, so a fill
started while other threads run cannot hang the way a forked child could.

On PostgreSQL both processes write the database itself. SQLite has one writer at a time,
so there the second process writes a side file of its own (:func:`side_file`): its
``__next`` tables and their checkpoints live in that file, opened as its main database,
and the log is read from the real database attached as ``log`` (WAL: reading it never
waits for the parent's writes, nor they for it). Once it is done the parent copies those
tables into its own ``__next`` tables in SQL (:func:`copy_side`) and deletes the file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

from events.db import SQLITE_BUSY_TIMEOUT_MS

FILL_PROCESSES = 2
REPLAY_COSTS = {"audit": 5.0, "catalog": 5.0, "review_state": 3.0, "version_tree": 1.5,
                 "metrics": 1.0, "access": 0.1}
"""Relative cost per log event of replaying each projection (measured on the read
benchmark's history), to give the two fill processes equal shares; others count 1."""

Fill = Callable[[Sequence[Any]], int]


@dataclasses.dataclass(frozen=True)
class SecondFill:
    """Everything a replay's second fill process is handed (it is pickled for spawn):
    it fills the ``__next`` tables of the projections ``names`` in the database at
    ``database_url`` (on SQLite, in the side file beside it: :func:`side_path`)."""

    database_url: str
    names: tuple[str, ...]
    replay_batch_size: int
    before_commit: Callable[[str, int], None] | None = None
    """ProjectionRunner's test hook, when it has one; it must pickle (a module-level
    function or a partial of one)."""


SecondFillEntry = Callable[[SecondFill, Any], None]
"""The second process's entry: ``entry(order, read)`` fills and sets ``read.value`` to
the events it read (projections/fill_process.py)."""


def sqlite_file(engine: Engine) -> str | None:
    """The file of a SQLite database, or None (PostgreSQL, or in memory)."""
    database = engine.url.database
    if (engine.dialect.name != "sqlite" or not database or database == ":memory:"
            or "mode=memory" in str(engine.url)):
        return None
    return database


def processes_for(engine: Engine, wanted: int | None = None) -> int:
    """How many processes fill a replay on ``engine``'s database: ``wanted`` (default
    two with two cores or more), and always one for an in-memory SQLite database
    (another process could not see it). Other threads running here do not matter: the
    second process is spawned, not forked."""
    if engine.dialect.name != "postgresql" and sqlite_file(engine) is None:
        return 1
    if wanted is not None:
        return max(1, wanted)
    return FILL_PROCESSES if (os.cpu_count() or 1) >= 2 else 1


def split(targets: Sequence[Any], processes: int) -> list[list[Any]]:
    """``targets`` (tuples whose first item is a Projection) in ``processes`` groups of
    about equal cost, heaviest first, each group in the given order; no empty group."""
    groups: list[list[Any]] = [[] for _ in range(max(1, min(processes, len(targets))))]
    loads = [0.0] * len(groups)
    for target in sorted(targets, key=lambda t: -REPLAY_COSTS.get(t[0].name, 1.0)):
        lightest = loads.index(min(loads))
        groups[lightest].append(target)
        loads[lightest] += REPLAY_COSTS.get(target[0].name, 1.0)
    order = {id(target): n for n, target in enumerate(targets)}
    return [sorted(group, key=lambda t: order[id(t)]) for group in groups]


def fill_all(fill: Fill, groups: list[list[Any]], entry: SecondFillEntry | None = None,
             order: SecondFill | None = None) -> int:
    """Run ``fill`` on the first group here and, when there is a second, ``entry(order)``
    in a spawned process meanwhile (``order`` names the second group's projections).
    Returns the most events one fill read.

    Raises what this process's fill raised (the child is stopped then), or RuntimeError
    when the child failed (its traceback is on stderr).
    """
    if len(groups) == 1:
        return fill(groups[0])
    if len(groups) > 2 or entry is None or order is None:
        raise ValueError("a second fill needs its entry and order, and two groups at most")
    context = multiprocessing.get_context("spawn")
    read = context.Value("q", 0)
    child = context.Process(target=entry, args=(order, read), name="replay-fill",
                            daemon=True)
    child.start()
    try:
        total = fill(groups[0])
    except BaseException:
        child.terminate()
        child.join()
        raise
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"the replay's second fill process failed (exit code "
                           f"{child.exitcode}): nothing was swapped")
    return max(total, read.value)


# -- SQLite: the second process's side file ----------------------------------------------

SIDE_SUFFIX = "-replay.db"
_SIDE_COMPANIONS = ("", "-journal", "-wal", "-shm")


def side_path(engine: Engine) -> Path:
    """The side file a second fill process writes: ``<database>-replay.db``.

    Raises ValueError for a database without a file."""
    database = sqlite_file(engine)
    if database is None:
        raise ValueError("a side file needs a SQLite database file")
    return Path(database + SIDE_SUFFIX)


@contextlib.contextmanager
def side_file(engine: Engine) -> Iterator[Path]:
    """:func:`side_path`, removed before (leftovers of an interrupted replay, like its
    ``__next`` tables) and after the block, whether it succeeded or not."""
    path = side_path(engine)
    _remove(path)
    try:
        yield path
    finally:
        _remove(path)


def _remove(path: Path) -> None:
    for companion in _SIDE_COMPANIONS:
        Path(str(path) + companion).unlink(missing_ok=True)


def side_engine(path: Path, log: str) -> Engine:
    """An engine on the side file ``path`` with the database file ``log`` attached as
    ``log``. Unqualified names find the side file's tables first, then the log's (the
    events and their head); the side file has none of the log's.

    Transactions begin deferred: ``BEGIN IMMEDIATE`` would take the write lock of every
    attached database, the log's too, and only this process writes the side file. The
    side file is thrown away on any failure, so it keeps its rollback journal in
    memory and skips fsyncs."""
    engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        dbapi_connection.isolation_level = None
        dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        dbapi_connection.execute("PRAGMA journal_mode=MEMORY")
        dbapi_connection.execute("PRAGMA synchronous=OFF")
        dbapi_connection.execute("ATTACH DATABASE ? AS log", (log,))

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


def copy_side(engine: Engine, path: Path, first: Callable[[Connection], None]) -> None:
    """In one write transaction: run ``first``, then copy every table of the side file
    ``path`` into the same-named (empty) table of ``engine``'s database (full-text
    tables by their columns and rowid).

    Rows are copied in SQL: into a table with the same columns and indexes SQLite
    copies records and index entries as they are, without building them again."""
    with engine.connect() as conn:
        # ATTACH cannot run inside a transaction: on the driver's connection, before one.
        driver = conn.connection.driver_connection
        driver.execute("ATTACH DATABASE ? AS side", (str(path),))
        try:
            conn = conn.execution_options(lineage_write=True)
            with conn.begin():
                first(conn)
                for name, kind in conn.exec_driver_sql(
                        "SELECT name, type FROM pragma_table_list WHERE schema = 'side'"
                        " AND type IN ('table', 'virtual') AND name NOT LIKE 'sqlite%'"
                        ).all():
                    _copy_table(conn, name, virtual=kind == "virtual")
        finally:
            driver.execute("DETACH DATABASE side")


def _copy_table(conn: Connection, name: str, *, virtual: bool) -> None:
    quote = conn.dialect.identifier_preparer.quote_identifier
    if not virtual:
        conn.exec_driver_sql(f"INSERT INTO main.{quote(name)} SELECT * FROM side.{quote(name)}")
        return
    # A full-text table: its own columns, and the rowid its documents are keyed on.
    columns = ", ".join(["rowid", *map(quote, conn.exec_driver_sql(
        "SELECT name FROM pragma_table_info(?, 'side')", (name,)).scalars())])
    conn.exec_driver_sql(f"INSERT INTO main.{quote(name)} ({columns}) "
                         f"SELECT {columns} FROM side.{quote(name)}")
