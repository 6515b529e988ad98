"""Projection runner: catch-up, blue/green replay, crash safety, concurrent runners."""

from __future__ import annotations

import functools
import shutil
import threading

import pytest
from sqlalchemy import inspect

from events.db import make_engine
from events.jobs import (
    JobCancelled,
    JobCancelRequested,
    JobCompleted,
    JobFailed,
    JobRetryRequested,
    JobStarted,
)
from events.store import EventStore
from projections.compare import compare_with_replay, differences, snapshot
from projections.fill import split
from projections.registry import PROJECTIONS, make_runner
from projections.runner import ProjectionRunner
from projections.search import SearchQuery, search
from projections.tables import NEXT_SUFFIX
from tests.read_history import History


def rich_history(history: History, count: int = 1) -> dict:
    """Two projects, tagged assets, a branching tree, comments, decisions, a revocation,
    pins, compute and channels removed and set again: something of every event the read
    side handles."""
    ada, _ = history.user("ada")
    bob, _ = history.user("bob")
    ids = {"ada": ada, "bob": bob}
    for n in range(count):
        project = history.project(f"summer-{n}", {ada: "admin", bob: "reviewer"})
        asset = history.asset(project, f"hero-{n}", ["campaign/summer-26/social", "hero"],
                              brief="the hero banner")
        root = history.version(asset, ada, prompt="a red fox in snow", seed=1)
        sibling = history.version(asset, ada, prompt="a red fox in snow", seed=2)
        edit = history.version(asset, ada, parents=(root,), operation="inpaint",
                               prompt="a red fox in snow, blue scarf", seed=1)
        final = history.version(asset, ada, parents=(edit,), operation="upscale",
                                tier="final", prompt="a red fox in snow, blue scarf")
        note = history.comment(edit, bob, "scarf should be teal")
        history.resolve(edit, note, ada)
        history.decide(edit, bob, "changes_requested")
        first = history.decide(final, bob, "approved", channel="social")
        history.revoke(final, first, bob, "wrong crop")
        history.decide(final, bob, "approved", channel="print")
        pin = history.pin(final, bob, "agreed Tuesday")
        history.pin(sibling, bob, "backup")
        history.unpin(final, pin, bob)
        history.tag(asset, "hero", remove=True)
        history.tag(asset, "campaign/autumn")
        history.compute_used(asset, 12.5)
        for channel, remove in (("print", True), ("web", False), ("print", False),
                                ("web", True)):
            history.channel(project, channel, remove=remove)
        jobs(history, asset, ada, bob)
        ids.update(project=project, asset=asset, root=root, edit=edit, final=final)
    return ids


def jobs(history: History, asset: str, ada: str, bob: str) -> None:
    """A job completed, one failed, retried and cancelled while it ran, one cancelled
    while queued."""
    done = history.job(asset, ada)
    history.job_events(done, JobStarted(job_id=done, worker="w:1:t", attempt=1))
    made = history.version(asset, ada, seed=7, job_id=done, cost=2.0)
    history.job_events(done, JobCompleted(job_id=done, cost_seconds=2.0, version_ids=[made]))
    stopped = history.job(asset, bob, operation="img2img", tier="final")
    history.job_events(stopped, JobStarted(job_id=stopped, worker="w:1:t", attempt=1))
    history.job_events(stopped, JobFailed(job_id=stopped, error_kind="time_limit",
                                          message="too long", retryable=True,
                                          cost_seconds=0.5))
    history.job_events(stopped, JobRetryRequested(job_id=stopped, requested_by=bob),
                       JobStarted(job_id=stopped, worker="w:2:t", attempt=2))
    history.job_events(stopped, JobCancelRequested(job_id=stopped, requested_by=ada))
    history.job_events(stopped, JobCancelled(job_id=stopped, requested_by=ada, attempt=2,
                                             cost_seconds=0.25))
    queued = history.job(asset, ada)
    history.job_events(queued, JobCancelled(job_id=queued, requested_by=ada))


def test_given_history_appended_in_steps_when_replayed_then_tables_equal_incremental(store):
    # Incremental: one event per batch, so every change is an UPDATE of a row already
    # sent; the replay reads everything in one batch, so it edits unsent rows in place.
    history = History(store)
    runner = make_runner(store.engine, batch_size=1)
    for _ in range(3):
        rich_history(history)
        runner.catch_up()
    incremental = snapshot(store.engine)
    assert incremental["rm_versions"] and incremental["rm_audit_log"]
    assert incremental["rm_channel_removals"]

    for projection in PROJECTIONS:
        assert compare_with_replay(store.engine, [projection.name]).differences == []

    assert all(s.behind == 0 for s in runner.status())


def test_given_crash_between_apply_and_commit_then_nothing_half_applied(store):
    history = History(store)
    rich_history(history, count=2)
    crashes = {"left": 1}

    def crash(checkpoint: str, position: int) -> None:
        if checkpoint == "metrics" and crashes["left"]:
            crashes["left"] -= 1
            raise RuntimeError("power cut")

    runner = make_runner(store.engine, batch_size=5, before_commit=crash)
    with pytest.raises(RuntimeError):
        runner.catch_up(["metrics"])
    assert runner.positions(["metrics"]) == {"metrics": 0}
    assert snapshot(store.engine, ["metrics"])["rm_metric_assets"] == {}

    runner.catch_up(["metrics"])
    assert compare_with_replay(store.engine, ["metrics"]).differences == []


def test_given_two_runners_at_once_then_no_event_is_applied_twice(store):
    history = History(store)
    rich_history(history, count=4)
    errors = []

    def run() -> None:
        try:
            make_runner(store.engine, batch_size=3).catch_up(["metrics", "version_tree"])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert compare_with_replay(store.engine, ["metrics", "version_tree"]).differences == []


def test_given_appends_during_replay_then_nothing_lost_or_doubled(store):
    history = History(store)
    ids = rich_history(history, count=2)
    live = make_runner(store.engine)
    live.catch_up()
    errors = []

    def replay() -> None:
        try:
            make_runner(store.engine, batch_size=2).replay("version_tree")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    worker = threading.Thread(target=replay)
    worker.start()
    late = [history.version(ids["asset"], ids["ada"], prompt=f"late {n}") for n in range(8)]
    live.catch_up(["version_tree"])
    worker.join()
    live.catch_up(["version_tree"])

    assert errors == []
    swapped = snapshot(store.engine, ["version_tree"])
    assert sum(1 for row in swapped["rm_versions"].values() if repr(late[-1]) in row) == 1
    live.replay("version_tree")
    assert differences(swapped, snapshot(store.engine, ["version_tree"])) == []
    assert live.positions(["version_tree"])["version_tree"] == store.head().position


def test_status_reports_lag_until_caught_up(store):
    history = History(store)
    rich_history(history)
    runner = make_runner(store.engine)
    before = {s.name: s for s in runner.status()}
    assert before["catalog"].behind == store.head().position
    assert before["catalog"].lag_seconds >= 0

    runner.catch_up()

    assert all(s.behind == 0 and s.lag_seconds == 0 for s in runner.status())


def test_live_tables_keep_serving_while_a_replay_fills_the_next_ones(store):
    history = History(store)
    ids = rich_history(history, count=2)
    runner = make_runner(store.engine)
    runner.catch_up()
    with store.engine.connect() as conn:
        before = search(conn, SearchQuery(projects=[ids["project"]], q="fox"))
    assert before["total"] > 0
    seen_during = []

    def query_live(checkpoint: str, position: int) -> None:
        if checkpoint == "catalog__next":
            with store.engine.connect() as conn:
                seen_during.append(search(conn, SearchQuery(projects=[ids["project"]],
                                                            q="fox")))

    make_runner(store.engine, batch_size=3, replay_batch_size=3,
                before_commit=query_live).replay("catalog")

    assert len(seen_during) > 1
    assert all(answer == before for answer in seen_during)
    with store.engine.connect() as conn:
        assert search(conn, SearchQuery(projects=[ids["project"]], q="fox")) == before


def test_replayed_tables_have_the_same_indexes_as_migrated_ones(store):
    def indexes() -> dict[str, list]:
        inspector = inspect(store.engine)
        return {table.name: sorted(tuple(i["column_names"]) for i in
                                   inspector.get_indexes(table.name))
                for projection in PROJECTIONS for table in projection.tables}

    migrated = indexes()
    assert migrated["rm_audit_log"]
    runner = make_runner(store.engine)
    rich_history(History(store))
    for projection in PROJECTIONS:
        runner.replay(projection.name)
        runner.replay(projection.name)  # twice: index names must never collide

    assert indexes() == migrated


def test_replaying_all_in_one_pass_equals_incremental(store):
    history = History(store)
    rich_history(history, count=2)
    runner = make_runner(store.engine, batch_size=4, replay_batch_size=5)
    runner.catch_up()
    incremental = snapshot(store.engine)

    read = runner.replay()

    assert read == store.head().position  # the audit reads every domain event
    assert differences(incremental, snapshot(store.engine)) == []
    assert all(s.behind == 0 for s in runner.status())


def test_replayed_tables_come_vacuumed_with_planner_statistics_on_postgresql(postgres_url):
    """A fresh generation has no statistics until ANALYZE, and no visibility map until
    VACUUM: without them PostgreSQL guesses and scans, and its index-only scans read the
    rows anyway (autovacuum may be off, or late)."""
    engine = make_engine(postgres_url)
    replayed = {"rm_versions", "rm_catalog_versions", "rm_catalog_docs"}
    try:
        rich_history(History(EventStore(engine)), count=2)

        make_runner(engine).replay("version_tree", "catalog")

        with engine.connect() as conn:
            analysed = set(conn.exec_driver_sql(
                "SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = current_schema()"
            ).scalars())
            pages = {name: (total, visible) for name, total, visible in conn.exec_driver_sql(
                "SELECT relname, relpages, relallvisible FROM pg_class WHERE relnamespace = "
                "current_schema()::regnamespace AND relkind = 'r'")}
    finally:
        engine.dispose()
    assert replayed <= analysed
    for name in replayed:
        total, visible = pages[name]
        assert total > 0 and visible == total, (name, total, visible)


def test_a_replay_gives_its_connection_back_with_the_page_cache_it_had(sqlite_template,
                                                                      tmp_path):
    """The fill enlarges its SQLite connection's page cache; pooled connections must come
    back to their own size, or every later request would keep that memory. (SQLite only:
    PostgreSQL's buffers are the server's.)"""
    path = tmp_path / "lineage.db"
    shutil.copyfile(sqlite_template, path)
    store = EventStore(make_engine(f"sqlite:///{path}"))
    rich_history(History(store))
    with store.engine.connect() as conn:
        before = conn.exec_driver_sql("PRAGMA cache_size").scalar()

    make_runner(store.engine, replay_batch_size=5).replay()

    pool = store.engine.pool
    connections = [pool.connect() for _ in range(pool.checkedin())]
    try:
        sizes = {c.driver_connection.execute("PRAGMA cache_size").fetchone()[0]
                 for c in connections}
    finally:
        for connection in connections:
            connection.close()
    store.engine.dispose()
    assert sizes == {before}


def test_fill_groups_share_the_work_and_keep_every_projection_once():
    targets = [(projection, None, projection.name) for projection in PROJECTIONS]

    groups = split(targets, 2)

    assert len(groups) == 2 and all(groups)
    assert sorted(t[2] for group in groups for t in group) == sorted(t[2] for t in targets)
    assert {t[2] for t in groups[0]} & {"audit", "catalog"}  # the heaviest two apart
    assert not {"audit", "catalog"} <= {t[2] for t in groups[0]}
    assert split(targets[:1], 2) == [targets[:1]]


def test_two_fill_processes_replay_what_incremental_built_on_postgresql(postgres_url):
    engine = make_engine(postgres_url)
    try:
        rich_history(History(EventStore(engine)), count=2)
        runner = make_runner(engine, batch_size=4, replay_batch_size=5, fill_processes=2)
        runner.catch_up()
        incremental = snapshot(engine)

        read = runner.replay()

        assert read == EventStore(engine).head().position
        assert differences(incremental, snapshot(engine)) == []
        assert all(s.behind == 0 for s in runner.status())
    finally:
        engine.dispose()


def fail_when_filling(failing: str, checkpoint: str, position: int) -> None:
    """A before_commit hook that fails the first commit of the ``failing`` checkpoint
    (module level, so it pickles into the spawned second fill process)."""
    if checkpoint == failing:
        raise RuntimeError("power cut")


def failing_second_fill(engine) -> ProjectionRunner:  # noqa: ANN001
    """A runner whose second fill process fails at its first commit."""
    second = split([(p, None, p.name) for p in PROJECTIONS], 2)[1][0][2]
    return make_runner(engine, fill_processes=2,
                       before_commit=functools.partial(fail_when_filling, second + NEXT_SUFFIX))


def test_a_failed_second_fill_process_swaps_nothing(postgres_url):
    engine = make_engine(postgres_url)
    try:
        rich_history(History(EventStore(engine)), count=2)
        live = make_runner(engine)
        live.catch_up()
        before = snapshot(engine)

        with pytest.raises(RuntimeError, match="second fill process"):
            failing_second_fill(engine).replay()

        assert differences(before, snapshot(engine)) == []
        assert make_runner(engine).replay() == EventStore(engine).head().position
        assert differences(before, snapshot(engine)) == []
    finally:
        engine.dispose()
