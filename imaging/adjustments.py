"""Deterministic manual adjustments (the `adjust` operation): Pillow only, no model.

Applied in a fixed order whatever order the request lists them in: crop, resize, rotate,
brightness, contrast, saturation. Every resampling filter is fixed, so the same input and
adjustments give the same pixels on the same Pillow.
"""

from __future__ import annotations

import math
from typing import Any

from PIL import Image, ImageEnhance

from events.errors import DomainError

ORDER = ("crop", "resize", "rotate", "brightness", "contrast", "saturation")
MAX_FACTOR = 10.0
_ENHANCERS = {
    "brightness": ImageEnhance.Brightness,
    "contrast": ImageEnhance.Contrast,
    "saturation": ImageEnhance.Color,
}


def plan_adjustments(
    width: int, height: int, adjustments: dict[str, Any], max_side: int
) -> tuple[int, int, dict[str, Any]]:
    """Check `adjustments` for a `width` x `height` image without touching pixels;
    return the output size and the normalised adjustments (in ORDER).

    Takes crop [x, y, w, h] (inside the image), resize [w, h] (1..max_side), rotate
    degrees (-360..360; the expanded canvas must fit within max_side), and
    brightness/contrast/saturation factors in 0..10 (1 = as is). Raises DomainError for
    unknown keys or values out of range: the API checks a request with this before
    queuing it, and :func:`apply_adjustments` runs the same checks.
    """
    if not isinstance(adjustments, dict):
        raise DomainError("adjustments must be an object of crop, resize, rotate, brightness, "
                          "contrast, saturation")
    unknown = sorted(set(adjustments) - set(ORDER))
    if unknown:
        raise DomainError(f"unknown adjustment(s) {', '.join(unknown)}; use {', '.join(ORDER)}")
    done: dict[str, Any] = {}
    if "crop" in adjustments:
        box = _ints("crop", adjustments["crop"], 4)
        x, y, w, h = box
        if x < 0 or y < 0 or w < 1 or h < 1 or x + w > width or y + h > height:
            raise DomainError(f"crop {box} does not fit inside the {width}x{height} image")
        width, height = w, h
        done["crop"] = box
    if "resize" in adjustments:
        size = _ints("resize", adjustments["resize"], 2)
        if not all(1 <= side <= max_side for side in size):
            raise DomainError(f"resize {size} must have sides in 1..{max_side}")
        width, height = size
        done["resize"] = size
    if "rotate" in adjustments:
        degrees = _number("rotate", adjustments["rotate"], -360.0, 360.0)
        width, height = rotated_size(width, height, degrees)
        if max(width, height) > max_side:
            raise DomainError(
                f"rotating by {degrees:g} gives {width}x{height}, over the side {max_side}")
        done["rotate"] = degrees
    for name in _ENHANCERS:
        if name in adjustments:
            done[name] = _number(name, adjustments[name], 0.0, MAX_FACTOR)
    return width, height, done


def rotated_size(width: int, height: int, degrees: float) -> tuple[int, int]:
    """The canvas Pillow's ``rotate(degrees, expand=True)`` gives a width x height image
    (its own arithmetic: the rotated corners' bounding box, rounded outwards)."""
    if (degrees / 90.0).is_integer():
        return (height, width) if int(degrees / 90.0) % 2 else (width, height)
    angle = -math.radians(degrees)
    cos, sin = round(math.cos(angle), 15), round(math.sin(angle), 15)
    corners = [(x - width / 2, y - height / 2)
               for x, y in ((0, 0), (width, 0), (width, height), (0, height))]
    xs = [cos * x + sin * y + width / 2 for x, y in corners]
    ys = [-sin * x + cos * y + height / 2 for x, y in corners]
    return (math.ceil(max(xs)) - math.floor(min(xs)),
            math.ceil(max(ys)) - math.floor(min(ys)))


def apply_adjustments(
    image: Image.Image, adjustments: dict[str, Any], max_side: int
) -> tuple[Image.Image, dict[str, Any]]:
    """Apply `adjustments` to an RGB image; return (new image, normalised adjustments).

    Checked first by :func:`plan_adjustments` (the same rules a request is checked by);
    rotations by multiples of 90 are exact, others bicubic on an expanded black canvas;
    resizing is Lanczos. Raises DomainError for unknown keys or values out of range.
    """
    _, _, done = plan_adjustments(image.width, image.height, adjustments, max_side)
    if "crop" in done:
        x, y, w, h = done["crop"]
        image = image.crop((x, y, x + w, y + h))
    if "resize" in done:
        image = image.resize(tuple(done["resize"]), Image.Resampling.LANCZOS)
    if "rotate" in done:
        image = _rotate(image, done["rotate"], max_side)
    for name, enhancer in _ENHANCERS.items():
        if name in done:
            image = enhancer(image).enhance(done[name])
    return image, done


def _rotate(image: Image.Image, degrees: float, max_side: int) -> Image.Image:
    quarter_turns = degrees / 90.0
    if quarter_turns.is_integer():
        # Exact pixel moves; no resampling at all.
        turns = int(quarter_turns) % 4
        transposes = {
            1: Image.Transpose.ROTATE_90,
            2: Image.Transpose.ROTATE_180,
            3: Image.Transpose.ROTATE_270,
        }
        return image.transpose(transposes[turns]) if turns else image.copy()
    rotated = image.rotate(
        degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(0, 0, 0)
    )
    if max(rotated.size) > max_side:
        raise DomainError(f"rotating by {degrees} gives {rotated.size}, over the side {max_side}")
    return rotated


def _ints(name: str, value: Any, count: int) -> list[int]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != count
        or any(isinstance(v, bool) or not isinstance(v, int) for v in value)
    ):
        raise DomainError(f"{name} must be a list of {count} integers, not {value!r}")
    return list(value)


def _number(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise DomainError(f"{name} must be a number in {low:g}..{high:g}, not {value!r}")
    return float(value)
