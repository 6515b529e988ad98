"""Issue 13's "done when", in two browsers with nothing sent as JSON by hand: the creator
generates a draft, repaints a region by painting a mask, promotes the edited draft; the
reviewer, watching the same asset, sees the final arrive without reloading and approves
it; the dashboard then counts the approved asset as GET /api/projects/{id}/metrics does.
(The test reads the API only to check what the pages did.)"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import STARTUP_SECONDS, Studio, screenshot


def _versions(studio: Studio, token: str, asset_id: str, count: int) -> list[dict]:
    """The asset's versions once there are ``count`` of them, oldest first."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        items = studio.call(token, "GET", f"/api/assets/{asset_id}/versions")["items"]
        if len(items) >= count:
            return sorted(items, key=lambda v: v["created_at"])
        assert time.monotonic() < deadline, items
        time.sleep(0.3)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_creator_and_a_reviewer_run_a_live_session(studio: Studio, new_page) -> None:
    project = studio.call(studio.admin_token, "POST", "/api/projects", {"name": "Live day"})
    project_id = project["project_id"]
    _, creator_token = studio.member(project_id, "Cleo Creator", "creator")
    _, reviewer_token = studio.member(project_id, "Rui Reviewer", "reviewer")

    creator = new_page()
    studio.sign_in(creator, creator_token)
    creator.goto(f"{studio.url}/projects/{project_id}")
    creator.get_by_text("New asset").click()
    creator.get_by_label("Asset name").fill("Jacket")
    creator.get_by_role("button", name="Create asset").click()
    expect(creator.get_by_role("heading", name="Jacket")).to_be_visible()
    asset_id = creator.url.split("/assets/")[1].split("?")[0]

    # A draft from the generate panel.
    creator.get_by_role("textbox", name="Prompt", exact=True).fill("a model in a red jacket")
    creator.get_by_label("Variations", exact=True).select_option("1")
    creator.get_by_label("Size", exact=True).select_option("64")
    creator.get_by_label("Steps", exact=True).fill("2")
    creator.get_by_role("button", name="Generate", exact=True).click()
    draft = _versions(studio, creator_token, asset_id, 1)[0]["version_id"]

    reviewer = new_page()
    studio.sign_in(reviewer, reviewer_token)
    reviewer.goto(f"{studio.url}/assets/{asset_id}")
    expect(reviewer.locator("body")).to_have_attribute("data-live", "open")
    reviewer.evaluate("window.__sameDocument = true")

    # Repaint a region: a rectangle painted on the mask, then Inpaint.
    creator.goto(f"{studio.url}/assets/{asset_id}?v={draft}")
    creator.locator("#edit-inpaint > summary").click()
    canvas = creator.get_by_role("img", name="Mask: paint over the part to repaint")
    creator.get_by_role("button", name="Rectangle").click()
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    creator.mouse.move(box["x"] + 0.25 * box["width"], box["y"] + 0.25 * box["height"])
    creator.mouse.down()
    creator.mouse.move(box["x"] + 0.75 * box["width"], box["y"] + 0.75 * box["height"],
                       steps=6)
    creator.mouse.up()
    creator.get_by_label("Inpaint prompt").fill("a navy jacket")
    creator.get_by_label("Inpaint steps").fill("2")
    creator.get_by_role("button", name="Inpaint", exact=True).click()
    edited = _versions(studio, creator_token, asset_id, 2)[-1]
    assert edited["operation"] == "inpaint"

    # Promote the edited draft: its chain is re-made on the final tier.
    creator.goto(f"{studio.url}/assets/{asset_id}?v={edited['version_id']}")
    creator.get_by_role("button", name="Promote to final", exact=True).click()
    made = _versions(studio, creator_token, asset_id, 4)
    final = next(v for v in made if v["tier"] == "final" and v["operation"] == "inpaint")

    # The reviewer sees the final arrive live, opens it and approves it.
    tile = reviewer.locator(f'#strip a.tile[data-version-id="{final["version_id"]}"]')
    expect(tile).to_be_visible(timeout=120_000)
    assert reviewer.evaluate("window.__sameDocument") is True  # never reloaded
    tile.click()
    expect(reviewer.locator("svg.viewer-svg")).to_have_attribute(
        "data-version-id", final["version_id"])
    reviewer.get_by_role("button", name="Approve", exact=True).click()
    expect(reviewer.locator("#review")).to_contain_text("Rui Reviewer")
    screenshot(reviewer, "live-session-approved")

    # The creator reads the dashboard: one approved asset, as the metrics say.
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        metrics = studio.call(creator_token, "GET", f"/api/projects/{project_id}/metrics")
        if metrics["overall"]["approved_assets"] == 1:
            break
        assert time.monotonic() < deadline, metrics
        time.sleep(0.3)
    creator.goto(f"{studio.url}/projects/{project_id}/dashboard?range=all")
    expect(creator.locator('[data-figure="approval_count"]')).to_have_text(
        str(metrics["overall"]["seconds_to_first_approval"]["count"]))
    expect(creator.locator('[data-figure="finals"]')).to_have_text(
        str(metrics["overall"]["finals"]))
    screenshot(creator, "live-session-dashboard", full_page=True)
