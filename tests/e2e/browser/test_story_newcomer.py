"""Story (a): a newcomer opens the sign-in link, creates a project and an asset,
generates four drafts, watches their progress, compares two, comments on a region and
approves with the keyboard. On SQLite with embedded workers, and on PostgreSQL with
RabbitMQ and a separate worker process."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from commands.asset_state import load_asset
from tests.e2e.browser.conftest import Studio, screenshot

JOB_SECONDS = 120_000


def newcomer_story(page: Page, studio: Studio, shots: str) -> None:
    page.goto(studio.signin_link)
    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()
    screenshot(page, f"{shots}-home-empty")

    page.get_by_text("New project").click()
    page.get_by_label("Project name").fill("Summer 26")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="Summer 26", exact=True)).to_be_visible()

    page.get_by_text("New asset").click()
    page.get_by_label("Asset name").fill("Hero bottle")
    page.get_by_label("Tags").fill("campaign/summer-26, hero")
    page.get_by_role("button", name="Create asset").click()
    expect(page).to_have_url(re.compile(r"/assets/[0-9a-f-]{36}"))
    asset_id = re.search(r"/assets/([0-9a-f-]{36})", page.url).group(1)

    prompt = page.get_by_role("textbox", name="Prompt", exact=True)
    prompt.fill("a glass bottle on limestone, afternoon light")
    page.get_by_label("Variations", exact=True).select_option("4")
    page.get_by_label("Size", exact=True).select_option("64")
    page.get_by_label("Steps", exact=True).fill("2")
    page.get_by_role("button", name="Generate").click()
    jobs = page.get_by_role("list", name="Jobs in progress")
    expect(jobs).to_be_visible()
    expect(jobs.get_by_role("listitem")).to_have_count(4)
    screenshot(page, f"{shots}-generating")
    tiles = page.locator("#strip a.tile[data-version-id]:visible")
    expect(tiles).to_have_count(4, timeout=JOB_SECONDS)
    expect(jobs).to_have_count(0, timeout=JOB_SECONDS)
    versions = [tiles.nth(i).get_attribute("data-version-id") for i in range(4)]

    # Look at the second draft, then compare it with the first.
    tiles.nth(1).click()
    expect(page.locator("svg.viewer-svg")).to_have_attribute("data-version-id", versions[1])
    page.get_by_role("link", name="Compare").click()
    expect(page).to_have_url(re.compile(r"/compare\?"))
    expect(page.locator(f"[data-version-id='{versions[0]}']").first).to_be_visible()
    expect(page.locator(f"[data-version-id='{versions[1]}']").first).to_be_visible()
    expect(page.get_by_role("region", name="Recipe differences")).to_contain_text("Seed")
    screenshot(page, f"{shots}-compare")
    page.go_back()

    # A region comment on the second draft.
    page.get_by_role("button", name="Mark region").click()
    box = page.locator("[data-viewer]").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.55, steps=5)
    page.mouse.up()
    page.get_by_role("textbox", name="Comment").fill("Warmer light on the label, please")
    page.get_by_role("button", name="Comment", exact=True).click()
    thread = page.locator("#review")
    expect(thread).to_contain_text("Warmer light on the label, please")
    expect(page.locator("svg.viewer-svg .region rect")).to_have_count(1)

    # Approve with the keyboard alone.
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("a")
    expect(page.locator("#review .mark-approved")).to_contain_text("Approved")
    expect(page.get_by_text("Agreed", exact=True)).to_be_visible()
    screenshot(page, f"{shots}-asset")

    asset, _ = load_asset(studio.store, asset_id)
    approved = [d.event for d in asset.decisions.values()]
    assert [(d.decision, d.version_id) for d in approved] == [("approved", versions[1])]
    comment = next(iter(asset.comments.values())).event
    assert comment.region is not None and 0.3 < comment.region["x"] < 0.5
    assert comment.version_id == versions[1]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_newcomer_story_on_sqlite(studio: Studio, new_page) -> None:
    newcomer_story(new_page(), studio, "sqlite")


def test_newcomer_story_on_postgres_and_rabbitmq(studio_rabbitmq: Studio, new_page) -> None:
    newcomer_story(new_page(), studio_rabbitmq, "postgres")
