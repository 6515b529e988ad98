"""Story (c): an admin shares an asset through a guest link; the guest gives a name,
comments, cannot decide, and after the link is revoked gets 404. The audit names the
guest "via link"."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from commands.asset_state import load_asset
from tests.e2e.browser.conftest import PHONE, Studio, screenshot


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_guest_comments_cannot_decide_and_loses_access_on_revocation(
        studio: Studio, new_page) -> None:
    admin_token = studio.admin_token
    project = studio.call(admin_token, "POST", "/api/projects", {"name": "Client review"})
    pid = project["project_id"]
    asset = studio.call(admin_token, "POST", f"/api/projects/{pid}/assets", {"name": "Key art"})
    other = studio.call(admin_token, "POST", f"/api/projects/{pid}/assets", {"name": "Secret"})
    version = studio.drafts(admin_token, asset["asset_id"])[0]
    hidden_version = studio.drafts(admin_token, other["asset_id"])[0]

    admin = new_page()
    admin.goto(studio.signin_link)
    admin.goto(f"{studio.url}/assets/{asset['asset_id']}")
    admin.get_by_role("link", name="Share").click()
    expect(admin.get_by_role("checkbox", name="Key art")).to_be_checked()
    admin.get_by_label("Guests may").select_option("comment")
    admin.get_by_label("Label").fill("for the client")
    admin.get_by_role("button", name="Create link").click()
    url = admin.get_by_label("Guest link").input_value()
    assert url.startswith(f"{studio.url}/g/")

    guest = new_page(PHONE)
    guest.goto(url)
    guest.get_by_label("Your name").fill("Gina Guest")
    guest.get_by_role("button", name="Open").click()
    expect(guest.locator("svg.viewer-svg")).to_have_attribute("data-version-id", version)
    expect(guest.get_by_role("button", name="Approve")).to_have_count(0)
    expect(guest.get_by_role("button", name="Request changes")).to_have_count(0)
    guest.get_by_role("textbox", name="Comment").fill("Love the colour")
    guest.get_by_role("button", name="Comment", exact=True).click()
    expect(guest.locator("#review")).to_contain_text("Gina Guest")
    screenshot(guest, "guest-asset-phone")

    # Guests never decide, and see nothing the link does not share.
    status = guest.evaluate("""async (v) => (await fetch(`/api/versions/${v}/decisions`, {
        method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({decision: "approved"})})).status""", version)
    assert status == 401
    code_path = url.removeprefix(studio.url)
    hidden = guest.goto(f"{studio.url}{code_path}/assets/{other['asset_id']}")
    assert hidden.status == 404
    hidden_image = guest.goto(f"{studio.url}{code_path}/versions/{hidden_version}/image")
    assert hidden_image.status == 404

    state, _ = load_asset(studio.store, asset["asset_id"])
    comment = next(iter(state.comments.values()))
    assert comment.event.body == "Love the colour"
    assert comment.event.author_id.startswith("guest:") and not state.decisions

    admin.goto(f"{studio.url}/audit?project={pid}")
    expect(admin.locator("table")).to_contain_text("Gina Guest via link")
    screenshot(admin, "audit-with-guest")

    admin.goto(f"{studio.url}/projects/{pid}/guest-links")
    expect(admin.locator(".link-item")).to_contain_text("Gina Guest")
    admin.get_by_role("button", name="Revoke").click()
    expect(admin.locator(".link-item")).to_contain_text("revoked")
    screenshot(admin, "guest-links")

    for path in ("", f"/assets/{asset['asset_id']}", f"/versions/{version}/image"):
        gone = guest.goto(f"{studio.url}{code_path}{path}")
        assert gone.status == 404, path
