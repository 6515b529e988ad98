"""Deterministic manual adjustments (the `adjust` operation): Pillow only, no model.

Applied in a fixed order whatever order the request lists them in: crop, resize, rotate,
brightness, contrast, saturation. Every resampling filter is fixed, so the same input and
adjustments give the same pixels on the same Pillow.
"""

from __future__ import annotations

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


def apply_adjustments(
    image: Image.Image, adjustments: dict[str, Any], max_side: int
) -> tuple[Image.Image, dict[str, Any]]:
    """Apply `adjustments` to an RGB image; return (new image, normalised adjustments).

    Takes crop [x, y, w, h] (inside the image), resize [w, h] (1..max_side, Lanczos),
    rotate degrees (counter-clockwise; multiples of 90 are exact, others bicubic on an
    expanded black canvas), and brightness/contrast/saturation factors in 0..10 (1 = as
    is). Raises DomainError for unknown keys or values out of range.
    """
    unknown = sorted(set(adjustments) - set(ORDER))
    if unknown:
        raise DomainError(f"unknown adjustment(s) {', '.join(unknown)}; use {', '.join(ORDER)}")
    done: dict[str, Any] = {}
    if "crop" in adjustments:
        box = _ints("crop", adjustments["crop"], 4)
        x, y, w, h = box
        if x < 0 or y < 0 or w < 1 or h < 1 or x + w > image.width or y + h > image.height:
            raise DomainError(
                f"crop {box} does not fit inside the {image.width}x{image.height} image"
            )
        image = image.crop((x, y, x + w, y + h))
        done["crop"] = box
    if "resize" in adjustments:
        size = _ints("resize", adjustments["resize"], 2)
        if not all(1 <= side <= max_side for side in size):
            raise DomainError(f"resize {size} must have sides in 1..{max_side}")
        image = image.resize(tuple(size), Image.Resampling.LANCZOS)
        done["resize"] = size
    if "rotate" in adjustments:
        degrees = _number("rotate", adjustments["rotate"], -360.0, 360.0)
        image = _rotate(image, degrees, max_side)
        done["rotate"] = degrees
    for name, enhancer in _ENHANCERS.items():
        if name in adjustments:
            factor = _number(name, adjustments[name], 0.0, MAX_FACTOR)
            image = enhancer(image).enhance(factor)
            done[name] = factor
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
