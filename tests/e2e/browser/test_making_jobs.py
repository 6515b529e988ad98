"""Job control on the asset page, in Chromium: a promotion's card runs to "Done" and
links the final; a promotion whose mask went missing fails with its reason in words and
offers "Retry"; a queued job is cancelled from its card; a promote over the project's
final-render cap is refused with the policy's reason on the page."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import STARTUP_SECONDS, Studio, screenshot


def _wait_for_status(studio: Studio, token: str, job_id: str, wanted: set[str]) -> dict:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        job = studio.call(token, "GET", f"/api/jobs/{job_id}")
        if job["status"] in wanted:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_job_cards_promote_fail_retry_cancel_and_refusal(studio: Studio, new_page) -> None:
    project = studio.call(studio.admin_token, "POST", "/api/projects", {"name": "Job control"})
    project_id = project["project_id"]
    _, token = studio.member(project_id, "Cleo Creator", "creator")
    asset = studio.call(token, "POST", f"/api/projects/{project_id}/assets", {"name": "Kite"})
    asset_id = asset["asset_id"]
    draft = studio.drafts(token, asset_id)[0]
    inpaint = studio.call(token, "POST", f"/api/versions/{draft}/edits", {
        "operation": "inpaint", "prompt": "a blue kite", "steps": 2,
        "region": {"x": 0.25, "y": 0.25, "w": 0.5, "h": 0.5}})
    edited = studio.drafts_of_jobs(token, [inpaint["jobs"][0]["job_id"]])[0]

    page = new_page()
    studio.sign_in(page, token)

    # A promotion that succeeds: its card ends "Done" with a link to the final.
    page.goto(f"{studio.url}/assets/{asset_id}?v={draft}")
    expect(page.locator("body")).to_have_attribute("data-live", "open")
    page.get_by_role("button", name="Promote to final", exact=True).click()
    cards = page.locator("#job-cards li.job-card")
    first = cards.first
    expect(first).to_contain_text("Promote to final")
    expect(first).to_contain_text("Done", timeout=120_000)
    expect(first.get_by_role("link")).to_have_count(1)
    finals = [v for v in studio.call(token, "GET", f"/api/assets/{asset_id}/versions")["items"]
              if v["tier"] == "final"]
    assert len(finals) == 1

    # The edited draft's mask goes missing: its promotion fails, and says why in words.
    mask = studio.call(token, "GET", f"/api/versions/{edited}")["recipe"]["mask_hash"]
    studio.services.blobs.path(mask).unlink()
    page.goto(f"{studio.url}/assets/{asset_id}?v={edited}")
    page.get_by_role("button", name="Promote to final", exact=True).click()
    failed = page.locator("#job-cards li.job-card").first
    expect(failed).to_have_attribute("data-status", "failed", timeout=120_000)
    expect(failed.locator(".job-card-failure")).to_contain_text(
        "an image or mask it needed is missing")
    expect(failed.get_by_role("button", name="Retry")).to_be_visible()
    screenshot(page, "making-job-failed")
    failed_id = failed.get_attribute("data-card-job")
    failed.get_by_role("button", name="Retry").click()
    expect(page.locator("#toast")).to_contain_text("Retry requested")
    retried = _wait_for_status(studio, token, failed_id, {"failed"})
    assert retried["requests"] >= 2 or retried["attempts"] >= 2, retried

    # Cancel: the worker (one thread) is busy, so the last job of a batch waits queued.
    batch = studio.call(token, "POST", f"/api/assets/{asset_id}/generations", {
        "prompt": "a red kite, storm", "variations": 3, "width": 256, "height": 256,
        "steps": 30})
    last = batch["jobs"][-1]["job_id"]
    page.goto(f"{studio.url}/assets/{asset_id}?v={edited}")
    card = page.locator(f'#job-cards li[data-card-job="{last}"]')
    expect(card).to_be_visible()
    card.get_by_role("button", name="Cancel").click()
    expect(card).to_have_attribute("data-status", "cancelled", timeout=60_000)
    expect(card).to_contain_text("Cancelled; nothing was kept.")
    assert studio.call(token, "GET", f"/api/jobs/{last}")["status"] == "cancelled"
    screenshot(page, "making-job-cancelled")
    studio.drafts_of_jobs(token, [job["job_id"] for job in batch["jobs"][:-1]])

    # Over the cap: the promote is refused before anything is queued, with the reason.
    studio.call(studio.admin_token, "PATCH", f"/api/projects/{project_id}/policies",
                {"final_render_cap": 1})
    page.goto(f"{studio.url}/assets/{asset_id}?v={draft}")
    jobs_before = page.locator("#job-cards li.job-card").count()
    page.get_by_role("button", name="Promote to final", exact=True).click()
    expect(page.locator("#toast")).to_contain_text("would pass the cap of 1")
    screenshot(page, "making-promote-refused")
    expect(page.locator("#job-cards li.job-card")).to_have_count(jobs_before)
