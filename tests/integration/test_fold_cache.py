"""The write side's fold cache (commands/fold_cache) on a real store: a cached fold always
equals a fresh one, whoever appended in between, and cached states are never changed
under their readers (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import uuid

import pytest

from commands import fold_cache, state
from commands.asset_state import ASSET, AssetState, apply, load_asset
from commands.assets import create_asset
from commands.people import Principal, authenticate, create_user, revoke_token
from commands.projects import create_project, load_project, set_member_role
from commands.reviews import add_comment, record_decision, resolve_comment
from commands.state import fold
from events.assets import TagAdded, VersionCreated
from events.db import make_engine
from events.errors import Unauthorized
from events.projects import ComputeUsed
from events.store import ANY, EventStore, Metadata, StreamAppend


@pytest.fixture
def other_store(database_url):
    """A second store on the same database: another API process."""
    engine = make_engine(database_url)
    yield EventStore(engine)
    engine.dispose()


@pytest.fixture
def world(store):
    user, token = create_user(store, "ann")
    ann = Principal(user.user_id, "ann", False, token.token_id)
    meta = Metadata(actor_id=ann.user_id)
    project, _ = create_project(store, ann, meta, name="P")
    asset, _, _ = create_asset(store, ann, meta, project["project_id"], name="Hero")
    return ann, project["project_id"], asset["asset_id"], token


def _add_version(store: EventStore, asset_id: str, parents: list[str] | None = None) -> str:
    version_id = str(uuid.uuid4())
    store.append_streams([StreamAppend(f"asset-{asset_id}", "asset", ANY, [VersionCreated(
        version_id=version_id, asset_id=asset_id, author_id="u", operation="upload",
        tier="draft", content_hash="ab" * 32, width=64, height=64, recipe={},
        parent_ids=parents or [])], entity_ids=(version_id,))], Metadata(actor_id="u"))
    return version_id


def _fresh(store: EventStore, asset_id: str) -> tuple[AssetState, int]:
    return fold(store, f"asset-{asset_id}", AssetState(), apply)


def test_a_cached_fold_equals_a_fresh_one_after_writes_from_another_process(
        store, other_store, world):
    ann, _, asset_id, _ = world
    meta = Metadata(actor_id=ann.user_id)
    root = _add_version(store, asset_id)
    for step in range(4):
        cached, version = load_asset(store, asset_id)  # this process caches the fold
        assert (cached, version) == _fresh(store, asset_id)
        # Another process appends: a child version, comments, a resolve, a decision.
        child = _add_version(other_store, asset_id, [root])
        body, _, _ = add_comment(other_store, ann, meta, child, body=f"note {step}")
        resolve_comment(other_store, ann, meta, body["comment_id"])
        record_decision(other_store, ann, meta, child, decision="approved")
        add_comment(store, ann, meta, root, body="mine")  # and this one too

    cached, version = load_asset(store, asset_id)
    assert (cached, version) == _fresh(store, asset_id)
    assert len(cached.versions[root].children) == 4
    assert all(c.resolved for c in cached.comments.values() if c.event.body != "mine")


def test_catching_up_never_changes_a_state_already_handed_out(store, world):
    ann, _, asset_id, _ = world
    meta = Metadata(actor_id=ann.user_id)
    root = _add_version(store, asset_id)
    body, _, _ = add_comment(store, ann, meta, root, body="fix the sky")
    before, version = load_asset(store, asset_id)

    _add_version(store, asset_id, [root])
    resolve_comment(store, ann, meta, body["comment_id"])
    after, _ = load_asset(store, asset_id)

    assert (before, version) == fold(store, f"asset-{asset_id}", AssetState(), apply,
                                     up_to_version=version)
    assert before.versions[root].children == () and len(after.versions[root].children) == 1
    assert not before.comments[body["comment_id"]].resolved
    assert after.comments[body["comment_id"]].resolved


def test_a_cached_prefix_the_stream_no_longer_has_is_folded_again(store, world):
    _, _, asset_id, _ = world
    _add_version(store, asset_id)
    stream = f"asset-{asset_id}"
    real, version = _fresh(store, asset_id)
    # As if the database had been restored behind the process: same version, other event.
    fold_cache.cache_of(store).remember(
        stream, ASSET, fold_cache.Folded(AssetState(asset_id="stale"), version, "0" * 64))

    assert load_asset(store, asset_id) == (real, version)


def test_project_folds_follow_jobs_finishing_elsewhere(store, other_store, world):
    ann, project_id, asset_id, _ = world
    assert load_project(store, project_id)[0].compute_used_seconds == 0
    other_store.append(f"project-{project_id}", ANY,
                       [ComputeUsed(job_id="j", asset_id=asset_id, seconds=2.5)],
                       Metadata(), stream_type="project")
    newcomer, _ = create_user(other_store, "bob")
    set_member_role(other_store, ann, Metadata(actor_id=ann.user_id), project_id,
                    newcomer.user_id, "viewer")

    project, _ = load_project(store, project_id)

    assert project.compute_used_seconds == 2.5
    assert project.members[newcomer.user_id] == "viewer"


def test_a_token_revoked_by_another_process_fails_the_next_authentication(
        store, other_store, world):
    ann, _, _, token = world
    assert authenticate(store, token.token).user_id == ann.user_id  # now cached here

    revoke_token(other_store, token.token_id, actor_id=ann.user_id)

    with pytest.raises(Unauthorized, match="revoked"):
        authenticate(store, token.token)


def test_more_streams_than_the_cache_holds_still_fold_correctly(store, world, monkeypatch):
    monkeypatch.setattr(fold_cache, "STREAMS_PER_STORE", 2)
    fold_cache._caches.pop(store, None)  # a cache built with the small bound
    ann, project_id, _, _ = world
    meta = Metadata(actor_id=ann.user_id)
    assets = [create_asset(store, ann, meta, project_id, name=f"A{i}")[0]["asset_id"]
              for i in range(4)]
    for _ in range(2):
        for asset_id in assets:
            _add_version(store, asset_id)
            assert load_asset(store, asset_id) == _fresh(store, asset_id)
    assert len(fold_cache.cache_of(store)._folds.items) == 2


def test_sixteen_threads_commenting_on_one_asset_all_succeed(store, world):
    ann, _, asset_id, _ = world
    version_id = _add_version(store, asset_id)
    start = threading.Barrier(16)
    answers: list[tuple[dict, int]] = []
    failures: list[BaseException] = []

    def comment(n: int) -> None:
        start.wait()
        try:
            for _ in range(3):
                body, version, _ = add_comment(store, ann, Metadata(actor_id=ann.user_id),
                                               version_id, body=f"from thread {n}")
                answers.append((body, version))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=comment, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    asset, version = _fresh(store, asset_id)
    assert len(asset.comments) == 48 and version == 2 + 48
    for body, at in answers:  # each answer shows the asset just after its own comment
        past, _ = fold(store, f"asset-{asset_id}", AssetState(), apply, up_to_version=at)
        assert past.comments[body["comment_id"]].event.body == body["body"]
        assert list(past.comments)[-1] == body["comment_id"]


def test_a_lost_race_waits_a_jittered_moment_before_planning_again(store, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(state.time, "sleep", waits.append)
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
