"""The delivery dashboard in Chromium: its numbers equal GET /api/projects/{id}/metrics
(range "all"), each chart has its table beside it, the time range is a control, the CSV
link gives the same figures, and asset names print as text (also in the CSV, where a
formula-like name is neutralised)."""

from __future__ import annotations

import csv
import io
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import Studio, screenshot


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_dashboard_numbers_equal_the_metrics_api(studio: Studio, new_page) -> None:
    project = studio.call(studio.admin_token, "POST", "/api/projects", {"name": "Delivery"})
    project_id = project["project_id"]
    _, creator = studio.member(project_id, "Cleo Creator", "creator")
    _, reviewer = studio.member(project_id, "Rui Reviewer", "reviewer")
    studio.call(studio.admin_token, "PATCH", f"/api/projects/{project_id}/policies",
                {"final_render_cap": 3})
    approved = []
    for name, drafts in (("Poster <b>", 3), ("=SUM(A1)", 2), ("Banner", 1)):
        asset = studio.call(creator, "POST", f"/api/projects/{project_id}/assets",
                            {"name": name})
        versions = studio.drafts(creator, asset["asset_id"], count=drafts)
        if name != "Banner":
            promote = studio.call(creator, "POST", f"/api/versions/{versions[0]}/promote", {})
            final = studio.drafts_of_jobs(creator, [promote["jobs"][0]["job_id"]])[0]
            studio.call(reviewer, "POST", f"/api/versions/{final}/decisions",
                        {"decision": "approved"})
            approved.append(name)
    head = studio.call(creator, "GET", f"/api/projects/{project_id}/metrics")
    metrics = head["overall"]

    page = new_page()
    studio.sign_in(page, creator)
    page.goto(f"{studio.url}/projects/{project_id}")
    page.get_by_role("link", name="Delivery").click()
    page.get_by_label("Time range").select_option("all")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{studio.url}/projects/{project_id}/dashboard?range=all")

    def figure(name: str) -> str:
        return page.locator(f'[data-figure="{name}"]').inner_text().strip()

    def value(name: str) -> float | None:
        text = page.locator(f'[data-figure="{name}"]').get_attribute("data-value")
        return None if text in (None, "None") else float(text)

    assert int(figure("drafts")) == metrics["drafts"] == 6
    assert int(figure("finals")) == metrics["finals"] == 2
    assert value("draft_to_final_ratio") == metrics["draft_to_final_ratio"]
    assert int(figure("approval_count")) == metrics["seconds_to_first_approval"]["count"] == 2
    assert value("approval_median") == pytest.approx(metrics["seconds_to_first_approval"]["median"])
    assert value("approval_p90") == pytest.approx(metrics["seconds_to_first_approval"]["p90"])
    assert value("compute_per_approved") == metrics["compute_seconds_per_approved_asset"]
    assert value("project_compute_per_approved") == metrics[
        "project_compute_seconds_per_approved_asset"]
    assert value("compute_total") == metrics["compute_seconds_total"]
    assert int(figure("approved_in_range")) == sum(metrics["approved_assets_per_day"].values())
    for day, count in metrics["approved_assets_per_day"].items():
        assert page.locator(f'[data-day="{day}"]').inner_text() == str(count)
    assert figure("final_render_cap") == "3"
    # Banner's draft and the two approved assets' undecided drafts wait for a decision.
    assert int(figure("backlog")) >= 1
    expect(page.locator("svg.chart-svg")).to_have_count(6)
    expect(page.get_by_role("img", name="Finals per approved asset")).to_be_visible()
    expect(page.locator(".dash-table").nth(3)).to_contain_text("Poster <b>")
    assert page.locator(".dash-table b").count() == 0  # a name is text, never markup
    screenshot(page, "making-dashboard", full_page=True)

    link = page.get_by_role("link", name="Download CSV")
    href = link.get_attribute("href")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    request = urllib.request.Request(studio.url + href, headers={
        "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.read().decode())))
    table = {(section, name): cell for section, name, cell in rows[1:]}
    assert table[("drafts and finals", "drafts")] == "6"
    assert float(table[("cost", "compute_seconds_total")]) == metrics["compute_seconds_total"]
    assert table[("finals per approved asset", "'=SUM(A1)")] == "1"  # never a formula
    assert table[("finals per approved asset", "Poster <b>")] == "1"

    page.get_by_label("Time range").select_option("7")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{studio.url}/projects/{project_id}/dashboard?range=7")
    assert int(figure("approval_count")) == 2  # approved today: inside the last 7 days
