"""One approval rule (rules/approvals.py) wherever approvals are counted or shown:
review state, search's ``approved`` filter, project metrics and the list of approved
versions the nightly rebuild re-makes all agree, moment by moment, on a history where
approvals are replaced, taken back and revoked in several channels, and channels are
removed and set again (metrics alone count deliveries as they happened)."""

from __future__ import annotations

import random

from app.cli import main
from projections.access import removed_channels
from projections.metrics import project_metrics
from projections.registry import make_runner
from projections.review_state import approved_versions, asset_review
from projections.search import SearchQuery, search
from rules.approvals import approved_channels, channel_key, fold_approvals, offered
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


def _searched(conn, project_id: str, moment, **filters) -> set[str]:  # noqa: ANN001
    found = search(conn, SearchQuery(projects=[project_id], as_of=moment, limit=100,
                                     **filters))
    return {row["version_id"] for row in found["items"]}


def test_a_removed_channels_approvals_count_nowhere_until_it_is_set_again(store):
    """Channels removed and set again among random decisions: at every moment, search
    (``approved`` and ``status``), the review state and (now) the rebuild list leave the
    channels removed then out, as the write side's fold of the project's stream says,
    in that project only; metrics keep counting what was delivered."""
    rng = random.Random(17)
    history = History(store)
    ada, _ = history.user("ada")
    project = history.project("p", {ada: "admin"})
    for channel in ("social", "print"):
        history.channel(project, channel)
    assets = [history.asset(project, f"asset {n}") for n in range(3)]
    versions = {asset: [history.version(asset, ada) for _ in range(2)] for asset in assets}
    # Another project's channels of the same names are its own: never removed here.
    other = history.project("q", {ada: "admin"})
    elsewhere = history.version(history.asset(other, "elsewhere"), ada)
    for channel in ("social", "print", "default"):
        history.channel(other, channel)
        history.decide(elsewhere, ada, channel=channel)
    log: dict[str, list[tuple[str, str | None, str]]] = {a: [] for a in assets}
    removed: set[str] = set()
    moments: list[tuple[object, frozenset[str], dict]] = []
    for step in range(30):
        if step % 6 == 5:
            channel = rng.choice(("social", "print", "default"))
            history.channel(project, channel, remove=channel not in removed)
            removed ^= {channel}
        else:
            asset = rng.choice(assets)
            version = rng.choice(versions[asset])
            decision, channel = rng.choice(DECISIONS), rng.choice(CHANNELS)
            history.decide(version, ada, decision, channel=channel)
            log[asset].append((version, channel, decision))
        if step % 3 == 2:
            moments.append((tick(), frozenset(removed), {a: list(d) for a, d in log.items()}))
    assert any(gone for _, gone, _ in moments) and any(not gone for _, gone, _ in moments)
    make_runner(store.engine).catch_up()

    with store.engine.connect() as conn:
        for moment, gone, decided in moments:
            assert removed_channels(conn, project, moment) == gone, moment
            expected = {v for asset in assets
                        for v in approved_channels(decided[asset], gone)}
            assert _searched(conn, project, moment, approved=True) == expected, moment
            assert _searched(conn, other, moment, approved=True) == {elsewhere}
            assert _searched(conn, other, moment, status="approved") == {elsewhere}
            states = {}
            for asset in assets:
                review = asset_review(conn, asset, moment, gone)
                assert {channel: e["version_id"] for channel, e in review[
                    "approved"].items()} == offered(fold_approvals(decided[asset]), gone)
                states |= {entry["version_id"]: entry["state"] for entry in review["versions"]}
                for version in versions[asset]:
                    kept = [d for v, c, d in decided[asset]
                            if v == version and channel_key(c) not in gone]
                    assert states[version] == (kept[-1] if kept else "in_review")
            for status in ("approved", "changes_requested", "rejected"):
                assert _searched(conn, project, moment, status=status) == {
                    v for v, state in states.items() if state == status}, (moment, status)
        listed = approved_versions(conn, project)
        metrics = project_metrics(conn, project)
    assert {(row["version_id"], tuple(row["channels"])) for row in listed} == {
        (version, tuple(channels)) for asset in assets
        for version, channels in approved_channels(log[asset], removed).items()}
    assert {a["asset_id"] for a in metrics["assets"] if a["approved"]} == {
        asset for asset in assets if fold_approvals(log[asset])}


def test_the_nightly_rebuild_skips_versions_approved_only_in_a_removed_channel(
        store, database_url, monkeypatch, tmp_path, capsys):
    """``lineage rebuild --all --project`` re-makes the versions standing approved: one
    approved only for a channel the project has removed is not among them."""
    monkeypatch.setenv("LINEAGE_DATABASE_URL", database_url)
    monkeypatch.setenv("LINEAGE_DATA_DIR", str(tmp_path))
    history = History(store)
    ada, _ = history.user("ada")
    project = history.project("p", {ada: "admin"})
    history.channel(project, "print")
    history.decide(history.version(history.asset(project, "poster"), ada), ada,
                   channel="print")
    history.channel(project, "print", remove=True)

    assert main(["rebuild", "--all", "--project", project]) == 0
    assert "no approved versions in this project" in capsys.readouterr().out
