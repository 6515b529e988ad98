"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL tests use a schema of their own per test process (search_path), so
concurrent runs never see each other's rows. With CI=true a missing service fails
the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from events.db import make_engine, normalise_url
from events.migrate import upgrade
from events.store import EventStore, ensure_head

POSTGRES_URL = os.environ.get(
    "LINEAGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
RABBITMQ_URL = os.environ.get("LINEAGE_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = os.environ.get("LINEAGE_TEST_BACKENDS", "sqlite,postgres").split(",")
# Tests that only need a pipeline run on the random-weight tiny model (fast, any size);
# the trained built-in model has its own tests (tests/integration/test_builtin_sketch.py).
os.environ.setdefault("LINEAGE_MODEL_DEFAULT", "builtin:tiny")


SHARED_DIR = Path(os.environ.get("LINEAGE_TEST_SHARED_DIR")
                  or Path(__file__).resolve().parents[2] / "shared")
"""Test material kept beside the clone (``../shared``), not in it."""


def shared_missing(path: Path) -> None:
    """For a test that reads ``path`` under SHARED_DIR when it is absent: fail in CI,
    skip with the reason on a developer machine (a fresh clone has no ../shared)."""
    message = (f"{path} is missing: this test reads the shared test material beside the "
               f"clone ({SHARED_DIR}; set LINEAGE_TEST_SHARED_DIR to use another place)")
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def service_missing(what: str, why: object) -> None:
    """Fail in CI, skip on a developer machine."""
    message = f"{what} is not reachable: {why}"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_schema_url():
    """A fresh schema for this test process, migrated to head; dropped at the end."""
    schema = f"t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    # pre_ping: fault tests restart PostgreSQL, which kills this engine's pooled connection.
    admin = create_engine(normalise_url(POSTGRES_URL), pool_pre_ping=True)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "missing"
        admin.dispose()
        yield exc
        return
    sep = "&" if "?" in POSTGRES_URL else "?"
    url = f"{normalise_url(POSTGRES_URL)}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "lineage.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _truncate_all(engine) -> None:  # noqa: ANN001
    with engine.begin() as conn:
        names = [row[0] for row in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename <> 'alembic_version'"))]
        if names:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " CASCADE"))
        ensure_head(conn)


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    """The URL of an empty, migrated database: a SQLite file or a PostgreSQL schema."""
    if request.param == "sqlite":
        path = tmp_path / "lineage.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def postgres_url(postgres_schema_url) -> str:
    """An empty, migrated PostgreSQL schema (for tests that need PostgreSQL only)."""
    if isinstance(postgres_schema_url, Exception):
        service_missing("PostgreSQL", postgres_schema_url)
    engine = make_engine(postgres_schema_url)
    try:
        _truncate_all(engine)
    finally:
        engine.dispose()
    return postgres_schema_url


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine) -> EventStore:
    return EventStore(engine)


@pytest.fixture
def backend(database_url) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgres"
