"""Manual adjustments: fixed order, exact quarter turns, precise refusals."""

from __future__ import annotations

import pytest
from PIL import Image

from events.errors import DomainError
from imaging.adjustments import apply_adjustments


def sample() -> Image.Image:
    image = Image.new("RGB", (40, 24))
    image.putdata([(x * 6, y * 10, 128) for y in range(24) for x in range(40)])
    return image


def test_crop_then_resize_then_rotate_whatever_the_listed_order() -> None:
    adjustments = {"rotate": 90, "resize": [20, 10], "crop": [0, 0, 30, 24]}
    image, done = apply_adjustments(sample(), adjustments, max_side=4096)
    assert image.size == (10, 20)  # 30x24 -> 20x10 -> quarter turn
    assert list(done) == ["crop", "resize", "rotate"]
    assert done == {"crop": [0, 0, 30, 24], "resize": [20, 10], "rotate": 90.0}


@pytest.mark.parametrize(("degrees", "transpose"), [
    (90, Image.Transpose.ROTATE_90),
    (-90, Image.Transpose.ROTATE_270),
    (180, Image.Transpose.ROTATE_180),
    (270, Image.Transpose.ROTATE_270),
])  # fmt: skip
def test_quarter_turns_move_pixels_exactly(degrees: int, transpose: Image.Transpose) -> None:
    image, _ = apply_adjustments(sample(), {"rotate": degrees}, max_side=4096)
    assert list(image.getdata()) == list(sample().transpose(transpose).getdata())


def test_free_rotation_expands_the_canvas_deterministically() -> None:
    first, _ = apply_adjustments(sample(), {"rotate": 30}, max_side=4096)
    second, _ = apply_adjustments(sample(), {"rotate": 30}, max_side=4096)
    assert first.width > 40 and first.height > 24
    assert first.tobytes() == second.tobytes()


def test_enhancements_apply_and_factor_one_changes_nothing() -> None:
    same, _ = apply_adjustments(sample(), {"brightness": 1, "contrast": 1}, max_side=4096)
    assert same.tobytes() == sample().tobytes()
    darker, done = apply_adjustments(sample(), {"brightness": 0.5}, max_side=4096)
    assert sum(darker.convert("L").getdata()) < sum(sample().convert("L").getdata())
    assert done == {"brightness": 0.5}


@pytest.mark.parametrize(("adjustments", "message"), [
    ({"blur": 2}, "unknown adjustment"),
    ({"crop": [30, 0, 20, 10]}, r"crop \[30, 0, 20, 10\] does not fit inside the 40x24 image"),
    ({"crop": [0, 0, 0, 10]}, "does not fit"),
    ({"crop": [0, 0, 10]}, "crop must be a list of 4 integers"),
    ({"resize": [0, 10]}, r"resize \[0, 10\] must have sides in 1\.\.4096"),
    ({"resize": [10.5, 10]}, "resize must be a list of 2 integers"),
    ({"rotate": 400}, r"rotate must be a number in -360\.\.360"),
    ({"contrast": -1}, r"contrast must be a number in 0\.\.10"),
    ({"saturation": "high"}, "saturation must be a number"),
])  # fmt: skip
def test_invalid_adjustments_say_what_is_wrong(adjustments: dict, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        apply_adjustments(sample(), adjustments, max_side=4096)
