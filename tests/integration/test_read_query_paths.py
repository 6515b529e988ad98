"""The shortcuts the read queries take answer exactly what the plain way would:
bisecting positions by time, review state folding approvals from rows it read, free
text narrowed to projects before ranking."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from events.schema import events
from events.store import utc
from projections import search as search_module
from projections.common import current_approvals
from projections.queries import position_at
from projections.registry import make_runner
from projections.review_state import asset_review
from projections.search import SearchQuery, search
from projections.version_tree import asset_tree
from tests.integration.test_projections_queries import tick
from tests.read_history import History


def test_position_at_finds_the_last_event_recorded_by_every_moment(store):
    history = History(store)
    ada, _ = history.user("ada")
    project = history.project("p", {ada: "admin"})
    asset = history.asset(project, "hero")
    for n in range(12):
        history.version(asset, ada, prompt=f"take {n}")
        if n % 4 == 0:
            tick()  # some moments fall between appends, some on them
    with store.engine.connect() as conn:
        recorded = [utc(moment) for moment in conn.execute(
            select(events.c.recorded_at).order_by(events.c.position)).scalars()]
    tiny = timedelta(microseconds=1)
    moments = [m + delta for m in recorded for delta in (-tiny, timedelta(0), tiny)]

    for moment in moments:
        with store.engine.connect() as conn:
            scanned = conn.execute(select(func.max(events.c.position))
                                   .where(events.c.recorded_at <= moment)).scalar() or 0
        assert position_at(store.engine, moment) == scanned, moment
    assert position_at(store.engine, recorded[0] - timedelta(days=1)) == 0


def test_review_state_approvals_agree_with_the_tree_at_every_moment(store):
    """Approvals, revocations and a later "changes requested" taking an approval back,
    in two channels: review state (folded from its decision rows) names the same
    approved versions as the tree and current_approvals, now and at each moment."""
    history = History(store)
    ada, _ = history.user("ada")
    bob, _ = history.user("bob")
    asset = history.asset(history.project("p", {ada: "admin", bob: "reviewer"}), "hero")
    first = history.version(asset, ada)
    second = history.version(asset, ada, parents=(first,))
    moments = [tick()]
    history.decide(first, bob, channel="social")
    history.decide(second, bob, channel=None)
    moments.append(tick())
    history.decide(first, bob, "changes_requested", channel="social")
    approval = history.decide(second, bob, channel="social")
    moments.append(tick())
    history.revoke(second, approval, ada)
    history.decide(second, bob, "rejected", channel="print")
    moments.append(tick())
    make_runner(store.engine).catch_up()

    seen = set()
    for moment in [*moments, None]:
        with store.engine.connect() as conn:
            review = asset_review(conn, asset, moment)
            tree = asset_tree(conn, asset, moment)
            expected = current_approvals(conn, asset, moment)
        approved = {channel: entry["version_id"]
                    for channel, entry in review["approved"].items()}
        assert approved == expected, moment
        assert sorted(set(approved.values())) == tree["approved"], moment
        assert review["asset"]["version_count"] == len(tree["nodes"]) == 2
        seen.add(tuple(sorted(approved.items())))
    assert len(seen) == 4  # the moments really differ


@pytest.mark.parametrize("few_below", [0.0, 1.01], ids=["match-then-check", "collect-first"])
def test_free_text_within_projects_ranks_as_over_all_projects(store, monkeypatch, few_below):
    """Search narrows full-text hits to the searched projects before ranking them (on
    SQLite by collecting a few projects' documents first, or by checking each match's
    project when they are many): the answer for a project is the all-projects answer
    restricted to it, same order, scores relative to its own best match; no projects
    finds nothing."""
    monkeypatch.setattr(search_module, "FEW_PROJECTS", few_below)
    history = History(store)
    ada, _ = history.user("ada")
    projects = [history.project(name, {ada: "admin"}) for name in ("p", "q")]
    for n, project in enumerate(projects * 3):
        asset = history.asset(project, f"fox banner {n}", brief="a river scene" * (n % 2))
        root = history.version(asset, ada, prompt=f"a red fox by the river, take {n}")
        history.version(asset, ada, parents=(root,), prompt="fox " * (n + 1))
        history.comment(root, ada, "more river please" if n % 2 else "lovely fox")
    make_runner(store.engine).catch_up()

    def found(within, q):
        with store.engine.connect() as conn:
            return search(conn, SearchQuery(projects=within, q=q, limit=200))

    for q in ("fox", "river", "fox river", "lovely"):
        everywhere = found(None, q)
        assert everywhere["total"] > 0
        for project in projects:
            mine = found([project], q)
            expected = [r for r in everywhere["items"] if r["project_id"] == project]
            best = max((r["score"] for r in expected), default=1.0)
            assert [{**r, "score": None} for r in mine["items"]] == [
                {**r, "score": None} for r in expected], (q, project)
            assert [r["score"] for r in mine["items"]] == pytest.approx(
                [r["score"] / best for r in expected], abs=2e-4), (q, project)
            assert mine["total"] == len(expected)
        assert found([], q)["total"] == 0


def test_free_text_over_every_project_pages_as_the_filtered_path_does(store):
    """Free text with no other condition than projects ranks on scores alone and reads
    version rows only for the page's candidates: pages, ties across a page boundary (newest first),
    totals, pages past the end and asset-name matches agree with the filtered path, and
    a comment naming a version the catalog does not hold is not counted."""
    history = History(store)
    ada, _ = history.user("ada")
    projects = [history.project(name, {ada: "admin"}) for name in ("p", "q")]
    for n, project in enumerate(projects * 3):
        asset = history.asset(project, "river banner" if n % 3 else f"fox {n}")
        for _ in range(3):  # same text, same score: ties broken by position
            version = history.version(asset, ada, prompt="a red fox by the river")
        history.version(asset, ada, prompt=f"fox {'fox ' * n} glow")
        history.comment(version, ada, "lovely fox, more river")
    stray = "00000000-0000-0000-0000-000000000000"
    history.version_asset[stray] = asset
    history.comment(stray, ada, "a lonely fox comment")
    make_runner(store.engine).catch_up()
    long_ago = utc(datetime(2000, 1, 1))

    def found(within, q, limit, offset, **filters):
        with store.engine.connect() as conn:
            return search(conn, SearchQuery(projects=within, q=q, limit=limit,
                                            offset=offset, **filters))

    for within in (None, projects[:1], projects):
        for q in ("fox", "river", "fox river", "lovely", "glow", "banner"):
            everything = found(within, q, 500, 0, created_from=long_ago)
            assert everything["total"] == len(everything["items"]) > 0
            assert stray not in {r["version_id"] for r in everything["items"]}
            for limit, offset in ((1, 0), (3, 0), (3, 2), (5, 7), (4, 22), (500, 0),
                                  (2, everything["total"]), (2, 1000)):
                fast = found(within, q, limit, offset)
                slow = found(within, q, limit, offset, created_from=long_ago)
                assert fast == slow, (within, q, limit, offset)
                assert fast["items"] == everything["items"][offset:offset + limit]
