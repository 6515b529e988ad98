"""Story (d): the as-of view shows an approval that stood at that moment, not the
revocation that came later; "Back to now" shows the revocation."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import Studio, screenshot


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_as_of_shows_the_earlier_approval_without_the_later_revocation(
        studio: Studio, new_page) -> None:
    token = studio.admin_token
    pid = studio.call(token, "POST", "/api/projects", {"name": "Time travel"})["project_id"]
    aid = studio.call(token, "POST", f"/api/projects/{pid}/assets", {"name": "Banner"})["asset_id"]
    version = studio.drafts(token, aid)[0]
    decision = studio.call(token, "POST", f"/api/versions/{version}/decisions",
                           {"decision": "approved", "note": "the one we agreed at the meeting"})
    approved_at = datetime.fromisoformat(decision["created_at"])
    moment = (approved_at + timedelta(seconds=1)).replace(microsecond=0)
    while datetime.now(UTC) <= moment + timedelta(milliseconds=200):
        time.sleep(0.05)
    studio.call(token, "POST", f"/api/decisions/{decision['decision_id']}/revoke",
                {"reason": "the client changed their mind"})

    page = new_page()
    page.goto(studio.signin_link)
    page.goto(f"{studio.url}/assets/{aid}")
    marks = page.locator("#review .mark")
    expect(marks).to_have_count(1)
    expect(marks).to_have_class("mark mark-approved revoked")

    page.get_by_label("As of (UTC)").fill(moment.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("status").filter(has_text="as it stood at")).to_be_visible()
    expect(marks).to_have_count(1)
    expect(marks).to_have_class("mark mark-approved")
    expect(marks).not_to_contain_text("revoked")
    expect(page.get_by_text("Agreed", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.get_by_role("button", name="Generate")).to_have_count(0)
    assert "as_of=" in page.url
    screenshot(page, "as-of")

    page.get_by_role("link", name="Back to now").click()
    expect(marks).to_contain_text("revoked")
    expect(marks).to_contain_text("the client changed their mind")
    expect(page.get_by_text("Agreed", exact=True)).to_have_count(0)
