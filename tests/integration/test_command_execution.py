"""The shared command step (commands/state.execute) on a real store: lost races are
re-planned, a pinned If-Match is not, and concurrent final requests cannot both pass the
final-render cap (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest

from commands.assets import create_asset
from commands.generation import request_generation
from commands.projects import create_project, set_policies
from commands.state import execute, fold
from commands.users import Principal, create_user
from events.assets import TagAdded
from events.errors import ConcurrencyError, PolicyViolation
from events.store import ANY, Metadata, StreamAppend


def _tagger(store, stream: str, tag: str, rival_tags: list[str]):  # noqa: ANN001, ANN202
    """A plan that lets a rival append first on each of its first calls (a lost race)."""
    calls = []

    def plan() -> list[StreamAppend]:
        _, version = fold(store, stream, [], lambda s, e, at: None)
        calls.append(version)
        if rival_tags:
            store.append(stream, ANY, [TagAdded(tag=rival_tags.pop())], Metadata(),
                         stream_type="asset")
        return [StreamAppend(stream, "asset", version, [TagAdded(tag=tag)])]

    return plan, calls


def test_a_lost_race_is_replanned_until_it_wins(store):
    plan, calls = _tagger(store, "asset-x", "mine", ["rival-2", "rival-1"])

    recorded = execute(store, Metadata(actor_id="u"), plan)

    assert [r.event.tag for r in store.read_stream("asset-x")] == ["rival-1", "rival-2", "mine"]
    assert recorded[0].stream_version == 3 and calls == [0, 1, 2]


def test_with_if_match_the_lost_race_is_the_clients_answer(store):
    plan, calls = _tagger(store, "asset-y", "mine", ["rival"])

    with pytest.raises(ConcurrencyError):
        execute(store, Metadata(actor_id="u"), plan, if_match=0)
    assert calls == [0]
    assert [r.event.tag for r in store.read_stream("asset-y")] == ["rival"]


def test_a_repeated_command_id_returns_the_first_events_without_planning(store):
    plan, calls = _tagger(store, "asset-z", "mine", [])
    first = execute(store, Metadata(actor_id="u", command_id="k1"), plan)

    again = execute(store, Metadata(actor_id="u", command_id="k1"), plan)

    assert [r.event_id for r in again] == [r.event_id for r in first]
    assert calls == [0]


def test_concurrent_final_requests_cannot_both_pass_the_cap(store):
    user, _ = create_user(store, "ann")
    ann = Principal(user.user_id, "ann", False, "t")
    project, _ = create_project(store, ann, Metadata(actor_id=ann.user_id), name="P")
    set_policies(store, ann, Metadata(actor_id=ann.user_id), project["project_id"],
                 {"final_render_cap": 1})
    asset, _, _ = create_asset(store, ann, Metadata(actor_id=ann.user_id),
                               project["project_id"], name="Hero")
    params = {"prompt": "fox", "width": 64, "height": 64, "tier": "final"}
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def request() -> None:
        start.wait()
        try:
            request_generation(store, ann, Metadata(actor_id=ann.user_id), asset["asset_id"],
                               params)
            outcomes.append("accepted")
        except PolicyViolation:
            outcomes.append("refused")

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["accepted", "refused", "refused", "refused"]
