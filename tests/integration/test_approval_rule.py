"""One approval rule (rules/approvals.py) wherever approvals are counted or shown:
review state, search's ``approved`` filter, project metrics and the list of approved
versions the nightly rebuild re-makes all agree, moment by moment, on a history where
approvals are replaced, taken back and revoked in several channels."""

from __future__ import annotations

import random

from projections.metrics import project_metrics
from projections.registry import make_runner
from projections.review_state import approved_versions, asset_review
from projections.search import SearchQuery, search
from rules.approvals import approved_channels, fold_approvals
from tests.integration.test_projections_queries import tick
from tests.read_history import History

DECISIONS = ("approved", "approved", "changes_requested", "rejected")
CHANNELS = (None, "social", "print")


def _searched_approved(conn, project_id: str, moment) -> set[str]:  # noqa: ANN001
    found = search(conn, SearchQuery(projects=[project_id], approved=True, as_of=moment,
                                     limit=100))
    return {row["version_id"] for row in found["items"]}


def test_search_metrics_and_review_state_follow_the_one_rule_at_every_moment(store):
    rng = random.Random(16)
    history = History(store)
    ada, _ = history.user("ada")
    bob, _ = history.user("bob")
    project = history.project("p", {ada: "admin", bob: "reviewer"})
    assets = [history.asset(project, f"asset {n}") for n in range(3)]
    versions = {asset: [history.version(asset, ada, prompt=f"take {k}") for k in range(3)]
                for asset in assets}
    log: dict[str, list[tuple[str, str, str | None, str]]] = {a: [] for a in assets}
    revoked: list[tuple[str, str]] = []  # (decision id, revoked at moment index)
    moments = []
    for step in range(40):
        asset = rng.choice(assets)
        version = rng.choice(versions[asset])
        if log[asset] and rng.random() < 0.2:
            decision_id, version, _, _ = rng.choice(log[asset])
            if decision_id not in {d for d, _ in revoked}:
                history.revoke(version, decision_id, ada)
                revoked.append((decision_id, str(step)))
        else:
            decision, channel = rng.choice(DECISIONS), rng.choice(CHANNELS)
            decision_id = history.decide(version, bob, decision, channel=channel)
            log[asset].append((decision_id, version, channel, decision))
        if step % 5 == 4:
            moments.append(tick())
    make_runner(store.engine).catch_up()

    def standing(asset: str) -> list[tuple[str, str | None, str]]:
        gone = {d for d, _ in revoked}
        return [(v, c, d) for decision_id, v, c, d in log[asset] if decision_id not in gone]

    expected = {asset: approved_channels(standing(asset)) for asset in assets}
    with store.engine.connect() as conn:
        for moment in [*moments, None]:
            by_review = set()
            for asset in assets:
                review = asset_review(conn, asset, moment)
                by_review |= {entry["version_id"] for entry in review["approved"].values()}
            assert _searched_approved(conn, project, moment) == by_review, moment
        now_approved = {v for asset in assets for v in expected[asset]}
        assert _searched_approved(conn, project, None) == now_approved
        metrics = project_metrics(conn, project)
        assert {a["asset_id"] for a in metrics["assets"] if a["approved"]} == {
            asset for asset in assets if fold_approvals(standing(asset))}
        listed = approved_versions(conn, project)
    assert {(row["version_id"], tuple(row["channels"])) for row in listed} == {
        (version, tuple(channels)) for asset in assets
        for version, channels in expected[asset].items()}


def test_an_approval_taken_back_in_its_channel_no_longer_counts_anywhere(store):
    """Approved, then changes requested on the same version in the same channel: not
    approved for search, metrics or the rebuild list, though the approval stands
    unrevoked; an approval without a channel is listed in the ``default`` channel."""
    history = History(store)
    ada, _ = history.user("ada")
    project = history.project("p", {ada: "admin"})
    taken_back = history.asset(project, "taken back")
    first = history.version(taken_back, ada)
    history.decide(first, ada, channel="social")
    history.decide(first, ada, "changes_requested", channel="social")
    plain = history.asset(project, "plain")
    second = history.version(plain, ada)
    history.decide(second, ada, channel=None)
    make_runner(store.engine).catch_up()

    with store.engine.connect() as conn:
        assert _searched_approved(conn, project, None) == {second}
        metrics = project_metrics(conn, project)
        assert {a["name"]: a["approved"] for a in metrics["assets"]} == {
            "taken back": False, "plain": True}
        assert metrics["overall"]["approved_assets"] == 1
        assert approved_versions(conn, project) == [
            {"version_id": second, "asset_id": plain, "asset_name": "plain",
             "channels": ["default"]}]
