"""The asset page's generate panel: prompt, tier, variations, seed (random or fixed),
size presets from the project's channels, a template picker that fills a template's
variables, and the project's policies shown before the click.

The forms post to the same commands as their JSON twins (``POST /api/assets/{id}/
generations`` and ``POST /api/templates/{id}/generations``), with the same checks and
refusals (a refused final answers 422 with the policy's reason, which the page shows).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response, request
from marshmallow import ValidationError

from app.api.views import job_limits
from app.context import services
from app.schemas.assets import GenerationSchema
from app.schemas.templates import TemplateGenerationSchema
from app.studio.forms import form_body, form_meta
from app.studio.web import answered, principal, signed_in, studio_blueprint, url_with
from commands import generation
from commands.state import parse_id
from projections import queries
from rules.recipes import SCHEDULERS

blueprint = studio_blueprint("studio_making_generate", __name__)
SQUARES = (64, 128, 256, 512, 768, 1024)
DEFAULT_SIDE = 256
_SIZE = re.compile(r"^(\d{1,6})(?:x(\d{1,6}))?$")
VARIABLE_PREFIX = "var."


def size_presets(channels: list[dict[str, Any]], max_side: int) -> list[dict[str, Any]]:
    """The sizes the panel offers: each delivery channel's minimum size first ("good
    enough" for that channel; rounded up to a multiple of 8, as models render), then
    squares; a size over the server's limit is shown but disabled."""
    presets = []
    for channel in channels:
        width, height = _renderable(channel["min_width"]), _renderable(channel["min_height"])
        presets.append({"value": f"{width}x{height}",
                        "label": f"{channel['name']} · {width} × {height}",
                        "disabled": max(width, height) > max_side, "channel": channel["name"]})
    presets += [{"value": str(side), "label": f"{side} × {side}", "disabled": side > max_side,
                 "channel": None} for side in SQUARES]
    return presets


def _renderable(side: int) -> int:
    """A channel's minimum side as a size a model renders: at least 64, a multiple of 8."""
    return max(64, -(-side // 8) * 8)


def parse_size(text: str) -> tuple[int, int] | None:
    """``"512"`` (a square) or ``"1080x1350"`` → (width, height); None when empty.
    Raises ValidationError for anything else."""
    if not text:
        return None
    match = _SIZE.match(text.strip())
    if not match:
        raise ValidationError({"size": ["must be a side (512) or width x height (1080x1350)"]})
    width = int(match.group(1))
    return width, int(match.group(2) or width)


def _sampling() -> dict[str, Any] | None:
    """Width and height from the size field, and the seed as the seed mode says (a fixed
    seed is sent, a random one left to the command)."""
    extra: dict[str, Any] = {}
    size = parse_size(request.form.get("size", ""))
    if size is not None:
        extra["width"], extra["height"] = size
    if request.form.get("seed_mode", "fixed") == "random":
        extra["seed"] = None
    return extra


@blueprint.post("/assets/<asset_id>/generations")
@signed_in
def generate(asset_id: str) -> Response:
    """Request renders of a prompt (drafts or finals)."""
    asset_id = parse_id(asset_id, "asset")
    data = form_body(GenerationSchema, ints=("variations", "steps", "seed"), floats=("guidance",),
                     omit=("size", "seed_mode"), extra=_sampling())
    result = generation.request_generation(services().store, principal(), form_meta(),
                                           asset_id, data, limits=job_limits())
    return answered(url_with(f"/assets/{asset_id}", min_position=result["position"]),
                    result, 202)


@blueprint.post("/templates/<template_id>/generations")
@signed_in
def generate_from_template(template_id: str) -> Response:
    """Request renders from a template, its variables filled from ``var.<name>`` fields."""
    template_id = parse_id(template_id, "template")
    variables = {name[len(VARIABLE_PREFIX):]: value for name, value in request.form.items()
                 if name.startswith(VARIABLE_PREFIX)}
    data = form_body(TemplateGenerationSchema, ints=("variations", "seed", "steps"),
                     floats=("guidance",),
                     omit=("size", "seed_mode", *(VARIABLE_PREFIX + n for n in variables)),
                     extra={**_sampling(), "variables": variables})
    lineage = services()
    result = generation.request_template_generation(
        lineage.store, principal(), form_meta(), template_id, data,
        max_prompt_chars=lineage.settings.max_prompt_chars,
        max_side=lineage.settings.max_side, limits=job_limits())
    return answered(url_with(f"/assets/{data['asset_id']}", template=template_id,
                             min_position=result["position"]), result, 202)


def generate_context(project: dict[str, Any], template_id: str | None) -> dict[str, Any]:
    """What the generate panel draws: size presets, the project's templates and the one
    picked (``?template=``), whose variables become fields."""
    lineage = services()
    templates, _ = queries.project_templates(lineage.engine, project["project_id"], limit=200)
    chosen = next((t for t in templates if t["template_id"] == template_id), None)
    presets = size_presets(project["channels"], lineage.settings.max_side)
    default = str(DEFAULT_SIDE)
    if chosen is not None:
        width, height = chosen["parameters"].get("width"), chosen["parameters"].get("height")
        if width and height:
            default = str(width) if width == height else f"{width}x{height}"
            if default not in {preset["value"] for preset in presets}:
                presets.insert(0, {"value": default, "label": f"template · {width} × {height}",
                                   "disabled": False, "channel": None})
    return {"size_presets": presets, "default_size": default, "templates": templates,
            "chosen_template": chosen, "schedulers": SCHEDULERS}
