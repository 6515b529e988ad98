"""Given these events, when projected, then the read-model queries answer… (both DBs)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from projections.audit_queries import AuditQuery, audit_entries
from projections.backlog import review_backlog
from projections.board import asset_cards, projects_overview
from projections.metrics import project_metrics
from projections.registry import make_runner
from projections.review_state import asset_review
from projections.search import SearchQuery, search
from projections.taxonomy import project_taxonomy
from projections.timetravel import asset_as_of
from projections.version_tree import asset_tree, lineage
from tests.read_history import History


@pytest.fixture
def history(store) -> History:
    return History(store)


def project_once(store):
    make_runner(store.engine).catch_up()


def tick() -> datetime:
    """A moment strictly between two appends (recorded_at has microsecond resolution)."""
    time.sleep(0.002)
    moment = datetime.now(UTC)
    time.sleep(0.002)
    return moment


def test_tree_marks_children_heads_approved_and_pinned(store, history):
    ada, _ = history.user("ada")
    project = history.project("p", {ada: "admin"})
    asset = history.asset(project, "hero")
    root = history.version(asset, ada)
    left = history.version(asset, ada, parents=(root,), operation="img2img")
    right = history.version(asset, ada, parents=(root,), operation="inpaint")
    history.decide(right, ada, channel="social")
    history.pin(left, ada, "plan B")
    project_once(store)

    with store.engine.connect() as conn:
        tree = asset_tree(conn, asset)

    nodes = {n["version_id"]: n for n in tree["nodes"]}
    assert sorted(nodes[root]["children"]) == sorted([left, right])
    assert tree["roots"] == [root]
    assert sorted(tree["branch_heads"]) == sorted([left, right])
    assert nodes[right]["approved_channels"] == ["social"]
    assert nodes[left]["pins"] == ["plan B"]
    assert tree["approved"] == [right] and tree["pinned"] == [left]
    assert nodes[left]["operation"] == "img2img" and nodes[left]["depth"] == 1


def test_lineage_walks_root_to_version_with_recipes(store, history):
    ada, _ = history.user("ada")
    asset = history.asset(history.project("p", {ada: "admin"}), "hero")
    chain = [history.version(asset, ada, prompt="step 0")]
    for step in range(1, 6):
        chain.append(history.version(asset, ada, parents=(chain[-1],), prompt=f"step {step}",
                                     operation="img2img"))
    project_once(store)

    with store.engine.connect() as conn:
        answer = lineage(conn, chain[3])

    assert [s["version_id"] for s in answer["chain"]] == chain[:4]
    assert [s["recipe"]["prompt"] for s in answer["chain"]] == [f"step {i}" for i in range(4)]
    assert answer["depth"] == 3


def test_review_state_as_of_before_and_after_approval_and_revocation(store, history):
    ada, _ = history.user("ada")
    bob, _ = history.user("bob")
    asset = history.asset(history.project("p", {ada: "admin", bob: "reviewer"}), "hero")
    first = history.version(asset, ada)
    second = history.version(asset, ada, parents=(first,))
    comment = history.comment(second, bob, "warmer light please")
    before_approval = tick()
    approval = history.decide(second, bob, channel="social")
    after_approval = tick()
    history.revoke(second, approval, ada, "client changed brief")
    after_revocation = tick()
    history.decide(first, bob, channel="social")
    project_once(store)

    def review(moment):
        with store.engine.connect() as conn:
            return asset_review(conn, asset, moment)

    assert review(before_approval)["approved"] == {}
    then = review(after_approval)
    assert then["approved"]["social"]["version_id"] == second
    states = {v["version_id"]: v for v in then["versions"]}
    assert states[second]["state"] == "approved"
    assert states[second]["open_comments"] == 1
    assert states[second]["comments"][0]["comment_id"] == comment
    revoked = review(after_revocation)
    assert revoked["approved"] == {}
    assert {v["version_id"]: v for v in revoked["versions"]}[second]["decisions"][0][
        "revoked_by"] == ada
    with store.engine.connect() as conn:
        now = asset_review(conn, asset)
    assert now["approved"]["social"]["version_id"] == first
    assert review(datetime.now(UTC)) == now


def test_as_of_answers_equal_a_fold_of_the_log_up_to_that_moment(store, history):
    """The bitemporal rows answer exactly what folding the asset's events recorded up
    to each moment through the same apply functions gives."""
    ada, _ = history.user("ada")
    bob, _ = history.user("bob")
    asset = history.asset(history.project("p", {ada: "admin", bob: "reviewer"}), "hero",
                          ["campaign/x", "hero"])
    moments = [tick()]
    root = history.version(asset, ada)
    moments.append(tick())
    edit = history.version(asset, ada, parents=(root,))
    note = history.comment(edit, bob, "lighter")
    moments.append(tick())
    history.resolve(edit, note, ada)
    first = history.decide(edit, bob, channel="social")
    pin = history.pin(edit, bob)
    moments.append(tick())
    history.tag(asset, "hero", remove=True)
    history.revoke(edit, first, ada)
    history.decide(root, bob, channel="print")
    moments.append(tick())
    history.unpin(edit, pin, bob)
    history.decide(root, bob, "rejected", channel="print")
    moments.append(tick())
    project_once(store)

    for moment in moments:
        with asset_as_of(store, asset, moment) as folded:
            expected = (asset_tree(folded, asset), asset_review(folded, asset))
        with store.engine.connect() as conn:
            actual = (asset_tree(conn, asset, moment), asset_review(conn, asset, moment))
        assert actual == expected, moment


def test_tree_as_of_shows_only_versions_that_existed(store, history):
    ada, _ = history.user("ada")
    asset = history.asset(history.project("p", {ada: "admin"}), "hero")
    root = history.version(asset, ada)
    moment = tick()
    history.version(asset, ada, parents=(root,))
    project_once(store)

    with store.engine.connect() as conn:
        then = asset_tree(conn, asset, moment)
    assert [n["version_id"] for n in then["nodes"]] == [root]
    assert then["nodes"][0]["children"] == []


def search_setup(history: History) -> dict:
    ada, _ = history.user("ada")
    bob, _ = history.user("bob")
    project = history.project("p", {ada: "admin", bob: "reviewer"})
    other = history.project("q", {bob: "admin"})
    fox = history.asset(project, "fox banner", ["campaign/summer-26/social"])
    owl = history.asset(project, "owl poster", ["campaign/summer-26/print", "print"])
    hidden = history.asset(other, "secret fox", ["campaign/summer-26/social"])
    ids = {"ada": ada, "bob": bob, "project": project, "other": other, "fox": fox,
           "owl": owl}
    ids["fox1"] = history.version(fox, ada, prompt="a red fox jumping over snow", seed=1)
    ids["fox2"] = history.version(fox, ada, prompt="a red fox jumping over snow", seed=2)
    ids["fox3"] = history.version(fox, ada, prompt="a red fox jumping over snow", seed=3)
    ids["owl1"] = history.version(owl, bob, prompt="an owl at night", model="big-sd",
                                  tier="final")
    ids["hidden"] = history.version(hidden, bob, prompt="a red fox secret")
    history.comment(ids["owl1"], bob, "the moon needs more glow")
    ids["before_approval"] = tick()
    history.decide(ids["fox2"], bob)
    return ids


def run_search(store, **kwargs):
    with store.engine.connect() as conn:
        return search(conn, SearchQuery(**kwargs))


def test_search_free_text_ranks_and_respects_visible_projects(store, history):
    ids = search_setup(history)
    project_once(store)

    found = run_search(store, projects=[ids["project"]], q="red FOXES!")
    assert {r["version_id"] for r in found["items"]} == {ids["fox1"], ids["fox2"],
                                                          ids["fox3"]}
    assert found["total"] == 3
    by_comment = run_search(store, projects=[ids["project"]], q="moon glow")
    assert [r["version_id"] for r in by_comment["items"]] == [ids["owl1"]]
    everything = run_search(store, projects=None, q="fox")
    assert ids["hidden"] in {r["version_id"] for r in everything["items"]}
    assert run_search(store, projects=[], q="fox")["total"] == 0
    assert run_search(store, projects=[ids["project"]], q='"; DROP --')["total"] == 0


def test_search_filters_facets_collapse_and_as_of(store, history):
    ids = search_setup(history)
    project_once(store)
    mine = [ids["project"]]

    by_tag = run_search(store, projects=mine, tags=("campaign/summer-26",), facets=True)
    assert by_tag["total"] == 4
    assert by_tag["facets"]["tier"] == {"draft": 3, "final": 1}
    assert by_tag["facets"]["status"] == {"approved": 1, "none": 3}
    assert by_tag["facets"]["tag"]["campaign/summer-26/social"] == 3
    assert run_search(store, projects=mine, tags=("campaign/summer-26/print",),
                      model="big-sd")["items"][0]["version_id"] == ids["owl1"]
    assert run_search(store, projects=mine, approved=True)["items"][0][
        "version_id"] == ids["fox2"]
    assert run_search(store, projects=mine, status="none", tier="draft")["total"] == 2
    collapsed = run_search(store, projects=mine, q="fox", collapse_seed=True)
    assert collapsed["total"] == 1 and collapsed["items"][0]["variations"] == 3
    then = run_search(store, projects=mine, approved=True, as_of=ids["before_approval"])
    assert then["total"] == 0
    paged = run_search(store, projects=mine, limit=2, offset=2)
    assert paged["total"] == 4 and len(paged["items"]) == 2


def test_taxonomy_counts_every_level(store, history):
    ids = search_setup(history)
    history.tag(ids["owl"], "print", remove=True)
    project_once(store)

    with store.engine.connect() as conn:
        tree = project_taxonomy(conn, ids["project"])

    (campaign,) = tree["tags"]
    assert (campaign["path"], campaign["assets"], campaign["versions"]) == (
        "campaign", 2, 4)
    (summer,) = campaign["children"]
    assert {c["path"]: (c["assets"], c["versions"]) for c in summer["children"]} == {
        "campaign/summer-26/print": (1, 1), "campaign/summer-26/social": (1, 3)}


def test_audit_shows_role_hash_and_revocation(store, history):
    ada, _ = history.user("ada")
    bob, _ = history.user("bob")
    project = history.project("p", {ada: "admin", bob: "reviewer"})
    asset = history.asset(project, "hero", actor=ada)
    version = history.version(asset, ada)
    approval = history.decide(version, bob, channel="print")
    history.revoke(version, approval, ada, "wrong file")
    project_once(store)

    with store.engine.connect() as conn:
        page = audit_entries(conn, AuditQuery(projects=[project], event_type="decision"))
        by_actor = audit_entries(conn, AuditQuery(projects=[project], actor=ada))
        elsewhere = audit_entries(conn, AuditQuery(projects=["nope"]))

    approved = page["items"][0]
    assert approved["decision"] == "approved" and approved["actor_id"] == bob
    assert approved["actor_role"] == "reviewer"
    assert approved["content_hash"] == history.version_hash[version]
    assert (approved["revoked"], approved["revoked_by"]) == (True, ada)
    assert [e["event_type"] for e in page["items"]] == ["decision.recorded",
                                                          "decision.revoked"]
    assert {e["actor_role"] for e in by_actor["items"]} == {"admin"}
    assert set(approved["details"]) == {"decision_id", "version_id", "decision",
                                        "content_hash", "reviewer_id", "role", "channel",
                                        "note"}
    assert elsewhere["items"] == []


def test_metrics_for_a_project(store, history):
    ada, _ = history.user("ada")
    project = history.project("p", {ada: "admin"})
    fast = history.asset(project, "fast")
    slow = history.asset(project, "slow")
    for asset in (fast, slow):
        drafts = [history.version(asset, ada, seed=n, cost=2.0) for n in range(3)]
        final = history.version(asset, ada, parents=(drafts[0],), tier="final", cost=4.0)
        if asset == slow:
            history.decide(final, ada, "changes_requested")
            history.decide(final, ada, "changes_requested")
        history.decide(final, ada)
    history.compute_used(slow, 30.0)
    project_once(store)

    with store.engine.connect() as conn:
        figures = project_metrics(conn, project)

    overall = figures["overall"]
    assert (overall["drafts"], overall["finals"]) == (6, 2)
    assert overall["draft_to_final_ratio"] == 3.0
    assert overall["approved_assets"] == 2
    assert overall["seconds_to_first_approval"]["count"] == 2
    assert overall["compute_seconds_per_approved_asset"] == (10.0 + 30.0) / 2
    assert overall["changes_requested_before_approval"]["max"] == 2
    assert sum(overall["approved_assets_per_day"].values()) == 2
    per_asset = {a["name"]: a for a in figures["assets"]}
    assert per_asset["slow"]["changes_requested_before_approval"] == 2
    assert per_asset["fast"]["compute_seconds"] == 10.0


def test_front_page_counts_each_projects_assets_as_they_are_made(store, history):
    """The asset counts beside project names are kept as assets are made (a count in the
    batch that creates the project's first asset, and in later batches), and a replay
    from the log gives the same; the project with the newest asset gets its covers."""
    ada, _ = history.user("ada")
    big = history.project("big", {ada: "admin"})
    small = history.project("small", {ada: "admin"})
    history.project("empty", {ada: "admin"})
    for n in range(3):
        history.asset(big, f"b{n}")
    history.asset(small, "s0")
    project_once(store)
    history.asset(big, "b3")
    history.asset(big, "b4")
    history.version(history.asset(small, "s1"), ada)
    project_once(store)

    def front_page() -> dict[str, tuple[int, bool]]:
        with store.engine.connect() as conn:
            return {p["name"]: (p["assets"], p["covers"] is not None)
                    for p in projects_overview(conn, ada, False, shown=1)}

    assert front_page() == {"big": (5, False), "small": (2, True), "empty": (0, False)}
    make_runner(store.engine).replay()
    assert front_page() == {"big": (5, False), "small": (2, True), "empty": (0, False)}


def test_front_page_covers_are_each_shown_projects_newest_versions(store, history):
    """Covers (fetched for all shown projects in one statement) are each project's own
    newest versions, newest first; a shown project without versions has none, a project
    beyond ``shown`` gets no covers at all."""
    ada, _ = history.user("ada")
    made = {}
    for name in ("old", "a", "b", "bare"):
        project = history.project(name, {ada: "admin"})
        asset = history.asset(project, name + "-asset")
        made[name] = [history.version(asset, ada) for _ in range(0 if name == "bare" else 3)]
    project_once(store)
    with store.engine.connect() as conn:
        covers = {p["name"]: p["covers"] and [c["version_id"] for c in p["covers"]]
                  for p in projects_overview(conn, ada, False, covers=2, shown=3)}
    assert covers == {"a": made["a"][:0:-1], "b": made["b"][:0:-1], "bare": [], "old": None}


def test_board_cards_count_versions_per_tier_and_show_the_newest_and_the_approved(
        store, history):
    """A card's counts and newest version are kept as versions are made (in the batch
    that made the asset and in later ones) and a replay gives the same; the cover is
    the approved version, not the newest."""
    ada, _ = history.user("ada")
    project = history.project("p", {ada: "admin"})
    poster = history.asset(project, "poster")
    first = history.version(poster, ada)
    final = history.version(poster, ada, parents=(first,), tier="final")
    bare = history.asset(project, "bare")
    project_once(store)
    newest = history.version(poster, ada, parents=(final,))
    history.decide(final, ada, channel=None)
    project_once(store)

    def cards() -> dict[str, tuple]:
        with store.engine.connect() as conn:
            return {card["name"]: (card["counts"], card["version_count"],
                                   (card["newest"] or {}).get("version_id"),
                                   (card["cover"] or {}).get("version_id"), card["status"])
                    for card in asset_cards(conn, [poster, bare], [])}

    expected = {"poster": ({"draft": 2, "final": 1}, 3, newest, final, {"default": "approved"}),
                "bare": ({"draft": 0, "final": 0}, 0, None, None, {"default": "empty"})}
    assert cards() == expected
    make_runner(store.engine).replay()
    assert cards() == expected


def test_the_backlog_follows_decisions_revocations_and_what_was_made_from(store, history):
    """A version leaves the review backlog when decided or when a version of its project
    is made from it (in the batch that made it or a later one), and comes back when its
    decision is revoked; a replay gives the same backlog."""
    ada, _ = history.user("ada")
    project = history.project("p", {ada: "admin"})
    asset = history.asset(project, "poster")
    first = history.version(asset, ada)
    edit = history.version(asset, ada, parents=(first,), operation="img2img")
    decided = history.version(asset, ada)
    history.decide(decided, ada)
    reconsidered = history.version(asset, ada)
    project_once(store)
    history.revoke(reconsidered, history.decide(reconsidered, ada), ada)
    again = history.version(asset, ada)
    history.decide(again, ada)
    inpainted = history.version(asset, ada, parents=(edit,), operation="inpaint")
    project_once(store)

    def backlog() -> list[str]:
        with store.engine.connect() as conn:
            now = datetime.now(UTC)
            return [entry["version_id"] for entry in review_backlog(conn, project, now)]

    assert backlog() == [reconsidered, inpainted]
    make_runner(store.engine).replay()
    assert backlog() == [reconsidered, inpainted]
