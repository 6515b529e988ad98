"""How appends reach the database: event ids, stream creation races, the SQLite write
connection and its WAL checkpoints, group commit (SQLite and PostgreSQL unless named)."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
import uuid

import pytest

from events.db import make_engine
from events.errors import ConcurrencyError
from events.migrate import upgrade
from events.store import ANY, NO_STREAM, EventStore, Metadata, StreamAppend
from events.verify import verify_chain
from events.wal import RESTART_PAGES
from tests.integration.test_event_store import append, note


def test_event_ids_are_version_7_uuids_that_sort_in_the_order_events_were_appended(store):
    first = append(store, "s-1", NO_STREAM, "a", "b", "c")
    time.sleep(0.002)  # ids carry milliseconds: a later append sorts after
    later = append(store, "s-2", NO_STREAM, "d")

    ids = [r.event_id for r in first + later]
    assert all(uuid.UUID(i).version == 7 and uuid.UUID(i).variant == uuid.RFC_4122
               for i in ids)
    assert sorted(ids) == ids
    assert len(set(ids)) == 4
    assert [r.event_id for r in store.read_all()] == ids


def test_creating_a_stream_that_exists_reports_its_current_version(store):
    append(store, "s-1", NO_STREAM, "a", "b")

    with pytest.raises(ConcurrencyError) as info:
        store.append_streams([StreamAppend("s-new", "test", NO_STREAM, [note("x")]),
                              StreamAppend("s-1", "test", NO_STREAM, [note("y")])])

    assert info.value.extra == {"stream_id": "s-1", "expected_version": 0,
                                "actual_version": 2}
    assert store.read_stream("s-new") == []
    assert append(store, "s-2", NO_STREAM, "c")[0].position == 3


def test_appends_go_on_after_the_engine_is_disposed(store, engine):
    append(store, "s-1", NO_STREAM, "a")
    engine.dispose()

    append(store, "s-1", 1, "b")

    assert [r.event for r in store.read_stream("s-1")] == [note("a"), note("b")]


def test_sqlite_commits_reach_the_database_file_soon_without_a_full_wal(tmp_path):
    """A background checkpoint copies commits into the main file, so no appending
    request pays for it; without one, a few appends stay in the WAL until it holds
    1,000 pages."""
    engine = make_engine(f"sqlite:///{tmp_path / 'lineage.db'}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store = EventStore(engine)
    for i in range(5):
        store.append(f"s-{i}", NO_STREAM, [note(str(i))], Metadata(), stream_type="test")

    deadline = time.monotonic() + 10
    in_file = 0
    while in_file < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
        in_file = _events_in_main_file(tmp_path / "lineage.db", tmp_path / "copy")
    engine.dispose()

    assert in_file == 5


def test_sqlite_wal_stays_short_while_appends_never_pause(tmp_path, monkeypatch):
    """Checkpoints catch up with a writer that never stops, so the WAL starts over
    instead of growing (a growing file costs FULL's fsyncs its size change each time)."""
    monkeypatch.setenv("LINEAGE_SQLITE_SYNCHRONOUS", "FULL")
    path = tmp_path / "lineage.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    store = EventStore(engine)
    for i in range(1500):  # ~6,000 WAL pages written
        store.append(f"s-{i}", NO_STREAM, [note(str(i))], Metadata(), stream_type="test")
    wal_pages = (tmp_path / "lineage.db-wal").stat().st_size // 4096
    engine.dispose()

    assert wal_pages < 3 * RESTART_PAGES


def _events_in_main_file(path, scratch) -> int:  # noqa: ANN001
    """Count the events in a copy of the database file alone (its WAL left behind)."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    shutil.copyfile(path, scratch / "alone.db")
    connection = sqlite3.connect(scratch / "alone.db")
    try:
        return connection.execute("SELECT count(*) FROM events").fetchone()[0]
    except sqlite3.DatabaseError:  # copied mid-checkpoint: try again
        return 0
    finally:
        connection.close()


def test_sqlite_writers_of_one_store_share_one_connection_yet_see_other_writers(tmp_path):
    """Another process's (here another store's) appends are seen by the next append."""
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    engine = make_engine(url)
    upgrade(engine)
    ours, theirs = EventStore(engine), EventStore(make_engine(url))

    append(ours, "s-1", NO_STREAM, "a")
    append(theirs, "s-1", 1, "b")
    with pytest.raises(ConcurrencyError):
        append(ours, "s-1", 1, "c")
    recorded = append(ours, "s-1", ANY, "c")

    assert (recorded[0].position, recorded[0].stream_version) == (3, 3)
    assert [r.position for r in ours.read_all()] == [1, 2, 3]
    theirs.engine.dispose()
    engine.dispose()


def test_two_stores_on_one_database_check_against_what_the_other_appended(database_url):
    """A store remembers the head it last wrote (on PostgreSQL it appends after it in one
    round trip): another store's (another process's) appends move the head under it, and
    its next appends still check versions, stream creation and command ids exactly."""
    ours, theirs = EventStore(make_engine(database_url)), EventStore(make_engine(database_url))
    append(ours, "s-1", NO_STREAM, "a")
    append(ours, "s-1", 1, "b")
    append(theirs, "s-1", 2, "c")

    with pytest.raises(ConcurrencyError):
        append(ours, "s-1", 2, "stale")
    first = append(theirs, "s-2", NO_STREAM, "d", command_id="cmd-1")
    again = append(ours, "s-2", NO_STREAM, "d", command_id="cmd-1")
    with pytest.raises(ConcurrencyError):
        append(ours, "s-2", NO_STREAM, "exists")
    append(ours, "s-1", 3, "e")
    with pytest.raises(ConcurrencyError):  # the head as ours knows it, a version ahead
        append(ours, "s-1", 9, "ahead")
    mine = append(ours, "s-3", NO_STREAM, "f", command_id="cmd-2")
    mine_again = append(ours, "s-3", NO_STREAM, "f", command_id="cmd-2")
    append(theirs, "s-1", 4, "g")
    last = append(ours, "s-1", 5, "h")

    assert [r.event_id for r in again] == [r.event_id for r in first]
    assert [r.event_id for r in mine_again] == [r.event_id for r in mine]
    assert [(r.position, r.stream_id, r.stream_version, r.event.text)
            for r in ours.read_all()] == [
        (1, "s-1", 1, "a"), (2, "s-1", 2, "b"), (3, "s-1", 3, "c"), (4, "s-2", 1, "d"),
        (5, "s-1", 4, "e"), (6, "s-3", 1, "f"), (7, "s-1", 5, "g"), (8, "s-1", 6, "h")]
    assert last[0].prev_hash == ours.read_all()[-2].hash
    assert ours.head().position == 8
    assert verify_chain(ours.engine).ok
    theirs.engine.dispose()
    ours.engine.dispose()


def test_appends_queued_together_are_written_as_if_one_after_another(store, engine):
    """Appends that queue while another is written share one transaction and commit, yet
    each is checked against those before it and fails or succeeds on its own."""
    append(store, "s-1", NO_STREAM, "a")
    attempts = [
        ("s-1 at 1", lambda: append(store, "s-1", 1, "b")),
        ("s-1 at 1 again", lambda: append(store, "s-1", 1, "c")),
        ("create s-new", lambda: append(store, "s-new", NO_STREAM, "d")),
        ("create s-new again", lambda: append(store, "s-new", NO_STREAM, "e")),
        ("command", lambda: append(store, "s-2", NO_STREAM, "f", command_id="cmd-1")),
        ("command again", lambda: append(store, "s-3", NO_STREAM, "g", command_id="cmd-1")),
        ("s-1 at any", lambda: append(store, "s-1", ANY, "h")),
    ]
    group = store._writer.group
    outcomes: dict[str, object] = {}

    def attempt(name, call) -> None:  # noqa: ANN001
        try:
            outcomes[name] = call()
        except ConcurrencyError as exc:
            outcomes[name] = exc

    threads = []
    with group._state:  # a write under way: every attempt queues behind it, in order
        group._writing = True
    for name, call in attempts:
        threads.append(threading.Thread(target=attempt, args=(name, call)))
        threads[-1].start()
        while len(group._queue) < len(threads):
            time.sleep(0.001)
    with group._state:  # that write ends: the first waiter writes the whole queue
        group._writing = False
        group._state.notify_all()
    for thread in threads:
        thread.join()

    def positions(name: str) -> list[int]:
        return [r.position for r in outcomes[name]]

    assert positions("s-1 at 1") == [2]
    assert outcomes["s-1 at 1 again"].extra["actual_version"] == 2
    assert positions("create s-new") == [3]
    assert outcomes["create s-new again"].extra["actual_version"] == 1
    assert positions("command") == positions("command again") == [4]
    assert [r.stream_version for r in outcomes["s-1 at any"]] == [3]
    assert positions("s-1 at any") == [5]
    assert [r.event for r in store.read_all()] == [note(t) for t in "abdfh"]
    assert store.head().position == 5
    assert verify_chain(engine).ok


def test_connections_read_with_a_large_page_cache_and_without_jit(engine, backend):
    """Searches over a large catalog re-read index pages with SQLite's 2 MiB default
    cache; PostgreSQL's JIT compiles plans whose estimate crosses jit_above_cost, which
    costs far more than the short read queries themselves."""
    with engine.connect() as conn:
        if backend == "sqlite":
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() <= -64 * 1024
        else:
            assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
