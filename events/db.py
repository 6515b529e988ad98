"""Engines for the embedded default (SQLite, WAL) and production (PostgreSQL)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from events.errors import ServiceUnavailable

SQLITE_BUSY_TIMEOUT_MS = 30_000
POSTGRES_LOCK_TIMEOUT_MS = 10_000


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


SQLITE_CACHE_KIB = 64 * 1024
"""Page cache per SQLite connection (filled only as pages are read). SQLite's 2 MiB
default re-reads a large catalog's index pages from the file on every search."""


def make_engine(url: str, **kwargs: object) -> Engine:
    """Create an engine with the store's connection settings for its backend."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, **kwargs)
    # Keep any libpq options the URL carries (e.g. a search_path) and add the lock timeout.
    options = parsed.query.get("options", "")
    # Times come back in UTC (no per-row conversion when reading the log).
    # No JIT: the read queries are short and JIT compilation of a plan whose estimate
    # crosses jit_above_cost costs far more than the query (a search's p95 showed it).
    options = (f"{options} -c lock_timeout={POSTGRES_LOCK_TIMEOUT_MS} -c timezone=UTC "
               "-c jit=off").strip()
    # No pre-ping (a round trip per checkout): the store invalidates a connection whose
    # driver call failed, so the next checkout reconnects after an outage.
    engine = create_engine(url, pool_recycle=1800, connect_args={"options": options}, **kwargs)
    from psycopg.types.json import set_json_loads  # only a PostgreSQL deployment needs it

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        # JSONB payloads parse with the C scanner directly (psycopg's default goes through
        # json.loads' encoding detection per value, a third of a log read's time).
        set_json_loads(_loads_json, dbapi_connection)

    return engine


_scan_json = json.JSONDecoder().scan_once


def _loads_json(data: bytes | memoryview | str):  # noqa: ANN202
    text = data if isinstance(data, str) else bytes(data).decode()
    return _scan_json(text.lstrip(), 0)[0]


def _sqlite_engine(url: str, database: str | None, **kwargs: object) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA synchronous={sqlite_synchronous()}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front so they queue on busy_timeout instead of
        # failing to upgrade a read lock mid-transaction; readers stay deferred.
        write = conn.get_execution_options().get("lineage_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def sqlite_synchronous() -> str:
    """NORMAL by default: in WAL mode a committed transaction survives a crash of the
    process (it is in the WAL), and the file is never corrupted; only a power cut or OS
    crash may lose the newest commits. FULL also fsyncs every commit."""
    value = os.environ.get("LINEAGE_SQLITE_SYNCHRONOUS", "NORMAL").upper()
    if value not in ("NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"LINEAGE_SQLITE_SYNCHRONOUS must be NORMAL, FULL or EXTRA, not {value}")
    return value


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that intends to write (``BEGIN IMMEDIATE`` on SQLite)."""
    with engine.connect() as conn:
        conn = conn.execution_options(lineage_write=True)
        with conn.begin():
            yield conn


@contextlib.contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for reads only.

    On PostgreSQL its driver connection runs in autocommit while it is out of the pool:
    no BEGIN before its first statement and no ROLLBACK when it goes back, two round
    trips of every checkout (a studio asset page made 16 checkouts for 20 statements:
    42 round trips). Each statement still sees one snapshot, as under READ COMMITTED
    inside a transaction. The flag is the driver's own, set and reset client-side:
    SQLAlchemy's isolation_level="AUTOCOMMIT" option asks the server for the level at
    every checkout, which costs more round trips than it saves. On SQLite a read keeps
    its deferred transaction (one snapshot for all its statements; no round trip to
    save)."""
    with engine.connect() as conn:
        if engine.dialect.name != "postgresql":
            yield conn
            return
        driver = conn.connection.dbapi_connection
        driver.autocommit = True
        try:
            yield conn
        finally:
            conn.rollback()  # SQLAlchemy's own bookkeeping; nothing is open on the server
            if not driver.closed:
                driver.autocommit = False


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextlib.contextmanager
def pooled_connection(engine: Engine) -> Iterator:
    """A pooled DBAPI connection. A driver-level failure (server down, restarted,
    connection lost) discards the pool so the next call reconnects, and is raised as
    ServiceUnavailable: the HTTP layer answers 503 with Retry-After, workers retry."""
    dbapi = engine.dialect.loaded_dbapi
    try:
        connection = engine.raw_connection()
    except (DBAPIError, dbapi.Error) as exc:  # raw_connection raises the driver's own
        raise unavailable(exc) from exc
    try:
        yield connection
    except (dbapi.OperationalError, dbapi.InterfaceError) as exc:
        connection.invalidate()
        if not is_sqlite(engine):
            engine.dispose(close=False)
        raise unavailable(exc) from exc
    finally:
        connection.close()


def unavailable(exc: BaseException) -> ServiceUnavailable:
    """The ServiceUnavailable a driver failure is reported as (its message's first line)."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    reason = text[0][:200] if text else type(exc).__name__
    return ServiceUnavailable(f"the database is unavailable ({reason})")
