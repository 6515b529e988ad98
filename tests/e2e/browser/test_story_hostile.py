"""Story (e): hostile strings in every field people or imported files fill (names,
descriptions, tags, prompts, comments, notes, pin labels, reasons) render as inert text
on every page, and bidirectional-override and zero-width characters cannot disguise a
name: they are shown as visible code points."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import Studio, screenshot

SCRIPT = "<script>window.__pwned = 'script'</script>"
IMG = "\"><img src=x onerror=\"window.__pwned='img'\">"
SVG = "<svg onload=\"window.__pwned='svg'\"></svg>"
LINK = "<a href=\"javascript:window.__pwned='link'\">click</a>"
BIDI_NAME = "Ana\u202egnp.exe"          # reads as "Anaexe.png" when the override works
ZERO_WIDTH_NAME = "Ri\u200bta"          # looks like "Rita"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_hostile_strings_render_inert_and_names_cannot_be_disguised(
        studio: Studio, new_page) -> None:
    admin = studio.admin_token
    pid = studio.call(admin, "POST", "/api/projects", {
        "name": f"Campaign {SCRIPT}", "description": f"brief {IMG}"})["project_id"]
    studio.call(admin, "PUT", f"/api/projects/{pid}/channels/social",
                {"min_width": 64, "min_height": 64})
    _, reviewer = studio.member(pid, BIDI_NAME, "reviewer")
    _, creator = studio.member(pid, ZERO_WIDTH_NAME, "creator")
    aid = studio.call(creator, "POST", f"/api/projects/{pid}/assets", {
        "name": f"Hero {SVG}", "brief": LINK, "tags": [f"tag{SCRIPT}"]})["asset_id"]
    versions = studio.drafts(creator, aid, 2, prompt=f"a fox {IMG} {LINK}")
    studio.call(reviewer, "POST", f"/api/versions/{versions[1]}/comments", {
        "body": f"{SCRIPT} {LINK}", "region": {"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2}})
    decision = studio.call(reviewer, "POST", f"/api/versions/{versions[1]}/decisions", {
        "decision": "approved", "channel": "social", "note": SVG})
    studio.call(reviewer, "POST", f"/api/decisions/{decision['decision_id']}/revoke",
                {"reason": IMG})
    studio.call(creator, "POST", f"/api/versions/{versions[1]}/pins", {"label": SCRIPT})

    page = new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    studio.sign_in(page, reviewer)
    paths = ["/", f"/projects/{pid}", f"/assets/{aid}?v={versions[1]}",
             f"/assets/{aid}/compare?a={versions[0]}&b={versions[1]}",
             f"/versions/{versions[1]}", f"/audit?project={pid}"]
    for path in paths:
        response = page.goto(studio.url + path)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        expect(page.locator("main")).to_be_visible()
        page.wait_for_timeout(200)
        assert page.evaluate("window.__pwned") is None, path
        assert page.locator("main script, main img[src='x'], main [onerror], main [onload]"
                            ).count() == 0, path
        text = page.locator("body").inner_text()
        assert "\u202e" not in text and "\u200b" not in text, path
        for link in page.locator("a[href^='javascript']").all():
            raise AssertionError(f"{path}: a javascript: link {link.get_attribute('href')}")
    assert dialogs == []

    page.goto(f"{studio.url}/assets/{aid}?v={versions[1]}")
    review = page.locator("#review")
    expect(review).to_contain_text(SCRIPT)          # shown as the text it is
    expect(review).to_contain_text("Ana[U+202E]gnp.exe")
    expect(page.locator("h1")).to_contain_text("Hero <svg onload=")
    expect(page.locator(".pin-badge")).to_contain_text(SCRIPT)
    screenshot(page, "hostile-asset")
    page.goto(f"{studio.url}/audit?project={pid}")
    expect(page.locator("table")).to_contain_text("Ri[U+200B]ta")
    expect(page.locator("table")).to_contain_text("Ana[U+202E]gnp.exe")
