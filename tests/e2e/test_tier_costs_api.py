"""Cost per approved asset by tier, and in money where the project set prices: the
metrics split every job's compute by the tier it ran on and price it at the project's
price per compute-second of that tier. Prices are policies only an admin sets, checked
like every body. Jobs run in-process on the built-in model."""

from __future__ import annotations

import pytest

from tests.e2e.chain_support import Story
from tests.e2e.conftest import assert_problem


def _metrics(story: Story) -> dict:
    position = story.api.head()
    return story.creator.get(f"/api/projects/{story.project_id}/metrics"
                             f"?min_position={position}").get_json()


def test_metrics_split_compute_by_tier_and_price_it(story: Story) -> None:
    reviewer = story.api.as_user("reviewer", story.project_id, name="Rui")
    jobs = story.creator.get(f"/api/assets/{story.asset_id}/jobs"
                             f"?min_position={story.api.head()}").get_json()["items"]
    assert len(jobs) == 3  # generate, inpaint, adjust: all drafts
    drafts_cost = sum(job["cost_seconds"] for job in jobs)
    promoted = story.run(story.creator.post(f"/api/versions/{story.ids[-1]}/promote", json={}))
    final_id = promoted["version_ids"][-1]
    assert reviewer.post(f"/api/versions/{final_id}/decisions",
                         json={"decision": "approved"}).status_code == 201

    before = _metrics(story)["overall"]
    by_tier = before["compute_seconds_per_approved_asset_by_tier"]
    assert by_tier["draft"] == pytest.approx(drafts_cost, abs=2e-3)
    assert by_tier["final"] == pytest.approx(promoted["cost_seconds"], abs=2e-3)
    assert by_tier["draft"] + by_tier["final"] == pytest.approx(
        before["compute_seconds_per_approved_asset"], abs=2e-3)
    assert before["money_per_approved_asset"] is None  # no prices yet

    response = story.api.admin.patch(f"/api/projects/{story.project_id}/policies", json={
        "draft_price_per_compute_second": 0.5, "final_price_per_compute_second": 2,
        "price_currency": "EUR"})
    assert response.status_code == 200
    assert response.get_json()["policies"]["final_price_per_compute_second"] == 2

    body = _metrics(story)
    money = body["overall"]["money_per_approved_asset"]
    assert money["currency"] == "EUR"
    assert money["draft"] == pytest.approx(by_tier["draft"] * 0.5, abs=1e-3)
    assert money["final"] == pytest.approx(by_tier["final"] * 2, abs=1e-3)
    assert money["total"] == pytest.approx(money["draft"] + money["final"], abs=1e-3)
    assert body["overall"]["prices_per_compute_second"] == {
        "draft": 0.5, "final": 2.0, "currency": "EUR"}
    asset = body["assets"][0]
    assert asset["compute_seconds_by_tier"] == by_tier  # the one approved asset
    assert asset["money"]["total"] == money["total"]


def test_price_policies_are_checked_and_only_admins_set_them(api) -> None:
    project = api.project()
    creator = api.as_user("creator", project)
    reviewer = api.as_user("reviewer", project)
    url = f"/api/projects/{project}/policies"
    head = api.head()
    assert_problem(reviewer.patch(url, json={"final_price_per_compute_second": 1}), 403)
    assert_problem(creator.patch(url, json={"draft_price_per_compute_second": 1}), 403)
    assert_problem(api.admin.patch(url, json={"draft_price_per_compute_second": -1}), 422,
                   "draft_price_per_compute_second")
    assert_problem(api.admin.patch(url, json={"final_price_per_compute_second": "cheap"}), 422,
                   "final_price_per_compute_second")
    assert_problem(api.admin.patch(url, json={"price_currency": "euro"}), 422, "ISO 4217")
    assert api.head() == head
    set_ = api.admin.patch(url, json={"price_currency": "USD", "final_render_cap": 2})
    assert set_.get_json()["policies"]["price_currency"] == "USD"
    cleared = api.admin.patch(url, json={"price_currency": None}).get_json()["policies"]
    assert cleared["price_currency"] is None and cleared["final_render_cap"] == 2
