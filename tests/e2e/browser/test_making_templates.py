"""Templates in Chromium: create a template with variables on the templates page,
revise it and see both revisions, generate from it into an asset; then on the asset
page pick it in the generate panel, fill its variables, choose a fixed seed and a
channel's size, and check through the API what was recorded."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import STARTUP_SECONDS, Studio, screenshot


def _versions_after(studio: Studio, token: str, asset_id: str, count: int) -> list[dict]:
    """The asset's versions once it has at least ``count``, oldest first."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        items = studio.call(token, "GET", f"/api/assets/{asset_id}/versions")["items"]
        if len(items) >= count:
            return items
        assert time.monotonic() < deadline, items
        time.sleep(0.3)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_create_revise_and_generate_from_a_template(studio: Studio, new_page) -> None:
    project = studio.call(studio.admin_token, "POST", "/api/projects", {"name": "Packshots"})
    project_id = project["project_id"]
    studio.call(studio.admin_token, "PUT", f"/api/projects/{project_id}/channels/social",
                {"min_width": 64, "min_height": 96})
    _, token = studio.member(project_id, "Cleo Creator", "creator")
    asset = studio.call(token, "POST", f"/api/projects/{project_id}/assets", {"name": "Teapot"})
    asset_id = asset["asset_id"]

    page = new_page()
    studio.sign_in(page, token)
    page.goto(f"{studio.url}/projects/{project_id}")
    page.get_by_role("link", name="Templates").click()
    expect(page.get_by_role("heading", name="No templates yet")).to_be_visible()

    # Create: a prompt with two variables and a default size and step count.
    page.get_by_text("New template", exact=True).click()
    page.get_by_label("Template name").fill("Product on a surface")
    page.get_by_label("Template prompt").fill("a {product} on a {surface}, soft light")
    page.get_by_label("Negative prompt").fill("text")
    defaults = page.locator(".new-template")
    defaults.get_by_label("Width").fill("64")
    defaults.get_by_label("Height").fill("64")
    defaults.get_by_label("Steps").fill("2")
    screenshot(page, "making-template-new")
    page.get_by_role("button", name="Create template").click()
    card = page.get_by_role("article", name="Product on a surface")
    expect(card).to_be_visible()
    expect(card.locator(".chip-var")).to_have_text(["product", "surface"])

    # Revise: a new version; the revisions list shows both, newest first.
    card.get_by_text("Revise", exact=True).click()
    card.get_by_label("New prompt").fill("a {product} on {surface}, morning light")
    screenshot(page, "making-template-revise")
    card.get_by_role("button", name="Save as v2").click()
    card = page.get_by_role("article", name="Product on a surface")
    expect(card.locator(".template-card-head .chip")).to_have_text("v2")
    card.get_by_text("Revisions (2)").click()
    revisions = card.get_by_role("list", name="Revisions of Product on a surface")
    expect(revisions.locator("li")).to_have_count(2)
    expect(revisions.locator("li").first).to_contain_text("morning light")
    expect(revisions.locator("li").last).to_contain_text("soft light")
    screenshot(page, "making-templates", full_page=True)

    # Generate from it here: the asset page opens with the template picked.
    card.get_by_label("Into asset").select_option(label="Teapot")
    card.get_by_role("textbox", name="Product").fill("teapot")
    card.get_by_role("textbox", name="Surface").fill("slate")
    card.get_by_role("button", name="Generate", exact=True).click()
    page.wait_for_url(f"{studio.url}/assets/{asset_id}?*")
    first = _versions_after(studio, token, asset_id, 1)[0]
    recipe = studio.call(token, "GET", f"/api/versions/{first['version_id']}")["recipe"]
    assert recipe["prompt"] == "a teapot on slate, morning light"
    assert (recipe["template_version"], recipe["width"], recipe["steps"]) == (2, 64, 2)

    # The generate panel: the picked template's variables, a fixed seed, a channel size.
    panel = page.locator("#panel-generate")
    expect(panel.get_by_label("Template")).to_have_value(recipe["template_id"])
    panel.get_by_role("textbox", name="Product").fill("kettle")
    panel.get_by_role("textbox", name="Surface").fill("oak")
    panel.get_by_label("Variations").select_option("1")
    panel.get_by_label("Size").select_option(label="social · 64 × 96")
    panel.get_by_label("Seed number").fill("42")
    expect(panel.get_by_label("Fixed")).to_be_checked()
    panel.get_by_label("Steps").fill("2")
    panel.get_by_text("More settings").click()
    panel.get_by_label("Scheduler").select_option("DDIMScheduler")
    screenshot(page, "making-generate-from-template")
    panel.get_by_role("button", name="Generate from template").click()
    expect(page.locator("#toast")).to_contain_text("Renders requested from the template")
    second = _versions_after(studio, token, asset_id, 2)[1]
    recipe = studio.call(token, "GET", f"/api/versions/{second['version_id']}")["recipe"]
    assert recipe["prompt"] == "a kettle on oak, morning light"
    assert (recipe["seed"], recipe["width"], recipe["height"]) == (42, 64, 96)
    assert recipe["negative_prompt"] == "text"
    assert recipe["scheduler"] == "DDIMScheduler"

    # Back to a plain prompt: "No template" shows the prompt field again.
    panel.get_by_label("Template").select_option("")
    expect(page.locator("#panel-generate").get_by_label("Prompt", exact=True)).to_be_visible()
