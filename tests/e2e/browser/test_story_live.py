"""Story (b): a reviewer in a second browser sees the creator's new version and comment
appear without reloading (Server-Sent Events, fragments redrawn by the server)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import Studio, screenshot


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_reviewer_sees_new_versions_and_comments_live(studio: Studio, new_page) -> None:
    project = studio.call(studio.admin_token, "POST", "/api/projects", {"name": "Live review"})
    project_id = project["project_id"]
    _, creator_token = studio.member(project_id, "Cleo Creator", "creator")
    _, reviewer_token = studio.member(project_id, "Rui Reviewer", "reviewer")
    asset = studio.call(creator_token, "POST", f"/api/projects/{project_id}/assets",
                        {"name": "Poster"})
    first = studio.drafts(creator_token, asset["asset_id"])[0]

    reviewer = new_page()
    studio.sign_in(reviewer, reviewer_token)
    reviewer.goto(f"{studio.url}/assets/{asset['asset_id']}")
    expect(reviewer.locator("svg.viewer-svg")).to_have_attribute("data-version-id", first)
    reviewer.evaluate("window.__sameDocument = true")
    expect(reviewer.locator("body")).to_have_attribute("data-live", "open")

    creator = new_page()
    studio.sign_in(creator, creator_token)
    creator.goto(f"{studio.url}/projects/{project_id}")
    creator.get_by_role("link", name="Poster").click()
    creator.get_by_role("textbox", name="Prompt", exact=True).fill("a red kite, dusk")
    creator.get_by_label("Variations", exact=True).select_option("1")
    creator.get_by_label("Size", exact=True).select_option("64")
    creator.get_by_label("Steps", exact=True).fill("2")
    creator.get_by_role("button", name="Generate").click()

    new_tiles = reviewer.locator("#strip a.tile[data-version-id]:visible")
    expect(new_tiles).to_have_count(2, timeout=120_000)
    second = [new_tiles.nth(i).get_attribute("data-version-id") for i in range(2)]
    assert first in second

    creator.goto(f"{studio.url}/assets/{asset['asset_id']}?v={first}")
    creator.get_by_role("textbox", name="Comment").fill("The kite string is lost at dusk")
    creator.get_by_role("button", name="Comment", exact=True).click()

    expect(reviewer.locator("#review")).to_contain_text("The kite string is lost at dusk")
    expect(reviewer.locator("#review")).to_contain_text("Cleo Creator")
    assert reviewer.evaluate("window.__sameDocument") is True  # never reloaded
    screenshot(reviewer, "live-reviewer")
