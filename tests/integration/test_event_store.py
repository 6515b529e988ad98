"""Event store contract, on SQLite and PostgreSQL (see tests/conftest.py)."""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from events.errors import ConcurrencyError
from events.schema import events
from events.store import ANY, NO_STREAM, Metadata, StreamAppend
from events.types import Event, UnknownEvent, event, upcaster
from events.verify import verify_chain


@event("test.note_added")
@dataclasses.dataclass(frozen=True, kw_only=True)
class NoteAdded(Event):
    text: str


@event("test.renamed", version=2)
@dataclasses.dataclass(frozen=True, kw_only=True)
class Renamed(Event):
    name: str
    reason: str


@upcaster("test.renamed", from_version=1)
def _renamed_v1_to_v2(payload: dict) -> dict:
    return {"name": payload["new_name"], "reason": "unknown"}


def note(text_: str) -> NoteAdded:
    return NoteAdded(text=text_)


def append(store, stream, expected, *texts, **meta):
    return store.append(stream, expected, [note(t) for t in texts], Metadata(**meta),
                        stream_type="test")


def test_given_empty_store_when_appending_then_positions_and_versions_start_at_one(store):
    recorded = append(store, "s-1", NO_STREAM, "a", "b", actor_id="u-1")

    assert [r.position for r in recorded] == [1, 2]
    assert [r.stream_version for r in recorded] == [1, 2]
    assert [r.event for r in store.read_stream("s-1")] == [note("a"), note("b")]
    assert store.read_stream("s-1")[0].actor_id == "u-1"
    assert store.head().position == 2


def test_given_stream_when_appending_with_stale_version_then_concurrency_error(store):
    append(store, "s-1", NO_STREAM, "a")

    with pytest.raises(ConcurrencyError) as info:
        append(store, "s-1", NO_STREAM, "b")
    assert (info.value.expected, info.value.actual) == (0, 1)
    with pytest.raises(ConcurrencyError):
        append(store, "s-1", 5, "b")
    assert [r.event.text for r in store.read_stream("s-1")] == ["a"]
    assert store.head().position == 1


def test_given_stream_when_appending_with_exact_or_any_version_then_appended(store):
    append(store, "s-1", NO_STREAM, "a")
    append(store, "s-1", 1, "b")
    append(store, "s-1", ANY, "c")

    assert [r.stream_version for r in store.read_stream("s-1")] == [1, 2, 3]


def test_failed_append_leaves_no_gap_in_positions(store):
    append(store, "s-1", NO_STREAM, "a")
    with pytest.raises(ConcurrencyError):
        append(store, "s-1", NO_STREAM, "lost")
    recorded = append(store, "s-2", NO_STREAM, "b")

    assert recorded[0].position == 2


def test_multi_stream_append_is_atomic(store):
    append(store, "s-1", NO_STREAM, "a")
    with pytest.raises(ConcurrencyError):
        store.append_streams([
            StreamAppend("s-2", "test", NO_STREAM, [note("x")]),
            StreamAppend("s-1", "test", NO_STREAM, [note("y")]),
        ])
    assert store.read_stream("s-2") == []
    recorded = store.append_streams([
        StreamAppend("s-2", "test", NO_STREAM, [note("x")]),
        StreamAppend("s-1", "test", 1, [note("y")]),
    ])
    assert [(r.stream_id, r.position) for r in recorded] == [("s-2", 2), ("s-1", 3)]


def test_same_command_id_twice_yields_one_set_of_events(store):
    first = append(store, "s-1", ANY, "a", "b", command_id="cmd-1")
    again = append(store, "s-1", ANY, "a", "b", command_id="cmd-1")

    assert [r.event_id for r in again] == [r.event_id for r in first]
    assert len(store.read_stream("s-1")) == 2
    assert store.head().position == 2
    assert [r.event_id for r in store.recorded_for_command("cmd-1")] == [
        r.event_id for r in first]
    assert store.recorded_for_command("never") is None


def test_read_stream_up_to_version_and_time(store):
    append(store, "s-1", NO_STREAM, "a")
    time.sleep(0.01)
    middle = append(store, "s-1", 1, "b")[0].recorded_at
    time.sleep(0.01)
    append(store, "s-1", 2, "c")

    assert [r.event.text for r in store.read_stream("s-1", up_to_version=2)] == ["a", "b"]
    assert [r.event.text for r in store.read_stream("s-1", as_of=middle)] == ["a", "b"]
    before = middle - timedelta(microseconds=1)
    assert [r.event.text for r in store.read_stream("s-1", as_of=before)] == ["a"]
    # A cached fold's tail: from a version, optionally up to another.
    assert [r.event.text for r in store.read_stream("s-1", from_version=2)] == ["b", "c"]
    assert [r.event.text for r in store.read_stream("s-1", from_version=2,
                                                     up_to_version=2)] == ["b"]


def test_read_streams_reads_several_streams_in_one_position_ordered_list(store):
    append(store, "s-1", NO_STREAM, "a1", "a2")
    append(store, "s-2", NO_STREAM, "b1")
    append(store, "s-1", 2, "a3")
    append(store, "s-3", NO_STREAM, "c1")

    read = store.read_streams(["s-1", "s-2", "never-written", "s-1"])

    assert [r.event.text for r in read] == ["a1", "a2", "b1", "a3"]
    assert [(r.stream_id, r.stream_version) for r in read] == [
        ("s-1", 1), ("s-1", 2), ("s-2", 1), ("s-1", 3)]
    assert read == [r for r in store.read_all() if r.stream_id in ("s-1", "s-2")]
    assert store.read_streams([]) == []


def test_read_streams_up_to_version_and_time_cut_each_stream(store):
    append(store, "s-1", NO_STREAM, "a1", "a2")
    append(store, "s-2", NO_STREAM, "b1", "b2")
    time.sleep(0.01)
    middle = append(store, "s-1", 2, "a3")[0].recorded_at
    time.sleep(0.01)
    append(store, "s-2", 2, "b3")

    first = store.read_streams(["s-1", "s-2"], up_to_version=1)
    assert [r.event.text for r in first] == ["a1", "b1"]
    then = store.read_streams(["s-1", "s-2"], as_of=middle)
    assert [r.event.text for r in then] == ["a1", "a2", "b1", "b2", "a3"]
    before = store.read_streams(["s-1", "s-2"], as_of=middle - timedelta(microseconds=1))
    assert [r.event.text for r in before] == ["a1", "a2", "b1", "b2"]
    assert [r.event.text for r in store.read_streams(["s-2"], as_of=middle)] == [
        r.event.text for r in store.read_stream("s-2", as_of=middle)]


def test_read_streams_of_more_streams_than_one_query_names_keep_position_order(
        store, monkeypatch):
    monkeypatch.setattr("events.store.STREAMS_PER_QUERY", 2)
    for n in range(5):
        append(store, f"s-{n}", NO_STREAM, f"{n}-first")
    for n in reversed(range(5)):
        append(store, f"s-{n}", 1, f"{n}-second")

    read = store.read_streams([f"s-{n}" for n in range(5)])

    assert [r.event.text for r in read] == [
        *(f"{n}-first" for n in range(5)), *(f"{n}-second" for n in reversed(range(5)))]
    assert [r.position for r in read] == list(range(1, 11))


def test_read_all_pages_in_position_order_and_filters(store):
    for i in range(25):
        append(store, f"s-{i % 3}", ANY, f"n{i}")
    store.append("r-1", NO_STREAM, [Renamed(name="x", reason="y")], stream_type="other")

    page1 = store.read_all(after=0, limit=10)
    page2 = store.read_all(after=page1[-1].position, limit=10)
    assert [r.position for r in page1 + page2] == list(range(1, 21))
    assert [r.position for r in store.iter_all(page=7)] == list(range(1, 27))
    assert [r.event_type for r in store.read_all(stream_types=["other"])] == ["test.renamed"]
    assert len(store.read_all(event_types=["test.note_added"], limit=100)) == 25


def test_recorded_at_never_decreases(store):
    for i in range(20):
        append(store, "s-1", ANY, str(i))
    times = [r.recorded_at for r in store.read_all(limit=100)]
    assert times == sorted(times)
    assert all(t.tzinfo is not None for t in times)


def test_old_shape_row_reads_as_new_shape(store, engine):
    append(store, "s-1", NO_STREAM, "a")
    # A row written by older code: schema version 1 of test.renamed had `new_name`.
    with engine.begin() as conn:
        conn.execute(text(
            "UPDATE events SET event_type = 'test.renamed', schema_version = 1, "
            "payload = :payload WHERE position = 1"), {"payload": '{"new_name": "Poster"}'})

    [recorded] = store.read_stream("s-1")
    assert recorded.event == Renamed(name="Poster", reason="unknown")
    assert recorded.schema_version == 1


def test_unknown_event_type_reads_as_unknown_event(store, engine):
    append(store, "s-1", NO_STREAM, "a")
    with engine.begin() as conn:
        conn.execute(text("UPDATE events SET event_type = 'future.thing' WHERE position = 1"))
    [recorded] = store.read_stream("s-1")
    assert isinstance(recorded.event, UnknownEvent)
    assert recorded.event.payload == {"text": "a"}


def test_payload_that_is_not_plain_json_is_refused_before_anything_is_written(store):
    from events.errors import DomainError

    with pytest.raises(DomainError):
        store.append("s-1", NO_STREAM, [NoteAdded(text=float("nan"))], stream_type="test")
    assert store.head().position == 0


class TestHashChain:
    def test_untouched_log_verifies(self, store, engine):
        for i in range(30):
            append(store, f"s-{i % 4}", ANY, str(i), actor_id="u")
        report = verify_chain(engine, page=7)
        assert report.ok, report
        assert report.checked == 30

    @pytest.mark.parametrize("column,value", [
        ("payload", '{"text": "forged"}'),
        ("actor_id", "mallory"),
        ("stream_version", 99),
    ])
    def test_edited_column_is_detected_at_its_position(self, store, engine, column, value):
        for i in range(10):
            append(store, "s-1", ANY, str(i), actor_id="alice")
        with engine.begin() as conn:
            conn.execute(text(f"UPDATE events SET {column} = :v WHERE position = 6"),
                         {"v": value})
        report = verify_chain(engine)
        assert not report.ok
        assert report.first_bad_position == 6

    def test_edited_time_is_detected(self, store, engine):
        for i in range(5):
            append(store, "s-1", ANY, str(i))
        with engine.begin() as conn:
            conn.execute(events.update().where(events.c.position == 3)
                         .values(recorded_at=datetime(2026, 1, 1, 12, 0)))
        assert verify_chain(engine).first_bad_position == 3

    def test_deleted_middle_event_is_detected(self, store, engine):
        for i in range(5):
            append(store, "s-1", ANY, str(i))
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM events WHERE position = 2"))
        report = verify_chain(engine)
        assert (report.ok, report.first_bad_position) == (False, 2)

    def test_deleted_tail_is_detected_through_the_head_row(self, store, engine):
        for i in range(5):
            append(store, "s-1", ANY, str(i))
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM events WHERE position = 5"))
        report = verify_chain(engine)
        assert (report.ok, report.first_bad_position) == (False, 5)

    def test_swapped_payloads_are_detected(self, store, engine):
        for i in range(5):
            append(store, "s-1", ANY, str(i))
        with engine.begin() as conn:
            conn.execute(text("UPDATE events SET payload = :p WHERE position = 2"),
                         {"p": '{"text": "3"}'})
            conn.execute(text("UPDATE events SET payload = :p WHERE position = 4"),
                         {"p": '{"text": "1"}'})
        assert verify_chain(engine).first_bad_position == 2


def test_entities_created_in_a_stream_can_be_located(store):
    store.append_streams([StreamAppend("asset-1", "asset", NO_STREAM, [note("v")],
                                       entity_ids=("version-a", "comment-b"))])
    assert store.locate("version-a") == "asset-1"
    assert store.locate("comment-b") == "asset-1"
    assert store.locate("nothing") is None


def test_nul_characters_are_refused_on_every_backend_but_escaped_text_is_kept(store):
    from events.errors import DomainError

    with pytest.raises(DomainError, match="NUL"):
        append(store, "s-1", NO_STREAM, "bad\x00text")
    append(store, "s-1", NO_STREAM, "literal \\u0000 is fine")
    assert store.read_stream("s-1")[0].event.text == "literal \\u0000 is fine"


def test_reordered_events_are_detected(store, engine):
    """Swapping two rows' positions behind the application's back breaks the chain."""
    for i in range(6):
        append(store, "s-1", ANY, str(i))
    with engine.begin() as conn:
        conn.execute(text("UPDATE events SET position = 1000 WHERE position = 3"))
        conn.execute(text("UPDATE events SET position = 3 WHERE position = 4"))
        conn.execute(text("UPDATE events SET position = 4 WHERE position = 1000"))
    report = verify_chain(engine)
    assert (report.ok, report.first_bad_position) == (False, 3)
