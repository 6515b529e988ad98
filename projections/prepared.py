"""Statements compiled once and run as plain DBAPI executemany calls.

A replay writes hundreds of thousands of rows. Through ``Connection.execute`` each row
costs SQLAlchemy's per-row parameter assembly (``construct_params``: several times the
time the database takes to store the row). A :class:`Prepared` statement does that work
once: it compiles the statement for the dialect, remembers the bind names in order and
each bind's type processor, and per row only applies those processors (the very same
functions SQLAlchemy would apply, so the stored values are identical) before handing the
rows to the driver through ``exec_driver_sql``.

On PostgreSQL, whole-row inserts into a table (:meth:`Prepared.table_insert`) go through
``COPY … FROM STDIN`` instead: a pipelined executemany still costs the server one
statement per row, COPY streams the rows (about twice as fast here, and half the client
CPU). The values are the same processed values; only their transport differs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.engine import Dialect


class Prepared:
    """One statement compiled for one dialect; :meth:`run` executes it for many rows.

    Raises ValueError for statements it cannot run this way (expanding ``IN`` binds or
    parameters rendered at execution time): callers keep those on ``Connection.execute``.
    """

    def __init__(self, statement: Any, dialect: Dialect) -> None:  # noqa: ANN401
        compiled = statement.compile(dialect=dialect)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("statement has binds rendered at execution time")
        self.sql: str = compiled.string
        self.positional: bool = bool(compiled.positional)
        names: Sequence[str] = (compiled.positiontup if self.positional
                                else list(compiled.binds))
        self.names = tuple(names)
        self.fixed: dict[str, Any] = {}
        self.processors: dict[str, Callable[[Any], Any]] = {}
        for name in self.names:
            bind = compiled.binds[name]
            if bind.expanding:
                raise ValueError("statement has an expanding IN bind")
            if not bind.required:  # a literal in the statement (None included)
                self.fixed[name] = bind.effective_value
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self.processors[name] = process
        self.copy_sql: str | None = None

    @classmethod
    def table_insert(cls, table: Table, dialect: Dialect) -> Prepared:
        """An INSERT of every column of ``table`` (rows as dicts by column key); COPY on
        PostgreSQL."""
        prepared = cls(insert(table), dialect)
        if dialect.name == "postgresql" and not prepared.positional:
            quote = dialect.identifier_preparer.quote
            columns = ", ".join(quote(table.c[name].name) for name in prepared.names)
            prepared.copy_sql = f"COPY {quote(table.name)} ({columns}) FROM STDIN"
        return prepared

    def rows(self, params: Sequence[Mapping[str, Any]], *, as_tuples: bool = False,
             ) -> list[Any]:
        """Driver parameters for ``params`` (dicts by bind name; literals filled in):
        tuples in :attr:`names` order for a positional statement or ``as_tuples``, else
        dicts."""
        fixed = self.fixed
        if fixed:
            params = [{**fixed, **given} for given in params]
        names = self.names
        # Values in bind order in one C call per row; then the few binds with a type
        # processor (times, JSON) are converted in place.
        values = (itemgetter(*names) if len(names) > 1
                  else lambda row: tuple(row[name] for name in names))
        converted = [(index, _last_remembered(self.processors[name]))
                     for index, name in enumerate(names) if name in self.processors]
        if not converted:
            rows = [values(given) for given in params]
        else:
            rows = []
            for given in params:
                row = list(values(given))
                for index, process in converted:
                    row[index] = process(row[index])
                rows.append(tuple(row))
        if self.positional or as_tuples:
            return rows
        return [dict(zip(names, row, strict=True)) for row in rows]

    def run(self, conn: Connection, params: Sequence[Mapping[str, Any]]) -> None:
        """Execute for every dict in ``params`` (one executemany, or one COPY)."""
        if not params:
            return
        if self.copy_sql is None or len(params) == 1:
            conn.exec_driver_sql(self.sql, self.rows(params))
            return
        with conn.connection.driver_connection.cursor() as cursor, \
                cursor.copy(self.copy_sql) as copy:
            for row in self.rows(params, as_tuples=True):
                copy.write_row(row)


def _last_remembered(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process`` that returns its last result again when given the very same object.

    Rows of one flush often share values: the events of one append share their
    recorded_at object, absent JSON values are all ``None``. Identity (not equality) is
    what is compared, and the wrapper lives for one call of :meth:`Prepared.rows`, while
    nothing mutates the rows, so the answer is always what ``process`` would return.
    """
    last: list[Any] = [_NOTHING, None]

    def remembered(value: Any) -> Any:  # noqa: ANN401
        if value is last[0]:
            return last[1]
        result = process(value)
        last[0], last[1] = value, result
        return result

    return remembered


_NOTHING = object()
