"""The generation engine's single entry point: run one recipe step, return PNG + recipe.

`run_step` takes the recipe the API accepted (plus input/mask bytes for edits), runs it
on a diffusers pipeline or Pillow, and returns deterministic PNG bytes together with the
complete recipe as recorded: the input, every default filled in, the scheduler's full
config, the model and the hash of its weights, the input hashes, the output size and the
environment. Feeding a recorded recipe back in (a rebuild) runs the same model
(`model_id`) with the same scheduler config and, in the same environment, gives the same
bytes. Keys this module computes (hashes, sizes, environment) are always recomputed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from events.errors import DomainError
from imaging.adjustments import ORDER as ADJUST_ORDER
from imaging.adjustments import apply_adjustments
from imaging.checks import (
    MARGIN_SIDES,
    check_denoising,
    check_generation_size,
    check_outpaint_margins,
    check_upscale,
)
from imaging.png import decode_image, encode_png
from rules.recipes import (
    DEFAULT_GUIDANCE,
    DEFAULT_NOISE_LEVEL,
    DEFAULT_STEPS,
    DEFAULT_STRENGTH,
    DEFAULT_UPSCALE,
    DEFAULT_UPSCALE_STRENGTH,
    DERIVED_KEYS,
    ENGINE_MAX_SEED,
    ENGINE_MAX_SIDE,
    GUIDANCE_RANGE,
    MAX_STEPS,
    MIN_STEPS,
    OPERATIONS,
    STRENGTH_RANGE,
    UPSCALE_FACTORS,
)
from workers import environment, families, loras, model_registry, models, pipelines, refiner
from workers.hosted.step import hosted_spec_for, run_hosted
from workers.models import ModelUnavailable

__all__ = ["ModelUnavailable", "StepResult", "run_step", "RECIPE_TEXT_KEY"]

RECIPE_VERSION = 1
RECIPE_TEXT_KEY = "lineage:recipe"
MAX_INPUT_PIXELS = ENGINE_MAX_SIDE * ENGINE_MAX_SIDE

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class StepResult:
    """One finished step: PNG bytes (recipe embedded, no timestamps), output size, the
    recipe as recorded, and the seconds spent computing (diffusers or Pillow; model
    loading and waiting for another run are excluded)."""

    png: bytes
    width: int
    height: int
    recipe: dict[str, Any]
    seconds: float


def run_step(
    recipe: dict[str, Any],
    *,
    input_png: bytes | None = None,
    mask_png: bytes | None = None,
    progress: Progress | None = None,
    expect_weights_hash: str | None = None,
    on_compute: Callable[[float], None] | None = None,
) -> StepResult:
    """Run one generation or edit step.

    Takes the recipe (operation, tier, prompt, negative_prompt, seed, steps, guidance,
    scheduler, and per operation width/height, strength, margins, scale, adjustments,
    model), the input image bytes (every operation but generate), the mask bytes
    (inpaint), a progress callback called with (steps done, total steps) after each
    denoising step (it may raise to abort the run), and the weights hash the model must
    have (rebuilds), and ``on_compute``, told the seconds computed (diffusers or
    Pillow) when the computation ends, also when it stops part way (a failure, a
    cancellation, a time limit): what a job's cost counts. Returns a StepResult.

    Raises DomainError for an invalid recipe or missing input, InvalidImage/ImageTooLarge
    for undecodable input, and ModelUnavailable when the model cannot be loaded or its
    weights hash differs from `expect_weights_hash`.
    """
    hosted_spec = hosted_spec_for(recipe)
    if hosted_spec is not None:
        png, image, recorded, seconds = run_hosted(
            {k: v for k, v in recipe.items() if k not in DERIVED_KEYS}, hosted_spec,
            input_png=input_png, mask_png=mask_png, max_pixels=MAX_INPUT_PIXELS,
            text_key=RECIPE_TEXT_KEY, serialise=canonical_json, on_compute=on_compute)
        if progress is not None:
            progress(1, 1)
        return StepResult(png=png, width=image.width, height=image.height,
                          recipe=recorded, seconds=seconds)
    out = _normalise(recipe)
    operation = out["operation"]
    source = _decode_input(operation, input_png)
    mask = _decode_mask(operation, mask_png, source)
    if input_png is not None:
        out["input_hash"] = hashlib.sha256(input_png).hexdigest()
    if mask_png is not None:
        out["mask_hash"] = hashlib.sha256(mask_png).hexdigest()

    if operation == "adjust":
        with _metered(on_compute) as meter:
            image, out["adjustments"] = apply_adjustments(
                source, out["adjustments"], ENGINE_MAX_SIDE
            )
        seconds = meter.seconds
        out["adjust_order"] = list(ADJUST_ORDER)
        if progress is not None:
            progress(1, 1)
    else:
        image, seconds = _run_diffusion(
            out, source, mask, progress, expect_weights_hash, on_compute
        )

    out["output_width"], out["output_height"] = image.size
    out["torch_threads"] = pipelines.torch_threads()
    out["environment"] = environment.fingerprint(out["torch_threads"])
    out = _json_clean(out)
    png = encode_png(image, {RECIPE_TEXT_KEY: canonical_json(out)})
    return StepResult(png=png, width=image.width, height=image.height, recipe=out, seconds=seconds)


def canonical_json(value: Any) -> str:
    """Serialise JSON with sorted keys and no spaces, so equal recipes give equal text."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


# --- recipe normalisation -------------------------------------------------------------


def _normalise(recipe: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(recipe, dict):
        raise DomainError("recipe must be an object")
    # A recorded recipe fed back in (a rebuild, maybe with an override) must not carry
    # stale results of its previous run, e.g. a resize note from a different scale.
    out = {key: value for key, value in recipe.items() if key not in DERIVED_KEYS}
    operation = out.get("operation")
    if operation not in OPERATIONS:
        raise DomainError(
            f"unknown operation {operation!r}; expected one of {', '.join(OPERATIONS)}"
        )
    tier = out.setdefault("tier", "draft")
    if tier not in DEFAULT_STEPS:
        raise DomainError(f"unknown tier {tier!r}; expected draft or final")
    out["recipe_version"] = RECIPE_VERSION
    if operation == "adjust":
        if not isinstance(out.get("adjustments"), dict) or not out["adjustments"]:
            raise DomainError("adjust needs a non-empty 'adjustments' object")
        return out
    for key in ("prompt", "negative_prompt"):
        out[key] = out.get(key) or ""
        if not isinstance(out[key], str):
            raise DomainError(f"{key} must be a string")
    spec = _model_spec(out)
    model_defaults = models.model_defaults(spec)
    out["seed"] = _int(out, "seed", None, 0, ENGINE_MAX_SEED)
    out["steps"] = _int(out, "steps", DEFAULT_STEPS[tier], MIN_STEPS, MAX_STEPS)
    out["guidance"] = _number(out, "guidance", DEFAULT_GUIDANCE, *GUIDANCE_RANGE)
    if operation == "generate":
        out["width"] = _int(out, "width", model_defaults.get("width", 512), 1, ENGINE_MAX_SIDE)
        out["height"] = _int(out, "height", model_defaults.get("height", 512), 1,
                             ENGINE_MAX_SIDE)
        check_generation_size(out["width"], out["height"], ENGINE_MAX_SIDE)
    if operation == "upscale":
        out["upscale_method"] = pipelines.upscale_method(spec)
        if out["upscale_method"] == pipelines.UPSCALE_BY_IMG2IMG:
            out["strength"] = _number(out, "strength", DEFAULT_UPSCALE_STRENGTH, *STRENGTH_RANGE)
    if operation in DEFAULT_STRENGTH:
        out["strength"] = _number(out, "strength", DEFAULT_STRENGTH[operation], *STRENGTH_RANGE)
        check_denoising(out["steps"], out["strength"])
    if operation in ("inpaint", "outpaint"):
        out["keep_unmasked"] = bool(out.get("keep_unmasked", True))
    if operation == "upscale":
        out["scale"] = _int(out, "scale", DEFAULT_UPSCALE, min(UPSCALE_FACTORS),
                            max(UPSCALE_FACTORS))
        if out["upscale_method"] == pipelines.UPSCALE_BY_IMG2IMG:
            out.pop("noise_level", None)
            check_denoising(out["steps"], out["strength"])
        else:
            out["noise_level"] = _int(out, "noise_level", DEFAULT_NOISE_LEVEL, 0, 1000)
    return out


def _model_spec(out: dict[str, Any]) -> str:
    """The model a recipe runs: ``model`` (a registered name or a spec), else the recorded
    ``model_id``, else the model of the operation's tier."""
    named = out.get("model")
    if named:
        registry = model_registry.view()
        if registry is not None and named in registry.entries:
            return registry.entries[named].event.spec
        return named
    return out.get("model_id") or pipelines.model_spec_for(out["operation"], out["tier"])


def _output_size(out: dict[str, Any], source: Image.Image | None) -> tuple[int, int]:
    """The (width, height) the pipeline paints (before any upscale resize)."""
    if out["operation"] == "generate":
        return out["width"], out["height"]
    assert source is not None
    if out["operation"] == "outpaint":
        m = out["margins"]
        return (source.width + m["left"] + m["right"], source.height + m["top"] + m["bottom"])
    if out.get("upscale_method") == pipelines.UPSCALE_BY_IMG2IMG:
        return source.width * out["scale"], source.height * out["scale"]
    return source.width, source.height


def _int(recipe: dict[str, Any], key: str, default: int | None, low: int, high: int) -> int:
    value = recipe.get(key, default)
    if value is None:
        raise DomainError(f"recipe needs '{key}'")
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DomainError(f"{key} must be an integer in {low}..{high}, not {value!r}")
    return value


def _number(recipe: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = recipe.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise DomainError(f"{key} must be a number in {low}..{high}, not {value!r}")
    return float(value)


def _decode_input(operation: str, input_png: bytes | None) -> Image.Image | None:
    if operation == "generate":
        if input_png is not None:
            raise DomainError("generate takes no input image")
        return None
    if input_png is None:
        raise DomainError(f"{operation} needs an input image")
    image = decode_image(input_png, max_pixels=MAX_INPUT_PIXELS)
    if operation != "adjust" and (image.width % 8 or image.height % 8):
        # The VAE works in 8-pixel cells; silently cropping would change the picture.
        raise DomainError(
            f"{operation} needs an input whose sides are multiples of 8, not "
            f"{image.width}x{image.height}; crop or resize it with adjust first"
        )
    return image


def _decode_mask(operation: str, mask_png: bytes | None, source: Image.Image | None) -> Any:
    if operation != "inpaint":
        if mask_png is not None:
            raise DomainError(f"{operation} takes no mask")
        return None
    if mask_png is None:
        raise DomainError("inpaint needs a mask (white = repaint)")
    assert source is not None
    mask = decode_image(mask_png, max_pixels=MAX_INPUT_PIXELS, mode="L")
    if mask.size != source.size:
        raise DomainError(
            f"mask is {mask.width}x{mask.height} but the input is {source.width}x{source.height}"
        )
    return mask


# --- diffusion --------------------------------------------------------------------------


def _run_diffusion(
    out: dict[str, Any],
    source: Image.Image | None,
    mask: Image.Image | None,
    progress: Progress | None,
    expect_weights_hash: str | None,
    on_compute: Callable[[float], None] | None,
) -> tuple[Image.Image, float]:
    """Run a diffusion step; return the image and the seconds spent inside the pipeline
    (not loading the model, not waiting for another run: that is not this step's cost)."""
    operation = out["operation"]
    _check_sizes(out, source)
    kind = pipelines.kind_for(operation)
    resize_first = out.get("upscale_method") == pipelines.UPSCALE_BY_IMG2IMG
    if resize_first:
        kind = "img2img"
    spec = _model_spec(out)
    pipe, info = pipelines.get_pipeline(kind, spec)
    entry = model_registry.entry_for_spec(spec)
    if expect_weights_hash is not None and info["weights_hash"] != expect_weights_hash:
        named = (f"registry entry {entry.name!r} ({spec})" if entry is not None
                 else f"model {spec!r}")
        raise ModelUnavailable(
            f"{named} has weights {info['weights_hash']}, but the recipe needs weights "
            f"{expect_weights_hash}",
            model_id=spec,
            model_name=entry.name if entry is not None else None,
            expected_weights_hash=expect_weights_hash,
            actual_weights_hash=info["weights_hash"],
        )
    out["model_id"] = info["model_id"]
    out["model_weights_hash"] = info["weights_hash"]
    if entry is not None and entry.weights_hash == info["weights_hash"]:
        out["model_name"] = entry.name
    family = families.family_of(pipe)
    out["model_family"] = family
    size = _output_size(out, source)
    families.fill_family_recipe(family, out, size)
    second = refiner.requested(out) if family == "sdxl" else None
    adapters = loras.resolve(out)
    try:
        scheduler = pipelines.make_scheduler(
            pipe, out.get("scheduler"), out.get("scheduler_config")
        )
    except ValueError as exc:
        if "promoted_from" not in out or out.get("scheduler_config") is not None:
            raise DomainError(str(exc)) from exc
        # A promotion onto another family (an SDXL draft, a Flux final): the draft's
        # sampler cannot drive the final model, whose own scheduler runs instead.
        out["scheduler_replaced"] = {"requested": out.get("scheduler"), "reason": str(exc)}
        scheduler = pipelines.make_scheduler(pipe, None, None)
    out["scheduler"] = type(scheduler).__name__
    out["scheduler_config"] = _scheduler_config(scheduler)
    call_pipe = pipelines.pipeline_for_call(pipe, scheduler)
    base_progress, refiner_progress = (refiner.split_progress(progress, out["steps"])
                                       if second else (progress, None))
    refiner_pipe = refiner.load(second, out) if second else None

    args: dict[str, Any] = {
        "prompt": out["prompt"],
        "negative_prompt": out["negative_prompt"],
        "num_inference_steps": out["steps"],
        "guidance_scale": out["guidance"],
        # One CPU generator per image: CPU noise is the same on every machine and device.
        "generator": torch.Generator(device="cpu").manual_seed(out["seed"]),
        "output_type": "pil",
        **pipelines.progress_args(call_pipe, base_progress),
        **families.family_args(family, operation, out, size),
    }
    if operation == "generate":
        args.update(width=out["width"], height=out["height"])
    elif operation == "img2img":
        args.update(image=source, strength=out["strength"])
    elif operation in ("inpaint", "outpaint"):
        assert source is not None
        if operation == "outpaint":
            source, mask = _outpaint_canvas(out, source)
        args.update(
            image=source,
            mask_image=mask,
            strength=out["strength"],
            width=source.width,
            height=source.height,
        )
    elif resize_first:
        assert source is not None
        target = (source.width * out["scale"], source.height * out["scale"])
        args.update(image=source.resize(target, Image.Resampling.LANCZOS),
                    strength=out["strength"])
    elif operation == "upscale":
        args.update(image=source, noise_level=out["noise_level"])
    if second is not None:  # the base stops part way and hands over its latents
        args.update(denoising_end=second.switch_at, output_type="latent")
    with pipelines.run_lock(kind, spec):
        loras.activate(call_pipe, adapters)
        with _metered(on_compute) as meter:
            images = call_pipe(**args).images
    image, seconds = images[0], meter.seconds
    if second is not None:
        with _metered(on_compute) as meter:
            image = refiner.refine(second, refiner_pipe, images, args, refiner_progress)
        seconds += meter.seconds

    if operation in ("inpaint", "outpaint") and out["keep_unmasked"]:
        # The VAE round trip alters every pixel; outside the mask the user asked for none
        # of that, so the original pixels are put back exactly.
        assert source is not None and mask is not None
        image = Image.composite(image, source, mask.point(lambda v: 255 if v >= 128 else 0))
    if operation == "upscale":
        image = _finish_upscale(out, source, image)
    return image, seconds


class _Meter:
    seconds = 0.0


@contextlib.contextmanager
def _metered(on_compute: Callable[[float], None] | None) -> Iterator[_Meter]:
    """Time the block; tell ``on_compute`` the seconds however the block ends."""
    meter = _Meter()
    started = time.perf_counter()
    try:
        yield meter
    finally:
        meter.seconds = time.perf_counter() - started
        if on_compute is not None:
            on_compute(meter.seconds)


def _check_sizes(out: dict[str, Any], source: Image.Image | None) -> None:
    """Size checks that need the input image; done before any model is loaded."""
    if out["operation"] == "outpaint":
        assert source is not None
        if not isinstance(out.get("margins"), dict):
            raise DomainError("outpaint needs 'margins' {left, top, right, bottom} in pixels")
        check_outpaint_margins(out["margins"], source.width, source.height, ENGINE_MAX_SIDE)
        out["margins"] = {side: out["margins"].get(side, 0) for side in MARGIN_SIDES}
        out["outpaint_fill"] = "edge"
    elif out["operation"] == "upscale":
        assert source is not None
        check_upscale(source.width, source.height, out["scale"], ENGINE_MAX_SIDE)


def _outpaint_canvas(out: dict[str, Any], source: Image.Image) -> tuple[Image.Image, Image.Image]:
    """Extend the canvas by the margins (edge pixels repeated); mask = the new border."""
    margins = out["margins"]
    pixels = np.asarray(source)
    pad = ((margins["top"], margins["bottom"]), (margins["left"], margins["right"]), (0, 0))
    canvas = Image.fromarray(np.pad(pixels, pad, mode="edge"))
    mask = Image.new("L", canvas.size, 255)
    mask.paste(
        0,
        (
            margins["left"],
            margins["top"],
            margins["left"] + source.width,
            margins["top"] + source.height,
        ),
    )
    return canvas, mask


def _finish_upscale(
    out: dict[str, Any], source: Image.Image | None, image: Image.Image
) -> Image.Image:
    """Record the model's native factor; resize with Pillow when another scale was asked."""
    assert source is not None
    out["native_scale"] = image.width // source.width
    target = (source.width * out["scale"], source.height * out["scale"])
    if image.size != target:
        out["resized_after_upscale"] = {
            "from": list(image.size),
            "to": list(target),
            "resample": "lanczos",
        }
        image = image.resize(target, Image.Resampling.LANCZOS)
    return image


def _scheduler_config(scheduler: Any) -> dict[str, Any]:
    # Private keys (_class_name, _diffusers_version) are not schedule parameters; the
    # class goes in recipe["scheduler"] and versions in the environment.
    return {k: v for k, v in dict(scheduler.config).items() if not k.startswith("_")}


def _json_clean(value: Any) -> Any:
    """Convert tuples and NumPy scalars to JSON primitives; reject anything else."""
    if isinstance(value, dict):
        return {str(k): _json_clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_clean(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"recipe value {value!r} is not a JSON primitive")
