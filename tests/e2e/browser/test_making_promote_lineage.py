"""Promoting an edited draft from the asset page keeps its edit, in Chromium: the final's
version page shows a lineage that re-makes the generation and then the inpaint on the
final tier, and the recipe of the final records the inpaint's prompt and mask."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import STARTUP_SECONDS, Studio, screenshot


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_promoting_an_edited_draft_shows_the_edit_in_the_finals_lineage(studio: Studio,
                                                                       new_page) -> None:
    project = studio.call(studio.admin_token, "POST", "/api/projects", {"name": "Jackets"})
    project_id = project["project_id"]
    _, token = studio.member(project_id, "Cleo Creator", "creator")
    asset = studio.call(token, "POST", f"/api/projects/{project_id}/assets", {"name": "Look 4"})
    asset_id = asset["asset_id"]
    draft = studio.drafts(token, asset_id, prompt="a model in a red jacket")[0]
    inpaint = studio.call(token, "POST", f"/api/versions/{draft}/edits", {
        "operation": "inpaint", "prompt": "a navy jacket", "steps": 2,
        "region": {"x": 0.25, "y": 0.25, "w": 0.5, "h": 0.5}})
    edited = studio.drafts_of_jobs(token, [inpaint["jobs"][0]["job_id"]])[0]
    edited_recipe = studio.call(token, "GET", f"/api/versions/{edited}")["recipe"]

    page = new_page()
    studio.sign_in(page, token)
    page.goto(f"{studio.url}/assets/{asset_id}?v={edited}")
    page.get_by_role("button", name="Promote to final", exact=True).click()
    card = page.locator("#job-cards li.job-card").first
    expect(card).to_contain_text("Promote to final")
    expect(card).to_contain_text("Done", timeout=120_000)

    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        versions = studio.call(token, "GET", f"/api/assets/{asset_id}/versions")["items"]
        finals = [v for v in versions if v["tier"] == "final"]
        if len(finals) == 2:
            break
        assert time.monotonic() < deadline, versions
        time.sleep(0.3)
    final = next(v for v in finals
                 if studio.call(token, "GET", f"/api/versions/{v['version_id']}")[
                     "recipe"]["operation"] == "inpaint")
    recipe = studio.call(token, "GET", f"/api/versions/{final['version_id']}")["recipe"]
    assert (recipe["prompt"], recipe["mask_hash"]) == ("a navy jacket",
                                                       edited_recipe["mask_hash"])

    page.goto(f"{studio.url}/versions/{final['version_id']}")
    lineage = page.get_by_role("region", name="Lineage")
    steps = lineage.locator(".chain-step")
    # The draft it started from, then the chain re-made on the final tier: the edit kept.
    expect(steps.locator(".chain-op")).to_have_text(["generate", "generate", "inpaint"])
    expect(steps.locator(".chain-number")).to_contain_text(["draft", "final", "final"])
    expect(steps.last).to_have_class("chain-step current")
    screenshot(page, "making-promoted-lineage")
