"""Statements compiled once and run as plain DBAPI executemany calls.

A rebuild writes hundreds of thousands of rows. Through ``Connection.execute`` each row
costs SQLAlchemy's per-row parameter assembly (``construct_params``: several times the
time the database takes to store the row). A :class:`Prepared` statement does that work
once: it compiles the statement for the dialect, remembers the bind names in order and
each bind's type processor, and per row only applies those processors (the very same
functions SQLAlchemy would apply, so the stored values are identical) before handing the
rows to the driver through ``exec_driver_sql``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
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
            if bind.value is not None or bind.callable is not None:
                self.fixed[name] = bind.effective_value  # a literal in the statement
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self.processors[name] = process

    def rows(self, params: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Driver parameters for ``params`` (dicts by bind name; literals filled in)."""
        pairs = [(name, self.processors.get(name)) for name in self.names]
        fixed = self.fixed
        if fixed:
            params = [{**fixed, **given} for given in params]
        if self.positional:
            return [tuple([v[n] if p is None else p(v[n]) for n, p in pairs]) for v in params]
        return [{n: v[n] if p is None else p(v[n]) for n, p in pairs} for v in params]

    def run(self, conn: Connection, params: Sequence[Mapping[str, Any]]) -> None:
        """Execute for every dict in ``params`` (one executemany)."""
        if params:
            conn.exec_driver_sql(self.sql, self.rows(params))
