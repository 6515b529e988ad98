"""Run one recipe step on a hosted model and record what was asked and answered.

The recorded recipe keeps what the caller asked (prompt, size, ...), names the model
spec in ``model_id`` and adds a ``hosted`` object: provider, public base URL, endpoint,
the model requested and the model and version the provider reported, the request
parameters sent (never the key), the response ids, the provider's usage, the attempts
it took, the SHA-256 of the bytes received, and the recipe keys the API has no field for
(``not_sent``). The PNG embeds that recipe, as for any other step.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable, Mapping
from typing import Any

from PIL import Image

from events.errors import DomainError
from imaging.png import decode_image, encode_png
from rules.recipes import DEFAULT_STEPS, OPERATIONS
from workers import pipelines
from workers.hosted.openai_images import OpenAIImages
from workers.hosted.provider import (
    HostedProvider,
    HostedRequest,
    HostedResult,
    HostedSettings,
    is_hosted,
    parse_spec,
    settings_from_env,
)

HOSTED_OPERATIONS = ("generate", "img2img", "inpaint")
PROVIDERS: Mapping[str, Callable[[HostedSettings], HostedProvider]] = {"openai": OpenAIImages}
"""Provider name (the second part of ``hosted:<provider>:<model>``) → implementation."""
_UNSENT = ("negative_prompt", "seed", "steps", "guidance", "scheduler", "strength")
MASK_SENT_AS = "alpha: transparent = repaint (from white = repaint)"


def hosted_spec_for(recipe: Any) -> str | None:
    """The hosted model spec a recipe runs on, or None for a local model: the recipe's
    own ``model``/``model_id`` wins over the model configured for its operation and tier.
    An invalid recipe answers None (the engine's own checks then say what is wrong)."""
    if not isinstance(recipe, dict) or recipe.get("operation") not in OPERATIONS:
        return None
    tier = recipe.get("tier") or "draft"
    named = recipe.get("model") or recipe.get("model_id")
    if named is None and (recipe["operation"] == "adjust" or tier not in DEFAULT_STEPS):
        return None
    spec = named or pipelines.model_spec_for(recipe["operation"], tier)
    return spec if is_hosted(spec) else None


def provider_for(name: str, settings: HostedSettings | None = None) -> HostedProvider:
    """The provider implementation called ``name``; DomainError naming those known."""
    if name not in PROVIDERS:
        raise DomainError(f"unknown hosted provider {name!r}; known: {', '.join(PROVIDERS)}")
    return PROVIDERS[name](settings or settings_from_env())


def run_hosted(recipe: dict[str, Any], spec: str, *, input_png: bytes | None,
               mask_png: bytes | None, max_pixels: int, text_key: str,
               serialise: Callable[[Any], str],
               on_compute: Callable[[float], None] | None = None,
               ) -> tuple[bytes, Image.Image, dict[str, Any], float]:
    """Make the step's image on the hosted model ``spec``.

    Returns (PNG bytes with the recipe embedded, the image, the recorded recipe, the
    seconds spent waiting for the provider). Raises DomainError for an operation the
    images API cannot do or missing input, and a HostedError subclass when the
    provider fails (its message says why, in words).
    """
    parsed = parse_spec(spec)
    operation = recipe["operation"]
    if operation not in HOSTED_OPERATIONS:
        raise DomainError(f"{operation} cannot run on hosted model {spec!r}: the images API "
                          f"does {', '.join(HOSTED_OPERATIONS)} only; use a local model for "
                          f"{operation}")
    out = dict(recipe)
    out["model_id"] = spec
    out["prompt"] = out.get("prompt") or ""
    if not isinstance(out["prompt"], str) or not out["prompt"].strip():
        raise DomainError("a hosted model needs a non-empty prompt")
    size = None
    if operation == "generate" and out.get("width") and out.get("height"):
        size = f"{int(out['width'])}x{int(out['height'])}"
    image_png = mask_alpha = None
    if operation != "generate":
        if input_png is None:
            raise DomainError(f"{operation} needs an input image")
        decode_image(input_png, max_pixels=max_pixels)  # refuse undecodable input here
        image_png = input_png
        out["input_hash"] = hashlib.sha256(input_png).hexdigest()
    if operation == "inpaint":
        if mask_png is None:
            raise DomainError("inpaint needs a mask (white = repaint)")
        mask_alpha = _alpha_mask(decode_image(mask_png, max_pixels=max_pixels, mode="L"))
        out["mask_hash"] = hashlib.sha256(mask_png).hexdigest()
    provider = provider_for(parsed.provider)
    started = time.perf_counter()
    try:
        result = provider.make_image(HostedRequest(
            operation=operation, model=parsed.model, prompt=out["prompt"], size=size,
            image_png=image_png, mask_png=mask_alpha))
    finally:
        seconds = time.perf_counter() - started
        if on_compute is not None:
            on_compute(seconds)
    image = decode_image(result.image, max_pixels=max_pixels)
    out["hosted"] = _record(parsed.provider, parsed.model, provider, result)
    out["hosted"]["not_sent"] = not_sent(out)
    if mask_alpha is not None:
        out["hosted"]["mask_sent_as"] = MASK_SENT_AS
    out["output_width"], out["output_height"] = image.size
    png = encode_png(image, {text_key: serialise(out)})
    return png, image, out, seconds


def usage_report(recipe: dict[str, Any]) -> dict[str, Any] | None:
    """What a job's cost records for a hosted step (None for a local one)."""
    hosted = recipe.get("hosted")
    if not isinstance(hosted, dict):
        return None
    return {"provider": hosted.get("provider"), "model": hosted.get("model"),
            "reported_model": hosted.get("reported_model"),
            "response_ids": hosted.get("response_ids"), "usage": hosted.get("usage")}


def _record(provider_name: str, model: str, provider: HostedProvider,
            result: HostedResult) -> dict[str, Any]:
    settings = getattr(provider, "settings", None)
    return {
        "provider": provider_name,
        "base_url": settings.public_base_url if settings is not None else None,
        "endpoint": result.endpoint,
        "model": model,
        "reported_model": result.reported_model,
        "reported_version": result.reported_version,
        "request": result.request_parameters,
        "response_ids": result.response_ids,
        "usage": result.usage,
        "attempts": result.attempts,
        "revised_prompt": result.revised_prompt,
        "received_hash": hashlib.sha256(result.image).hexdigest(),
        "not_sent": [],
    }


def not_sent(recipe: dict[str, Any]) -> list[str]:
    """Recipe keys given that the images API has no field for (recorded, not sent)."""
    return [key for key in _UNSENT if recipe.get(key) not in (None, "")]


def _alpha_mask(mask: Image.Image) -> bytes:
    """Lineage masks are white = repaint; the images API wants transparent = repaint."""
    alpha = mask.point(lambda v: 0 if v >= 128 else 255)
    rgba = Image.new("RGBA", mask.size, (0, 0, 0, 255))
    rgba.putalpha(alpha)
    buffer = io.BytesIO()
    rgba.save(buffer, format="PNG")
    return buffer.getvalue()
