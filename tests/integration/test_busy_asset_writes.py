"""Many writers on one asset (SQLite and PostgreSQL): requests whose decision no later
event can invalidate never lose a race; others re-plan after a jittered wait."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from commands import state
from commands.asset_state import AssetState, apply
from commands.generation import request_generation
from commands.reviews import add_comment
from commands.state import fold
from events.assets import TagAdded
from events.store import ANY, EventStore, Metadata, StreamAppend
from tests.integration.asset_support import World, add_version, make_world

THREADS = 16


@pytest.fixture
def world(store) -> World:
    return make_world(store)


def _in_threads(work: Callable[[int], None]) -> list[BaseException]:
    start = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def run(n: int) -> None:
        start.wait()
        try:
            for _ in range(3):
                work(n)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def _asset(store: EventStore, asset_id: str, up_to_version: int | None = None):  # noqa: ANN202
    return fold(store, f"asset-{asset_id}", AssetState(), apply, up_to_version=up_to_version)


def test_sixteen_threads_commenting_on_one_asset_all_succeed(store, world):
    ann, asset_id = world.ann, world.asset_id
    version_id = add_version(store, asset_id)
    answers: list[tuple[dict, int]] = []

    def comment(n: int) -> None:
        body, version, _ = add_comment(store, ann, Metadata(actor_id=ann.user_id), version_id,
                                       body=f"from thread {n}")
        answers.append((body, version))

    assert _in_threads(comment) == []
    asset, version = _asset(store, asset_id)
    assert len(asset.comments) == 3 * THREADS and version == 2 + 3 * THREADS
    for body, at in answers:  # each answer shows the asset just after its own comment
        past, _ = _asset(store, asset_id, up_to_version=at)
        assert list(past.comments)[-1] == body["comment_id"]
        assert past.comments[body["comment_id"]].event.body == body["body"]


def test_sixteen_threads_requesting_drafts_on_one_asset_all_succeed(store, world):
    ann, asset_id = world.ann, world.asset_id
    params = {"prompt": "fox", "width": 64, "height": 64, "tier": "draft"}

    def draft(_: int) -> None:
        request_generation(store, ann, Metadata(actor_id=ann.user_id), asset_id, params)

    assert _in_threads(draft) == []
    assert len(_asset(store, asset_id)[0].pending_jobs) == 3 * THREADS


def test_a_lost_race_waits_a_jittered_moment_before_planning_again(store, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(state, "sleep", waits.append)
    rivals = ["rival-2", "rival-1"]

    def plan() -> list[StreamAppend]:
        _, version = fold(store, "asset-w", None, lambda *_: None)
        if rivals:  # a rival appends first: this plan loses its race
            store.append("asset-w", ANY, [TagAdded(tag=rivals.pop())], Metadata(),
                         stream_type="asset")
        return [StreamAppend("asset-w", "asset", version, [TagAdded(tag="mine")])]

    state.execute(store, Metadata(actor_id="u"), plan)

    assert len(waits) == 2
    assert all(0 <= wait <= state.BACKOFF_SECONDS * 2 ** n for n, wait in enumerate(waits, 1))
