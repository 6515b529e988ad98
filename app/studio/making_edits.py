"""Edits on a version from the asset page: inpaint a painted mask, outpaint chosen sides,
image to image with a strength, upscale, adjust. Each form posts here and goes through
the same schema (:class:`app.schemas.assets.EditSchema`) and command as
``POST /api/versions/{id}/edits``; each makes a new version in the tree.

The forms speak in the page's terms and this view turns them into the API's body: the
mask painter sends its PNG as base64 (``mask``, white = repaint), outpaint sends ticked
``side`` boxes and one ``pixels`` width, adjust sends sliders (1 = unchanged, left out)
and an optional crop box.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from marshmallow import ValidationError

from app.api.views import job_limits
from app.context import services
from app.schemas.assets import EditSchema
from app.studio.forms import form_body, form_meta, number
from app.studio.web import answered, principal, signed_in, studio_blueprint, url_with
from commands import edits
from commands.state import parse_id

blueprint = studio_blueprint("studio_making_edits", __name__)
SIDES = ("left", "top", "right", "bottom")
SLIDERS = ("brightness", "contrast", "saturation")
CROP = ("crop_x", "crop_y", "crop_w", "crop_h")
PAGE_FIELDS = ("side", "pixels", *SLIDERS, *CROP)


def margins_from_form() -> dict[str, Any] | None:
    """Outpaint's margins: ``pixels`` on each ticked ``side`` (None when no form asks)."""
    sides = request.form.getlist("side")
    if not sides and "pixels" not in request.form:
        return None
    unknown = sorted(set(sides) - set(SIDES))
    if unknown or not sides:
        raise ValidationError({"side": [f"tick one or more of {', '.join(SIDES)}"]})
    pixels = number(request.form.get("pixels", ""), int)
    return {side: pixels for side in sides}


def adjustments_from_form() -> dict[str, Any] | None:
    """Adjust's sliders that moved from 1 (unchanged) and the crop box, if all four of
    its fields were given (None when the form has no adjust fields)."""
    if not any(name in request.form for name in (*SLIDERS, *CROP)):
        return None
    adjustments: dict[str, Any] = {}
    for name in SLIDERS:
        value = number(request.form.get(name, ""), float)
        if value != "" and value != 1.0:
            adjustments[name] = value
    box = [request.form.get(name, "").strip() for name in CROP]
    if any(box):
        if not all(box):
            raise ValidationError({"crop": ["give x, y, width and height, or none of them"]})
        adjustments["crop"] = [number(value, int) for value in box]
    return adjustments


@blueprint.post("/versions/<version_id>/edits")
@signed_in
def edit(version_id: str) -> Response:
    """Request one edit of ``version_id`` (creator); 202 with the jobs body."""
    version_id = parse_id(version_id, "version")
    extra = {key: value for key, value in (("margins", margins_from_form()),
                                           ("adjustments", adjustments_from_form()))
             if value is not None}
    data = form_body(EditSchema, ints=("steps", "seed", "scale"), floats=("strength",),
                     omit=PAGE_FIELDS, extra=extra)
    lineage = services()
    result = edits.request_edit(lineage.store, lineage.blobs, principal(), form_meta(),
                                version_id, data, max_side=lineage.settings.max_side,
                                limits=job_limits())
    return answered(url_with(f"/assets/{result['asset_id']}", v=version_id,
                             min_position=result["position"]), result, 202)
