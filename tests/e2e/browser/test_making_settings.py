"""Project settings in Chromium: an admin adds a member and sets the cap on finals; the
creator's final is then refused on the asset page with the policy's reason, and once
the admin lifts the cap (and sets prices) the same final is made. The dashboard's cost
per approved asset by tier, in money, equals GET /api/projects/{id}/metrics; a creator
cannot open the settings."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import DESKTOP, PHONE, STARTUP_SECONDS, Studio, screenshot


def _finals(studio: Studio, token: str, asset_id: str) -> list[dict]:
    items = studio.call(token, "GET", f"/api/assets/{asset_id}/versions")["items"]
    return [v for v in items if v["tier"] == "final"]


def _ask_for_a_final(panel) -> None:  # noqa: ANN001 - a Playwright locator
    """One small final from the generate panel."""
    panel.get_by_label("Final").check()
    panel.get_by_label("Variations").select_option("1")
    panel.get_by_label("Size").select_option("64")
    panel.get_by_label("Steps").fill("2")
    panel.get_by_role("button", name="Generate", exact=True).click()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_settings_change_a_policy_that_refuses_then_permits_a_final(studio: Studio,
                                                                   new_page) -> None:
    project = studio.call(studio.admin_token, "POST", "/api/projects", {"name": "Launch"})
    project_id = project["project_id"]
    _, creator = studio.member(project_id, "Cleo Creator", "creator")
    _, reviewer = studio.person("Rui Reviewer")
    asset = studio.call(creator, "POST", f"/api/projects/{project_id}/assets", {"name": "Hero"})
    asset_id = asset["asset_id"]
    studio.drafts(creator, asset_id)

    admin = new_page()
    studio.sign_in(admin, studio.admin_token)
    admin.goto(f"{studio.url}/projects/{project_id}")
    admin.get_by_role("link", name="Settings").click()
    expect(admin).to_have_url(f"{studio.url}/projects/{project_id}/settings")

    # Members: add Rui as a reviewer by typing his name.
    admin.get_by_label("Add a person").fill("Rui Reviewer")
    admin.get_by_label("As", exact=True).select_option("reviewer")
    with admin.expect_navigation():  # the page loads again, showing the write
        admin.get_by_role("button", name="Add", exact=True).click()
    expect(admin.get_by_label("Role of Rui Reviewer")).to_have_value("reviewer")

    # Policies: no finals at all for now.
    admin.get_by_label("Finals per asset (cap)").fill("0")
    with admin.expect_navigation():
        admin.get_by_role("button", name="Save policies").click()
    expect(admin.get_by_label("Finals per asset (cap)")).to_have_value("0")
    assert studio.call(creator, "GET", f"/api/projects/{project_id}")["policies"][
        "final_render_cap"] == 0

    # The creator sees the cap before the click, and the refusal's reason after it.
    page = new_page()
    studio.sign_in(page, creator)
    page.goto(f"{studio.url}/assets/{asset_id}")
    policy = page.get_by_role("note", name="Project policy before you generate")
    expect(policy).to_contain_text("Finals: 0 of 0 allowed, 0 left under the cap.")
    panel = page.locator("#panel-generate")
    _ask_for_a_final(panel)
    expect(page.locator("#toast")).to_contain_text("would pass the cap of 0")
    refusal = panel.get_by_role("alert")
    expect(refusal).to_have_text("Refused by the project's policy: this asset has 0 finals; "
                                 "1 more would pass the cap of 0 per asset.")
    screenshot(page, "making-final-refused")
    page.set_viewport_size(PHONE)
    screenshot(page, "making-final-refused-phone", full_page=True)
    page.set_viewport_size(DESKTOP)
    assert _finals(studio, creator, asset_id) == []

    # The admin lifts the cap and sets prices; the same final is now made.
    admin.get_by_label("Finals per asset (cap)").fill("")
    admin.get_by_label("Price per draft compute-second").fill("0.5")
    admin.get_by_label("Price per final compute-second").fill("2")
    admin.get_by_label("Currency").fill("eur")
    with admin.expect_navigation():
        admin.get_by_role("button", name="Save policies").click()
    expect(admin.get_by_label("Currency")).to_have_value("EUR")
    expect(admin.get_by_label("Finals per asset (cap)")).to_have_value("")
    screenshot(admin, "making-settings", full_page=True)
    admin.set_viewport_size(PHONE)
    screenshot(admin, "making-settings-phone", full_page=True)

    page.reload()
    expect(page.get_by_role("note", name="Project policy before you generate")).to_have_count(0)
    _ask_for_a_final(panel)
    expect(page.locator("#toast")).to_contain_text("Renders requested")
    deadline = time.monotonic() + STARTUP_SECONDS
    while not (finals := _finals(studio, creator, asset_id)):
        assert time.monotonic() < deadline
        time.sleep(0.3)

    # Money per approved asset on the dashboard equals the metrics API.
    decided = studio.call(reviewer, "POST",
                          f"/api/versions/{finals[0]['version_id']}/decisions",
                          {"decision": "approved"})
    metrics = studio.call(creator, "GET", f"/api/projects/{project_id}/metrics"
                          f"?min_position={decided['position']}")["overall"]
    money = metrics["money_per_approved_asset"]
    assert money["currency"] == "EUR" and money["final"] > 0
    page.goto(f"{studio.url}/projects/{project_id}/dashboard?range=all")

    def value(name: str) -> float | None:
        text = page.locator(f'[data-figure="{name}"]').get_attribute("data-value")
        return None if text in (None, "None") else float(text)

    by_tier = metrics["compute_seconds_per_approved_asset_by_tier"]
    assert value("draft_compute_per_approved") == by_tier["draft"]
    assert value("final_compute_per_approved") == by_tier["final"]
    assert value("draft_money_per_approved") == money["draft"]
    assert value("final_money_per_approved") == money["final"]
    assert value("money_per_approved") == money["total"]
    expect(page.locator(".dash-tiers")).to_contain_text("Money (EUR)")
    page.locator(".dash-tiers").scroll_into_view_if_needed()
    screenshot(page, "making-dashboard-money")

    # Settings are for admins: a creator gets the refusal in words.
    response = page.goto(f"{studio.url}/projects/{project_id}/settings")
    assert response is not None and response.status == 403
    expect(page.get_by_text("this needs the admin role")).to_be_visible()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_settings_remove_a_channel_and_add_a_member_by_name(studio: Studio, new_page) -> None:
    project = studio.call(studio.admin_token, "POST", "/api/projects", {"name": "Autumn"})
    project_id = project["project_id"]
    for name, side in (("social", 64), ("print", 128)):
        studio.call(studio.admin_token, "PUT", f"/api/projects/{project_id}/channels/{name}",
                    {"min_width": side, "min_height": side})
    studio.call(studio.admin_token, "POST", f"/api/projects/{project_id}/assets",
                {"name": "Poster"})
    newcomer, _ = studio.person("Nadia Newcomer")

    page = new_page()
    studio.sign_in(page, studio.admin_token)
    page.goto(f"{studio.url}/projects/{project_id}")
    expect(page.locator(".chip-channel", has_text="print")).to_have_count(1)

    # Remove "print": the first click only asks; the second removes it.
    page.goto(f"{studio.url}/projects/{project_id}/settings")
    page.get_by_label("Remove channel print").click()
    confirm = page.get_by_role("group", name="Confirm removing print")
    expect(confirm).to_contain_text("stays in the audit")
    screenshot(page, "settings-remove-channel", full_page=True)
    with page.expect_navigation():
        confirm.get_by_role("button", name="Remove print").click()
    channels = page.locator("#channels")
    expect(channels.get_by_role("row", name="social")).to_have_count(1)
    expect(channels.get_by_role("rowheader", name="print")).to_have_count(0)
    assert [c["name"] for c in studio.call(studio.admin_token, "GET",
                                           f"/api/projects/{project_id}")["channels"]] \
        == ["social"]

    # Add a person by typing their name: as it is typed, the people search suggests
    # Nadia, who is in none of the admin's projects (a global admin finds everyone).
    field = page.get_by_label("Add a person")
    field.press_sequentially("nad", delay=50)
    expect(page.locator('#people-list option[value="Nadia Newcomer"]')).to_have_count(1)
    field.fill("nadia newcomer")
    page.get_by_label("As", exact=True).select_option("reviewer")
    with page.expect_navigation():
        page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_label("Role of Nadia Newcomer")).to_have_value("reviewer")
    members = studio.call(studio.admin_token, "GET", f"/api/projects/{project_id}")["members"]
    assert {"user_id": newcomer.user_id, "role": "reviewer",
            "name": "Nadia Newcomer"} in members
    # A name no one has is refused in words, and nothing changes.
    page.get_by_label("Add a person").fill("Nobody Atall")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#toast")).to_contain_text("no one called 'Nobody Atall'")
    screenshot(page, "settings-members-by-name", full_page=True)

    # The board offers only the channels left.
    page.goto(f"{studio.url}/projects/{project_id}")
    expect(page.get_by_text("Poster")).to_be_visible()
    expect(page.locator(".chip-channel", has_text="social")).to_have_count(1)
    expect(page.locator(".chip-channel", has_text="print")).to_have_count(0)
    screenshot(page, "settings-board-after-channel-removed")
