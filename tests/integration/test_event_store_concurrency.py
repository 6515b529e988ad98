"""Concurrent appends keep positions gap-free and commit-ordered, on both backends."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter

import pytest

from events.db import make_engine
from events.errors import ConcurrencyError
from events.store import ANY, EventStore, Metadata
from tests.integration.test_event_store import NoteAdded

APPENDS_PER_WRITER = 40


def _writer(store: EventStore, writer: int, outcome: dict) -> None:
    """Alternate between a private stream (exact versions) and a shared contended one."""
    for i in range(APPENDS_PER_WRITER):
        store.append(f"own-{writer}", i, [NoteAdded(text=f"{writer}:{i}")],
                     Metadata(actor_id=f"w{writer}"), stream_type="test")
        shared_version = store.stream_version("shared")
        try:
            store.append("shared", shared_version, [NoteAdded(text=f"s{writer}:{i}")],
                         stream_type="test")
            outcome["won"] += 1
        except ConcurrencyError:
            outcome["lost"] += 1


def _tail(store: EventStore, stop: threading.Event, seen: list[int]) -> None:
    after = 0
    while True:
        finished = stop.is_set()
        for recorded in store.read_all(after=after, limit=500):
            seen.append(recorded.position)
            after = recorded.position
        if finished and not store.read_all(after=after, limit=1):
            return
        store.wait_for_append(after, 0.01)


def _assert_log_consistent(store: EventStore, writers: int, shared_won: int) -> None:
    log = list(store.iter_all(page=1000))
    assert [r.position for r in log] == list(range(1, len(log) + 1))
    assert len(log) == writers * APPENDS_PER_WRITER + shared_won
    by_stream: dict[str, list[int]] = {}
    for recorded in log:
        by_stream.setdefault(recorded.stream_id, []).append(recorded.stream_version)
    for stream, versions in by_stream.items():
        assert versions == list(range(1, len(versions) + 1)), stream


def test_eight_threads_appending_keep_positions_and_versions_gap_free(store):
    outcome: Counter = Counter()
    seen: list[int] = []
    stop = threading.Event()
    tail = threading.Thread(target=_tail, args=(store, stop, seen))
    tail.start()
    threads = [threading.Thread(target=_writer, args=(store, w, outcome)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    tail.join()

    _assert_log_consistent(store, 8, outcome["won"])
    assert outcome["won"] + outcome["lost"] == 8 * APPENDS_PER_WRITER
    assert outcome["won"] == store.stream_version("shared")
    # The tailing reader saw every event exactly once, in position order.
    assert seen == list(range(1, store.head().position + 1))


def _process_writer(url: str, writer: int, results) -> None:  # noqa: ANN001
    engine = make_engine(url)
    outcome: Counter = Counter()
    _writer(EventStore(engine), writer, outcome)
    engine.dispose()
    results.put(dict(outcome))


def test_four_processes_appending_keep_positions_gap_free(store, database_url):
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [context.Process(target=_process_writer, args=(database_url, w, results))
                 for w in range(4)]
    for p in processes:
        p.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for p in processes:
        p.join(timeout=60)
        assert p.exitcode == 0

    won = sum(o.get("won", 0) for o in outcomes)
    lost = sum(o.get("lost", 0) for o in outcomes)
    assert won + lost == 4 * APPENDS_PER_WRITER
    _assert_log_consistent(store, 4, won)


@pytest.mark.parametrize("writers", [4])
def test_idempotent_command_raced_by_threads_is_recorded_once(store, writers):
    results = []

    def run() -> None:
        results.append(store.append("s", ANY, [NoteAdded(text="once")],
                                    Metadata(command_id="same-key"), stream_type="test"))

    threads = [threading.Thread(target=run) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.head().position == 1
    assert {r[0].event_id for r in results} == {store.read_stream("s")[0].event_id}
