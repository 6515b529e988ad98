"""The write side's fold cache (commands/fold_cache) on a real store: a cached fold always
equals a fresh one, whoever appended in between, and cached states are never changed
under their readers (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from commands import fold_cache
from commands.asset_state import ASSET, AssetState, apply, load_asset
from commands.assets import create_asset
from commands.projects import load_project, set_member_role
from commands.reviews import add_comment, record_decision, resolve_comment
from commands.state import fold
from commands.users import authenticate, create_user, revoke_token
from events.db import make_engine
from events.errors import Unauthorized
from events.projects import ComputeUsed
from events.store import ANY, EventStore, Metadata
from tests.integration.asset_support import World, add_version, make_world


@pytest.fixture
def other_store(database_url):
    """A second store on the same database: another API process."""
    engine = make_engine(database_url)
    yield EventStore(engine)
    engine.dispose()


@pytest.fixture
def world(store) -> World:
    return make_world(store)


def _fresh(store: EventStore, asset_id: str) -> tuple[AssetState, int]:
    return fold(store, f"asset-{asset_id}", AssetState(), apply)


def test_a_cached_fold_equals_a_fresh_one_after_writes_from_another_process(
        store, other_store, world):
    ann, asset_id, meta = world.ann, world.asset_id, world.meta
    root = add_version(store, asset_id)
    for step in range(4):
        cached, version = load_asset(store, asset_id)  # this process caches the fold
        assert (cached, version) == _fresh(store, asset_id)
        # Another process appends: a child version, comments, a resolve, a decision.
        child = add_version(other_store, asset_id, [root])
        body, _, _ = add_comment(other_store, ann, meta, child, body=f"note {step}")
        resolve_comment(other_store, ann, meta, body["comment_id"])
        record_decision(other_store, ann, meta, child, decision="approved")
        add_comment(store, ann, meta, root, body="mine")  # and this one too

    cached, version = load_asset(store, asset_id)
    assert (cached, version) == _fresh(store, asset_id)
    assert len(cached.versions[root].children) == 4
    assert all(c.resolved for c in cached.comments.values() if c.event.body != "mine")


def test_catching_up_never_changes_a_state_already_handed_out(store, world):
    ann, asset_id, meta = world.ann, world.asset_id, world.meta
    root = add_version(store, asset_id)
    body, _, _ = add_comment(store, ann, meta, root, body="fix the sky")
    before, version = load_asset(store, asset_id)

    add_version(store, asset_id, [root])
    resolve_comment(store, ann, meta, body["comment_id"])
    after, _ = load_asset(store, asset_id)

    assert (before, version) == fold(store, f"asset-{asset_id}", AssetState(), apply,
                                     up_to_version=version)
    assert before.versions[root].children == () and len(after.versions[root].children) == 1
    assert not before.comments[body["comment_id"]].resolved
    assert after.comments[body["comment_id"]].resolved


def test_a_cached_prefix_the_stream_no_longer_has_is_folded_again(store, world):
    asset_id = world.asset_id
    add_version(store, asset_id)
    stream = f"asset-{asset_id}"
    real, version = _fresh(store, asset_id)
    # As if the database had been restored behind the process: same version, other event.
    fold_cache.cache_of(store).remember(
        stream, ASSET, fold_cache.Folded(AssetState(asset_id="stale"), version, "0" * 64))

    assert load_asset(store, asset_id) == (real, version)


def test_project_folds_follow_jobs_finishing_elsewhere(store, other_store, world):
    ann, project_id, asset_id = world.ann, world.project_id, world.asset_id
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
    ann = world.ann
    assert authenticate(store, world.token).user_id == ann.user_id  # now cached here

    revoke_token(other_store, ann.token_id, actor_id=ann.user_id)

    with pytest.raises(Unauthorized, match="revoked"):
        authenticate(store, world.token)


def test_more_streams_than_the_cache_holds_still_fold_correctly(store, world, monkeypatch):
    monkeypatch.setattr(fold_cache, "STREAMS_PER_STORE", 2)
    fold_cache._caches.pop(store, None)  # a cache built with the small bound
    ann, project_id, meta = world.ann, world.project_id, world.meta
    assets = [create_asset(store, ann, meta, project_id, name=f"A{i}")[0]["asset_id"]
              for i in range(4)]
    for _ in range(2):
        for asset_id in assets:
            add_version(store, asset_id)
            assert load_asset(store, asset_id) == _fresh(store, asset_id)
    assert len(fold_cache.cache_of(store)._folds.items) == 2


def test_a_fold_up_to_a_version_equals_a_fresh_one_wherever_the_cache_stands(store, world):
    asset_id = world.asset_id
    stream = f"asset-{asset_id}"
    for _ in range(3):
        add_version(store, asset_id)
    fold_cache.cache_of(store)._folds.items.clear()
    middle = load_asset(store, asset_id, up_to_version=2)  # cache empty: from zero
    assert load_asset(store, asset_id, up_to_version=3) == fold(  # cache behind: its tail
        store, stream, AssetState(), apply, up_to_version=3)
    load_asset(store, asset_id)  # cache at 4, past what is asked next
    assert load_asset(store, asset_id, up_to_version=2) == middle == fold(
        store, stream, AssetState(), apply, up_to_version=2)
    assert load_asset(store, asset_id, up_to_version=4) == _fresh(store, asset_id)
