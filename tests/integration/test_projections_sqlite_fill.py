"""A SQLite replay filled by two processes: the second writes a side file of its own,
copied into the database before the swap (projections/fill.py).

The second process is spawned with only the database URL and the projections' names, so
a replay may start while other threads of this process are inside SQLite calls (a
forked child could wait forever for the mutexes they held): each replay here runs
beside a thread that keeps reading the database."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from events.db import make_engine
from events.schema import events
from events.store import EventStore
from projections import audit, catalog
from projections.compare import differences, snapshot
from projections.fill import processes_for, split
from projections.registry import make_runner
from projections.search import SearchQuery, search
from tests.integration.test_projections_runner import failing_second_fill, rich_history
from tests.read_history import History


@pytest.fixture
def sqlite_store(sqlite_template, tmp_path):
    path = tmp_path / "lineage.db"
    shutil.copyfile(sqlite_template, path)
    store = EventStore(make_engine(f"sqlite:///{path}"))
    yield store
    store.engine.dispose()


def replay_alone(store: EventStore, *names: str, fail: bool = False) -> tuple[int, str]:
    """Replay ``names`` (default all) in this process while another thread keeps
    reading the database: how many processes filled, and what the replay returned
    (events read) or raised."""
    engine = store.engine
    runner = (failing_second_fill(engine) if fail else
              make_runner(engine, batch_size=4, replay_batch_size=5, fill_processes=2))
    stop = threading.Event()

    def keep_reading() -> None:
        while not stop.is_set():
            with engine.connect() as conn:
                conn.execute(select(func.count()).select_from(events)).scalar_one()
            time.sleep(0.005)

    reader = threading.Thread(target=keep_reading)
    reader.start()
    try:
        processes = processes_for(engine, 2)
        try:
            return processes, str(runner.replay(*names))
        except Exception as exc:  # noqa: BLE001 - the test reads it
            return processes, f"{type(exc).__name__}: {exc}"
    finally:
        stop.set()
        reader.join()


def files_beside(store: EventStore) -> set[str]:
    """The names of the files in the database's folder."""
    return {path.name for path in Path(store.engine.url.database).parent.iterdir()}


def test_two_fill_processes_on_sqlite_replay_what_incremental_built(sqlite_store):
    store = sqlite_store
    ids = rich_history(History(store), count=2)
    runner = make_runner(store.engine, batch_size=4, replay_batch_size=5)
    runner.catch_up()
    incremental = snapshot(store.engine)
    query = SearchQuery(projects=[ids["project"]], q="scarf")
    with store.engine.connect() as conn:
        found = search(conn, query)
    assert found["total"] > 0
    before = files_beside(store)

    assert replay_alone(store) == (2, str(store.head().position))
    # Equal costs: the catalog goes to the second process, its full-text table with it.
    assert [[t[0].name for t in group] for group in split(
        [(p, None, p.name) for p in (audit.PROJECTION, catalog.PROJECTION)], 2)] == [
        ["audit"], ["catalog"]]
    assert replay_alone(store, "audit", "catalog")[0] == 2

    assert differences(incremental, snapshot(store.engine)) == []
    with store.engine.connect() as conn:
        assert search(conn, query) == found
    assert all(s.behind == 0 for s in runner.status())
    assert files_beside(store) <= before  # no side file left behind


def test_a_failed_second_fill_process_on_sqlite_swaps_nothing(sqlite_store):
    store = sqlite_store
    rich_history(History(store), count=2)
    make_runner(store.engine).catch_up()
    before = snapshot(store.engine)
    files = files_beside(store)

    processes, raised = replay_alone(store, fail=True)

    assert processes == 2
    assert raised.startswith("RuntimeError: the replay's second fill process failed"), raised
    assert differences(before, snapshot(store.engine)) == []
    assert files_beside(store) <= files
    assert replay_alone(store) == (2, str(store.head().position))
    assert differences(before, snapshot(store.engine)) == []
