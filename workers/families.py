"""What each pipeline family adds to a recipe, and how those keys reach its pipeline.

SD 1.x/2.x needs nothing beyond the common keys. SDXL has a second prompt for its second
text encoder and size micro-conditioning; SD3 three prompts and a T5 sequence length;
Flux a second (T5) prompt, a sequence length, embedded guidance (the common
``guidance``) and ``true_cfg_scale`` for a real negative prompt. Every key is filled
with its default and recorded, so a rebuild passes the pipeline exactly what it had.
"""

from __future__ import annotations

from typing import Any

from events.errors import DomainError
from rules.recipes import FAMILY_KEYS, MAX_SEQUENCE_LENGTH
from workers.model_files import family_of_class

SECOND_PROMPTS = {
    "sdxl": ("prompt_2", "negative_prompt_2"),
    "sd3": ("prompt_2", "prompt_3", "negative_prompt_2", "negative_prompt_3"),
    "flux": ("prompt_2", "negative_prompt_2"),
}
SIZED_EDITS = ("sd3", "flux")
"""Families whose img2img pipeline resizes to its own default unless told the size."""


def family_of(pipe: Any) -> str:
    """The family of a loaded pipeline (sd, sd-upscale, sdxl, sd3, flux or other)."""
    return family_of_class(type(pipe).__name__)


def fill_family_recipe(family: str, out: dict[str, Any], size: tuple[int, int]) -> None:
    """Fill (and check) the family's keys in ``out``; ``size`` is the output (w, h).

    Keys of other families are refused rather than silently ignored. Raises DomainError.
    """
    own = set(SECOND_PROMPTS.get(family, ()))
    if family == "sdxl":
        own |= {"original_size", "target_size", "crops_coords_top_left", "refiner"}
    if family in MAX_SEQUENCE_LENGTH:
        own.add("max_sequence_length")
    if family == "flux":
        own.add("true_cfg_scale")
    foreign = sorted(key for key in FAMILY_KEYS - own if out.get(key) is not None)
    if foreign:
        raise DomainError(f"{', '.join(foreign)} do not apply to a {family} model")
    for key in SECOND_PROMPTS.get(family, ()):
        base = "negative_prompt" if key.startswith("negative") else "prompt"
        value = out.get(key)
        out[key] = out[base] if value is None else value
        if not isinstance(out[key], str):
            raise DomainError(f"{key} must be a string")
    if family == "sdxl":
        out.setdefault("refiner", None)  # workers/refiner.py checks and runs one
        width, height = size
        out["original_size"] = _pair(out, "original_size", [height, width])
        out["target_size"] = _pair(out, "target_size", [height, width])
        out["crops_coords_top_left"] = _pair(out, "crops_coords_top_left", [0, 0], low=0)
    if family in MAX_SEQUENCE_LENGTH:
        value = out.get("max_sequence_length", MAX_SEQUENCE_LENGTH[family])
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 512:
            raise DomainError(f"max_sequence_length must be an integer in 1..512, not {value!r}")
        out["max_sequence_length"] = value
    if family == "flux":
        value = out.get("true_cfg_scale", 1.0)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 50:
            raise DomainError(f"true_cfg_scale must be a number in 1..50, not {value!r}")
        out["true_cfg_scale"] = float(value)


def _pair(out: dict[str, Any], key: str, default: list[int], low: int = 1) -> list[int]:
    value = out.get(key)
    if value is None:
        return default
    if (not isinstance(value, list | tuple) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) or not low <= v <= 16384
                   for v in value)):
        raise DomainError(f"{key} must be [height, width] integers in {low}..16384, "
                          f"not {value!r}")
    return [int(v) for v in value]


def family_args(family: str, operation: str, out: dict[str, Any],
                size: tuple[int, int]) -> dict[str, Any]:
    """The pipeline arguments the family's recorded keys become."""
    args: dict[str, Any] = {key: out[key] for key in SECOND_PROMPTS.get(family, ())}
    if family == "sdxl":
        args.update(original_size=tuple(out["original_size"]),
                    target_size=tuple(out["target_size"]),
                    crops_coords_top_left=tuple(out["crops_coords_top_left"]))
    if family in MAX_SEQUENCE_LENGTH:
        args["max_sequence_length"] = out["max_sequence_length"]
    if family == "flux":
        args["true_cfg_scale"] = out["true_cfg_scale"]
    if family in SIZED_EDITS and operation != "generate":
        args.update(width=size[0], height=size[1])
    return args
