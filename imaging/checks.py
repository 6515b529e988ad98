"""Checks the API runs before requesting a generation or edit job.

Pure functions (no store, no model): each raises `events.errors.DomainError` with a
message precise enough for the client to fix its request, so a job that cannot succeed
is never queued.
"""

from __future__ import annotations

from collections.abc import Mapping

from events.errors import DomainError
from imaging.adjustments import plan_adjustments
from imaging.png import decode_image
from rules.recipes import DEFAULT_UPSCALE, SCHEDULERS, UPSCALE_FACTORS

SIZE_MULTIPLE = 8
MIN_SIDE = 64
MARGIN_SIDES = ("left", "top", "right", "bottom")


def check_generation_size(width: int, height: int, max_side: int) -> None:
    """Require both sides to be multiples of 8 within 64..max_side; raise DomainError."""
    for name, value in (("width", width), ("height", height)):
        _require_int(name, value)
        if not MIN_SIDE <= value <= max_side:
            raise DomainError(
                f"{name} {value} is outside {MIN_SIDE}..{max_side}", field=name, value=value
            )
        if value % SIZE_MULTIPLE:
            raise DomainError(
                f"{name} {value} is not a multiple of {SIZE_MULTIPLE}", field=name, value=value
            )


def check_mask(mask_png: bytes, width: int, height: int) -> None:
    """Require `mask_png` to be a complete image of exactly width x height.

    White (non-zero) mask pixels mark what to repaint. Raises DomainError (or its
    InvalidImage/ImageTooLarge subclasses) naming both sizes when they differ.
    """
    # A mask larger than the source is wrong anyway; the slack only keeps the size
    # message (below) for near misses instead of a generic "too large".
    mask = decode_image(mask_png, max_pixels=max(width * height * 4, 1), mode="L")
    if mask.size != (width, height):
        raise DomainError(
            f"mask is {mask.width}x{mask.height} but the source image is {width}x{height}",
            mask_width=mask.width,
            mask_height=mask.height,
            width=width,
            height=height,
        )
    low, high = mask.getextrema()
    if high == 0:
        raise DomainError("mask is entirely black: it selects nothing to repaint")


def check_outpaint_margins(
    margins: Mapping[str, int], width: int, height: int, max_side: int
) -> tuple[int, int]:
    """Validate outpaint margins in pixels; return the extended (width, height).

    Each of left/top/right/bottom must be an int in 0..max_side and a multiple of 8,
    at least one must be positive, and the extended canvas must fit within max_side.
    Unknown keys are refused. Raises DomainError.
    """
    if not isinstance(margins, Mapping):
        raise DomainError("margins must be an object with left, top, right, bottom in pixels")
    unknown = sorted(set(margins) - set(MARGIN_SIDES))
    if unknown:
        raise DomainError(f"unknown margin(s) {', '.join(unknown)}; use {', '.join(MARGIN_SIDES)}")
    values = {side: margins.get(side, 0) for side in MARGIN_SIDES}
    for side, value in values.items():
        _require_int(f"margins.{side}", value)
        if not 0 <= value <= max_side:
            raise DomainError(f"margin {side}={value} is outside 0..{max_side}", field=side)
        if value % SIZE_MULTIPLE:
            raise DomainError(
                f"margin {side}={value} is not a multiple of {SIZE_MULTIPLE}", field=side
            )
    if not any(values.values()):
        raise DomainError("outpaint needs at least one margin greater than 0")
    new_width = width + values["left"] + values["right"]
    new_height = height + values["top"] + values["bottom"]
    if new_width > max_side or new_height > max_side:
        raise DomainError(
            f"outpainted canvas {new_width}x{new_height} exceeds the maximum side {max_side}",
            width=new_width,
            height=new_height,
            max_side=max_side,
        )
    return new_width, new_height


def check_upscale(width: int, height: int, scale: int, max_side: int) -> tuple[int, int]:
    """Validate an upscale request; return the output (width, height).

    `scale` must be 2 or 4 and the result must fit within max_side. Raises DomainError.
    """
    _require_int("scale", scale)
    if scale not in UPSCALE_FACTORS:
        raise DomainError(
            f"scale {scale} is not supported; use one of {', '.join(map(str, UPSCALE_FACTORS))}"
        )
    new_width, new_height = width * scale, height * scale
    if new_width > max_side or new_height > max_side:
        raise DomainError(
            f"upscaled image {new_width}x{new_height} exceeds the maximum side {max_side}",
            width=new_width,
            height=new_height,
            max_side=max_side,
        )
    return new_width, new_height


def _require_int(name: str, value: object) -> None:
    # bool is an int subclass; `True` as a width is a client bug, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError(f"{name} must be an integer, not {value!r}", field=name)


def check_denoising(steps: int, strength: float) -> None:
    """Require ``steps`` x ``strength`` to leave at least one denoising step (diffusers
    runs ``int(steps * strength)`` of them); raise DomainError."""
    if int(steps * strength) < 1:
        raise DomainError(
            f"steps {steps} x strength {strength} leaves no denoising step; raise steps or "
            "strength", field="strength")


def check_scheduler(name: str) -> None:
    """Require a scheduler class a Stable-Diffusion-shaped pipeline accepts."""
    if name not in SCHEDULERS:
        raise DomainError(f"scheduler {name!r} is not one a worker can run; choose one of "
                          f"{', '.join(SCHEDULERS)}", field="scheduler")


def edit_output_size(operation: str, recipe: Mapping, width: int, height: int,
                     max_side: int) -> tuple[int, int]:
    """The size an edit of a ``width`` x ``height`` image makes with ``recipe``, after
    checking what the operation takes (margins, scale, adjustments) against that input;
    raise DomainError for anything the engine would refuse."""
    if operation == "outpaint":
        return check_outpaint_margins(recipe.get("margins") or {}, width, height, max_side)
    if operation == "upscale":
        return check_upscale(width, height, recipe.get("scale") or DEFAULT_UPSCALE, max_side)
    if operation == "adjust":
        new_width, new_height, _ = plan_adjustments(width, height,
                                                    recipe.get("adjustments") or {}, max_side)
        return new_width, new_height
    return width, height
