"""Pre-job checks for sizes, masks, outpaint margins and upscales."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from events.errors import DomainError
from imaging.checks import (
    check_generation_size,
    check_mask,
    check_outpaint_margins,
    check_upscale,
)
from imaging.png import InvalidImage


def mask_png(width: int, height: int, fill: int = 255) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height), fill).save(buffer, format="PNG")
    return buffer.getvalue()


# --- generation size -------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), [(64, 64), (512, 768), (1024, 1024), (64, 1024)])
def test_valid_generation_sizes_pass(width: int, height: int) -> None:
    check_generation_size(width, height, max_side=1024)


@pytest.mark.parametrize(
    ("width", "height", "message"),
    [
        (56, 64, "width 56 is outside 64..1024"),
        (64, 1032, "height 1032 is outside 64..1024"),
        (100, 64, "width 100 is not a multiple of 8"),
        (64, 260, "height 260 is not a multiple of 8"),
        (64.0, 64, "width must be an integer"),
        (True, 64, "width must be an integer"),
    ],
)
def test_invalid_generation_sizes_say_what_is_wrong(
    width: object, height: int, message: str
) -> None:
    with pytest.raises(DomainError, match=message):
        check_generation_size(width, height, max_side=1024)  # type: ignore[arg-type]


# --- masks -----------------------------------------------------------------------------


def test_mask_of_the_source_size_passes() -> None:
    check_mask(mask_png(64, 48), 64, 48)


def test_mask_of_another_size_names_both_sizes() -> None:
    with pytest.raises(DomainError, match="mask is 64x64 but the source image is 64x48"):
        check_mask(mask_png(64, 64), 64, 48)


def test_mask_that_is_not_an_image_is_invalid() -> None:
    with pytest.raises(InvalidImage):
        check_mask(b"not a png", 64, 64)


def test_all_black_mask_selects_nothing() -> None:
    with pytest.raises(DomainError, match="entirely black"):
        check_mask(mask_png(64, 64, fill=0), 64, 64)


# --- outpaint margins ------------------------------------------------------------------


def test_valid_margins_return_the_extended_size() -> None:
    margins = {"left": 64, "top": 0, "right": 128, "bottom": 8}
    assert check_outpaint_margins(margins, 512, 512, max_side=1024) == (704, 520)


def test_missing_sides_count_as_zero() -> None:
    assert check_outpaint_margins({"right": 64}, 512, 512, max_side=1024) == (576, 512)


@pytest.mark.parametrize(
    ("margins", "message"),
    [
        ({"left": 0, "top": 0, "right": 0, "bottom": 0}, "at least one margin greater than 0"),
        ({}, "at least one margin greater than 0"),
        ({"left": 12}, "margin left=12 is not a multiple of 8"),
        ({"top": -8}, r"margin top=-8 is outside 0\.\.1024"),
        ({"bottom": 2048}, r"margin bottom=2048 is outside 0\.\.1024"),
        ({"right": 8.0}, "margins.right must be an integer"),
        ({"middle": 8}, "unknown margin"),
        ([8, 8, 8, 8], "margins must be an object"),
        ({"left": 256, "right": 264}, "outpainted canvas 1032x512 exceeds the maximum side 1024"),
    ],
)
def test_invalid_margins_say_what_is_wrong(margins: dict, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        check_outpaint_margins(margins, 512, 512, max_side=1024)


# --- upscale ---------------------------------------------------------------------------


@pytest.mark.parametrize(("scale", "expected"), [(2, (1024, 768)), (4, (2048, 1536))])
def test_valid_upscales_return_the_output_size(scale: int, expected: tuple[int, int]) -> None:
    assert check_upscale(512, 384, scale, max_side=4096) == expected


@pytest.mark.parametrize(
    ("scale", "message"),
    [
        (3, "scale 3 is not supported; use one of 2, 4"),
        (1, "scale 1 is not supported"),
        (2.0, "scale must be an integer"),
        (4, "upscaled image 4096x3072 exceeds the maximum side 2048"),
    ],
)
def test_invalid_upscales_say_what_is_wrong(scale: object, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        check_upscale(1024, 768, scale, max_side=2048)  # type: ignore[arg-type]
