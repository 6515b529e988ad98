"""Masks an inpaint request draws rather than sends."""

from __future__ import annotations

from PIL import Image, ImageDraw

from imaging.png import encode_png


def region_mask(region: dict[str, float], width: int, height: int) -> bytes:
    """A white-on-black PNG mask of a normalised box {x, y, w, h} over width x height."""
    left, top = round(region["x"] * width), round(region["y"] * height)
    right = min(width, left + max(1, round(region["w"] * width)))
    bottom = min(height, top + max(1, round(region["h"] * height)))
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).rectangle((left, top, right - 1, bottom - 1), fill=255)
    return encode_png(mask)
