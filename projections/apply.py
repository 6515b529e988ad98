"""The context apply functions write through: buffered, batched, reusable statements."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, Table

from projections.prepared import Prepared


class ApplyContext:
    """What an apply function gets: the open transaction and the tables to write.

    ``tables`` maps logical table names to the physical generation being written (live,
    or ``__next`` during a replay); ``cache`` holds immutable facts (which project owns
    a stream) remembered across batches; ``batch`` is scratch space for one batch only
    (it dies with the transaction, so a rollback cannot leave it out of step).

    Writes go through :meth:`insert` and :meth:`queue`: they are buffered per table and
    sent as executemany runs before anything reads through :attr:`conn` and at the end
    of the batch. Per table, the buffered inserts go first (one run), then the other
    writes in their order: an update only ever targets a row whose insert came earlier
    in the log, so this gives the same rows as applying one by one. Statements are built
    once per table and reused with bound parameters (building SQL costs more than running
    it), and buffered runs are sent as :class:`~projections.prepared.Prepared`
    executemany calls (SQLAlchemy's per-row parameter handling would cost more than the
    database's work).
    """

    def __init__(self, conn: Connection, tables: Mapping[str, Table],
                 cache: dict[str, Any]) -> None:
        self._conn = conn
        self.tables = tables
        self.cache = cache
        self.batch: dict[Any, Any] = {}
        self._inserts: dict[str, list[dict[str, Any]]] = {}
        self._pending: dict[str, list[tuple[Any, list[dict[str, Any]]]]] = {}
        self._unsent: dict[tuple[str, Any], dict[str, Any]] = {}
        self._statements: dict[tuple[str, str], Any] = cache.setdefault("statements", {})
        self._compiled: dict[tuple[int, str], tuple[Any, Prepared | None]] = cache.setdefault(
            "compiled", {})

    def t(self, name: str) -> Table:
        return self.tables[name]

    @property
    def conn(self) -> Connection:
        """The transaction's connection, with every buffered write sent first."""
        self.flush()
        return self._conn

    @property
    def log_conn(self) -> Connection:
        """The connection without flushing: for reading tables this projection does not
        write (the event log itself)."""
        return self._conn

    @property
    def dialect(self) -> str:
        return self._conn.dialect.name

    def statement(self, name: str, key: str, build: Callable[[Table], Any]) -> Any:
        """A statement on table ``name`` built once by ``build(table)`` and reused."""
        table = self.t(name)
        cache_key = (table.name, key)
        found = self._statements.get(cache_key)
        if found is None or found[0] is not table:
            found = self._statements[cache_key] = (table, build(table))
        return found[1]

    def insert(self, name: str, row: dict[str, Any], key: Any = None) -> None:  # noqa: ANN401
        """Buffer an INSERT of ``row`` (every column given) into table ``name``; with a
        ``key`` (the row's primary key) the row can be found by :meth:`unsent`."""
        self._inserts.setdefault(name, []).append(row)
        if key is not None:
            self._unsent[(name, key)] = row

    def unsent(self, name: str, key: Any) -> dict[str, Any] | None:  # noqa: ANN401
        """The row inserted into ``name`` under ``key`` that is still buffered, else None.

        An apply function changes such a row in place instead of queueing an UPDATE (a
        replay then writes each row once): the same result, since the row's INSERT has
        not been sent and every earlier change to it was made in place too.
        """
        return self._unsent.get((name, key))

    def queue(self, name: str, statement: Any, params: dict[str, Any]) -> None:
        """Buffer ``statement`` (writing table ``name`` only) with ``params``."""
        runs = self._pending.setdefault(name, [])
        if runs and runs[-1][0] is statement:
            runs[-1][1].append(params)
        else:
            runs.append((statement, [params]))

    def flush(self) -> None:
        """Send buffered writes, table by table (tables are independent: no FKs)."""
        if not self._pending and not self._inserts:
            return
        inserts, self._inserts = self._inserts, {}
        self._unsent = {}
        pending, self._pending = self._pending, {}
        for name, rows in inserts.items():
            self._table_insert(name).run(self._conn, rows)
        for runs in pending.values():
            for statement, params in runs:
                prepared = self._prepared(statement)
                if prepared is None:
                    self._conn.execute(statement, params)
                else:
                    prepared.run(self._conn, params)

    def _table_insert(self, name: str) -> Prepared:
        """The prepared whole-row INSERT into table ``name`` (COPY on PostgreSQL)."""
        return self.statement(name, "insert", lambda table: Prepared.table_insert(
            table, self._conn.dialect))

    def _prepared(self, statement: Any) -> Prepared | None:  # noqa: ANN401
        """``statement`` compiled once for this dialect; None if it must stay on
        ``Connection.execute`` (see Prepared)."""
        key = (id(statement), self._conn.dialect.name)
        found = self._compiled.get(key)
        if found is None or found[0] is not statement:
            try:
                prepared = Prepared(statement, self._conn.dialect)
            except ValueError:
                prepared = None
            found = self._compiled[key] = (statement, prepared)
        return found[1]
