"""Every main page of the studio drawn with real data, at a desktop and a phone width:
nothing fails to render, every image has alt text, and screenshots are saved for people
to look at (var/screenshots/)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import PHONE, Studio, screenshot


def seeded_project(studio: Studio) -> dict[str, str]:
    """A project with channels, two assets, drafts, a final, comments and decisions."""
    admin = studio.admin_token
    project = studio.call(admin, "POST", "/api/projects", {
        "name": "Summer 26", "description": "Bottles, shoes and posters for the summer launch"})
    pid = project["project_id"]
    for channel, side in (("social", 64), ("print", 128)):
        studio.call(admin, "PUT", f"/api/projects/{pid}/channels/{channel}",
                    {"min_width": side, "min_height": side})
    _, reviewer = studio.member(pid, "Rita Brand", "reviewer")
    _, creator = studio.member(pid, "Ben Designer", "creator")
    hero = studio.call(creator, "POST", f"/api/projects/{pid}/assets", {
        "name": "Hero bottle", "tags": ["campaign/summer-26/social", "hero"]})["asset_id"]
    poster = studio.call(creator, "POST", f"/api/projects/{pid}/assets", {
        "name": "Poster", "tags": ["campaign/summer-26/print"]})["asset_id"]
    studio.call(creator, "POST", f"/api/projects/{pid}/assets", {"name": "Shoe banner"})
    drafts = studio.drafts(creator, hero, 4, "a glass bottle on limestone, afternoon light",
                           side=256, steps=4)
    studio.drafts(creator, poster, 2, "a poster of a lemon grove at noon")
    edit = studio.call(creator, "POST", f"/api/versions/{drafts[1]}/edits", {
        "operation": "adjust", "adjustments": {"brightness": 1.2}})
    edited = studio.drafts_of_jobs(creator, [edit["jobs"][0]["job_id"]])[0]
    studio.call(reviewer, "POST", f"/api/versions/{drafts[0]}/comments", {
        "body": "Label too small", "region": {"x": 0.3, "y": 0.4, "w": 0.3, "h": 0.2}})
    studio.call(reviewer, "POST", f"/api/versions/{edited}/comments", {
        "body": "The highlight reads as glass now", "region": {"x": 0.55, "y": 0.2,
                                                                "w": 0.25, "h": 0.3}})
    studio.call(creator, "POST", f"/api/versions/{edited}/comments", {
        "body": "Brightened 20 %, same seed"})
    studio.call(reviewer, "POST", f"/api/versions/{drafts[0]}/decisions", {
        "decision": "changes_requested", "note": "Warmer, bigger label"})
    studio.call(reviewer, "POST", f"/api/versions/{edited}/decisions", {
        "decision": "approved", "channel": "social"})
    studio.call(creator, "POST", f"/api/versions/{edited}/pins", {"label": "Tuesday review"})
    return {"project": pid, "hero": hero, "a": drafts[1], "b": edited, "reviewer": reviewer}


def look(page: Page, name: str) -> None:
    missing = page.locator("img:not([alt]), img[alt='']")
    assert missing.count() == 0, [missing.nth(i).get_attribute("src")
                                  for i in range(missing.count())]
    screenshot(page, name)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_main_page_renders_at_desktop_and_phone_widths(studio: Studio, new_page) -> None:
    ids = seeded_project(studio)
    pages = {
        "home": "/", "board": f"/projects/{ids['project']}",
        "asset": f"/assets/{ids['hero']}?v={ids['b']}",
        "compare": f"/assets/{ids['hero']}/compare?a={ids['a']}&b={ids['b']}&mode=side",
        "version": f"/versions/{ids['b']}", "audit": f"/audit?project={ids['project']}",
    }
    for width_name, viewport in (("desktop", None), ("phone", PHONE)):
        page = new_page(viewport)
        studio.sign_in(page, ids["reviewer"])
        for name, path in pages.items():
            page.goto(studio.url + path)
            expect(page.locator("main")).to_be_visible()
            look(page, f"tour-{name}-{width_name}")
    page = new_page()
    studio.sign_in(page, ids["reviewer"])
    page.goto(f"{studio.url}/projects/{ids['project']}")
    expect(page.get_by_role("link", name="Hero bottle")).to_be_visible()
    expect(page.locator(".card", has_text="Hero bottle")).to_contain_text("Approved")
    expect(page.locator(".card", has_text="Poster")).to_contain_text("Needs review")
    expect(page.locator(".card", has_text="Shoe banner")).to_contain_text("No versions")
    page.goto(f"{studio.url}/assets/{ids['hero']}?v={ids['b']}")
    expect(page.locator(".pin-badge")).to_contain_text("Tuesday review")
    page.get_by_role("button", name="Remove the pin Tuesday review").click()
    expect(page.locator(".pin-badge")).to_have_count(0)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_review_loop_and_compare_work_from_the_keyboard_alone(studio: Studio,
                                                                  new_page) -> None:
    ids = seeded_project(studio)
    page = new_page()
    studio.sign_in(page, ids["reviewer"])
    page.goto(f"{studio.url}/assets/{ids['hero']}?v={ids['a']}")

    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")

    # A region comment without a mouse: the button by Tab and Enter, arrows move the box.
    page.get_by_role("button", name="Mark region").focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-viewer]")).to_be_focused()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowDown")
    page.get_by_role("textbox", name="Comment").focus()
    page.keyboard.type("Crop tighter here")
    page.keyboard.press("Tab")  # Mark region
    page.keyboard.press("Tab")  # Comment
    page.keyboard.press("Enter")
    expect(page.locator("#review")).to_contain_text("Crop tighter here")
    expect(page.locator("svg.viewer-svg .region rect")).to_have_count(1)

    # r, a note, Enter: changes requested.
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("r")
    expect(page.get_by_label("Note (optional for approval)")).to_be_focused()
    page.keyboard.type("Warmer, please")
    page.keyboard.press("Enter")
    expect(page.locator("#review .mark-changes_requested")).to_contain_text("Warmer, please")

    # Right: the next version; c: compare it with the version it was made from.
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("ArrowRight")
    expect(page.locator("svg.viewer-svg")).not_to_have_attribute("data-version-id", ids["a"])
    page.goto(f"{studio.url}/assets/{ids['hero']}?v={ids['b']}")
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("c")
    expect(page).to_have_url(re.compile(rf"compare\?a={ids['a']}&b={ids['b']}"))
    expect(page.get_by_role("region", name="Recipe differences")).to_contain_text("adjust")

    # Compare state lives in the URL: 2 overlays, t flips to 100 %, a reload keeps it.
    page.keyboard.press("2")
    page.keyboard.press("t")
    expect(page).to_have_url(re.compile(r"mode=overlay"))
    expect(page).to_have_url(re.compile(r"opacity=100"))
    page.reload()
    expect(page.get_by_role("link", name="Overlay")).to_have_attribute("aria-current", "true")
    expect(page.locator("[data-opacity-output]")).to_have_text("100%")
    page.keyboard.press("t")
    expect(page).to_have_url(re.compile(r"opacity=0"))
    page.keyboard.press("3")
    for _ in range(4):
        page.keyboard.press("ArrowLeft")
    expect(page).to_have_url(re.compile(r"mode=wipe.*split=30|split=30.*mode=wipe"))
    screenshot(page, "compare-wipe")
    page.keyboard.press("4")
    expect(page.locator("[data-compare-stage]")).to_have_class(re.compile("mode-difference"))
    screenshot(page, "compare-difference")
