"""One Alembic history creates every table on SQLite and PostgreSQL, and round-trips."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, inspect, text

from events.db import make_engine, normalise_url
from events.migrate import current_revision, downgrade, upgrade
from events.store import EventStore, Metadata
from events.verify import verify_chain
from tests.conftest import BACKENDS, POSTGRES_URL, service_missing
from tests.integration.test_event_store import NoteAdded


@pytest.fixture(params=BACKENDS)
def empty_engine(request, tmp_path):
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    schema = f"m_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(POSTGRES_URL))
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001
        service_missing("PostgreSQL", exc)
    engine = make_engine(f"{normalise_url(POSTGRES_URL)}?options=-csearch_path%3D{schema}")
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_upgrade_from_empty_creates_a_working_store(empty_engine):
    assert current_revision(empty_engine) is None

    upgrade(empty_engine)

    tables = set(inspect(empty_engine).get_table_names())
    assert {"events", "event_head", "event_commands", "entity_streams"} <= tables
    store = EventStore(empty_engine)
    store.append("s-1", 0, [NoteAdded(text="first")], Metadata(actor_id="u"),
                 stream_type="test")
    assert verify_chain(empty_engine).ok
    upgrade(empty_engine)  # idempotent
    assert store.head().position == 1


def test_downgrade_to_base_and_upgrade_again_round_trips(empty_engine):
    upgrade(empty_engine)
    head = current_revision(empty_engine)

    downgrade(empty_engine, "base")
    assert current_revision(empty_engine) is None
    assert "events" not in inspect(empty_engine).get_table_names()

    upgrade(empty_engine)
    assert current_revision(empty_engine) == head
    store = EventStore(empty_engine)
    store.append("s-1", 0, [NoteAdded(text="again")], stream_type="test")
    assert store.head().position == 1
