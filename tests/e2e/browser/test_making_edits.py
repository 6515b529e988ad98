"""Edits on a version from the asset page, in Chromium: paint a mask (brush, eraser,
rectangle) and inpaint, then check through the API that every pixel outside the mask
is unchanged; outpaint the chosen sides; each makes a new version in the tree."""

from __future__ import annotations

import io
import time
import urllib.request

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import expect

from tests.e2e.browser.conftest import STARTUP_SECONDS, Studio, screenshot


def _image(studio: Studio, token: str, version_id: str) -> Image.Image:
    request = urllib.request.Request(f"{studio.url}/api/versions/{version_id}/image",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return Image.open(io.BytesIO(response.read())).convert("RGB")


def _new_version(studio: Studio, token: str, asset_id: str, known: set[str]) -> dict:
    """The version made by the asset's one job that made none of ``known`` (the job the
    page just requested), once it has made it."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        jobs = studio.call(token, "GET", f"/api/assets/{asset_id}/jobs")["items"]
        fresh = [job["job_id"] for job in jobs if not set(job["version_ids"]) & known]
        if fresh:
            break
        assert time.monotonic() < deadline, jobs
        time.sleep(0.2)
    (version_id,) = studio.drafts_of_jobs(token, fresh[:1])
    assert version_id not in known
    return studio.call(token, "GET", f"/api/versions/{version_id}")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_paint_a_mask_and_inpaint_keeps_every_pixel_outside_it(studio: Studio, new_page,
                                                                ) -> None:
    project = studio.call(studio.admin_token, "POST", "/api/projects", {"name": "Repaint"})
    _, token = studio.member(project["project_id"], "Cleo Creator", "creator")
    asset = studio.call(token, "POST", f"/api/projects/{project['project_id']}/assets",
                        {"name": "Jacket"})
    asset_id = asset["asset_id"]
    source = studio.drafts(token, asset_id)[0]

    page = new_page()
    studio.sign_in(page, token)
    page.goto(f"{studio.url}/assets/{asset_id}?v={source}")
    page.locator("#edit-inpaint > summary").click()
    canvas = page.get_by_role("img", name="Mask: paint over the part to repaint")

    def at(fx: float, fy: float) -> tuple[float, float]:
        canvas.scroll_into_view_if_needed()  # clicking a tool may have scrolled the page
        box = canvas.bounding_box()
        assert box is not None
        return box["x"] + fx * box["width"], box["y"] + fy * box["height"]

    # With the keyboard: a dot in the middle (the cursor starts there).
    canvas.focus()
    page.keyboard.press("Space")
    expect(page.locator("[data-mask-status]")).to_contain_text("% of the image will be repainted")
    # A rectangle over the upper left, a brush stroke beside it, then the stroke erased.
    page.get_by_role("button", name="Rectangle").click()
    page.mouse.move(*at(0.1, 0.1))
    page.mouse.down()
    page.mouse.move(*at(0.3, 0.3), steps=4)
    page.mouse.move(*at(0.5, 0.5), steps=4)
    page.mouse.up()
    page.get_by_role("button", name="Brush", exact=True).click()
    page.get_by_label("Brush size").fill("4")
    page.mouse.move(*at(0.8, 0.8))
    page.mouse.down()
    page.mouse.move(*at(0.9, 0.9), steps=4)
    page.mouse.up()
    page.get_by_role("button", name="Eraser").click()
    page.get_by_label("Brush size").fill("16")
    page.mouse.move(*at(0.8, 0.8))
    page.mouse.down()
    page.mouse.move(*at(0.9, 0.9), steps=6)
    page.mouse.up()
    expect(page.locator("[data-mask-status]")).to_contain_text("% of the image will be repainted")
    page.get_by_label("Inpaint prompt").fill("a navy jacket")
    page.get_by_label("Inpaint steps").fill("2")
    screenshot(page, "making-mask-painted")
    page.get_by_role("button", name="Inpaint", exact=True).click()
    expect(page.locator("#toast")).to_contain_text("Inpaint requested")

    made = _new_version(studio, token, asset_id, {source})
    assert (made["operation"], made["parent_ids"]) == ("inpaint", [source])
    mask = Image.open(studio.services.blobs.path(made["recipe"]["mask_hash"])).convert("L")
    assert mask.size == (64, 64)
    assert mask.getpixel((19, 19)) == 255 and mask.getpixel((6, 6)) == 0
    assert mask.getpixel((54, 54)) == 0  # the brush stroke was erased
    assert mask.getpixel((32, 32)) == 255  # the dot painted with the keyboard
    keep = mask.point(lambda v: 255 if v < 128 else 0)
    before, after = _image(studio, token, source), _image(studio, token, made["version_id"])
    outside = ImageChops.difference(before, after)
    outside.paste((0, 0, 0), mask=mask.point(lambda v: 255 if v >= 128 else 0))
    assert outside.getbbox() is None, "a pixel outside the painted mask changed"
    assert ImageChops.difference(before, after).getbbox() is not None
    assert keep.getbbox() is not None

    # Outpaint the right side by 16 px from the inpainted version.
    page.goto(f"{studio.url}/assets/{asset_id}?v={made['version_id']}")
    page.locator("#edit-outpaint > summary").click()
    page.get_by_label("Pixels per side").fill("16")
    page.get_by_role("button", name="Outpaint", exact=True).click()
    expect(page.locator("#toast")).to_contain_text("Outpaint requested")
    wider = _new_version(studio, token, asset_id, {source, made["version_id"]})
    assert (wider["operation"], wider["width"], wider["height"]) == ("outpaint", 80, 64)
    assert wider["parent_ids"] == [made["version_id"]]
    page.goto(f"{studio.url}/assets/{asset_id}?v={wider['version_id']}")
    expect(page.locator("#strip a.tile[data-version-id]:visible")).to_have_count(3)
    screenshot(page, "making-after-outpaint")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_adjust_upscale_and_image_to_image_from_the_page(studio: Studio, new_page) -> None:
    project = studio.call(studio.admin_token, "POST", "/api/projects", {"name": "Tweaks"})
    _, token = studio.member(project["project_id"], "Cleo Creator", "creator")
    asset = studio.call(token, "POST", f"/api/projects/{project['project_id']}/assets",
                        {"name": "Bottle"})
    asset_id = asset["asset_id"]
    source = studio.drafts(token, asset_id)[0]
    known = {source}
    page = new_page()
    studio.sign_in(page, token)

    page.goto(f"{studio.url}/assets/{asset_id}?v={source}")
    page.locator("#edit-adjust > summary").click()
    page.get_by_label("Brightness").fill("1.5")
    page.get_by_label("Crop x").fill("0")
    page.get_by_label("Crop y").fill("0")
    page.get_by_label("Crop width").fill("32")
    page.get_by_label("Crop height").fill("32")
    # The page previews the adjustment on the image before anything is sent.
    expect(page.get_by_role("status").filter(has_text="Preview on the image")).to_have_text(
        "Preview on the image: brightness 1.5, contrast 1, saturation 1; keeps 32 × 32 px "
        "from 0, 0.")
    shown = page.locator(f'svg[data-version-id="{source}"] image').evaluate(
        "image => getComputedStyle(image).filter")
    assert shown == "brightness(1.5) contrast(1) saturate(1)"
    screenshot(page, "making-adjust")
    page.get_by_role("button", name="Adjust", exact=True).click()
    expect(page.locator("#toast")).to_contain_text("Adjust requested")
    adjusted = _new_version(studio, token, asset_id, known)
    known.add(adjusted["version_id"])
    assert (adjusted["operation"], adjusted["width"], adjusted["height"]) == ("adjust", 32, 32)
    assert adjusted["recipe"]["adjustments"]["brightness"] == 1.5
    assert "contrast" not in adjusted["recipe"]["adjustments"]  # an unmoved slider

    page.goto(f"{studio.url}/assets/{asset_id}?v={source}")
    page.locator("#edit-upscale > summary").click()
    page.get_by_label("Scale").select_option("2")
    page.get_by_role("button", name="Upscale", exact=True).click()
    expect(page.locator("#toast")).to_contain_text("Upscale requested")
    upscaled = _new_version(studio, token, asset_id, known)
    known.add(upscaled["version_id"])
    assert (upscaled["operation"], upscaled["width"]) == ("upscale", 128)

    page.locator("#edit-img2img > summary").click()
    page.get_by_label("Image to image prompt").fill("a green bottle")
    page.get_by_label("Strength").fill("0.3")
    page.get_by_role("button", name="Image to image", exact=True).click()
    expect(page.locator("#toast")).to_contain_text("Image to image requested")
    remade = _new_version(studio, token, asset_id, known)
    assert remade["operation"] == "img2img" and remade["parent_ids"] == [source]
    assert remade["recipe"]["strength"] == pytest.approx(0.3)
