"""Request schemas of the lineage tools: rebuild, re-bake, export."""

from __future__ import annotations

from marshmallow import fields, validate

from app.schemas.common import Float, Id, Int, StrictSchema
from commands.rebuild import ALL_OVERRIDE_FIELDS
from interchange.export import EXPORT_FORMATS


class ToleranceSchema(StrictSchema):
    max_channel_difference = Int(load_default=8, validate=validate.Range(0, 255),
                                 metadata={"description": "largest per-channel difference "
                                                          "still within tolerance"})
    min_psnr = Float(load_default=40.0, validate=validate.Range(0, 200),
                     metadata={"description": "smallest PSNR (dB) still within tolerance"})


class RebuildSchema(StrictSchema):
    tolerance = fields.Nested(ToleranceSchema, load_default=None, allow_none=True)


class RebakeSchema(StrictSchema):
    overrides = fields.Dict(
        keys=Id(), values=fields.Dict(keys=fields.String(
            validate=validate.OneOf(sorted(ALL_OVERRIDE_FIELDS)))),
        required=True, validate=validate.Length(1, 50),
        metadata={"description": "{version id in the chain: {field: value}}; fields per "
                                 "step: prompt, negative_prompt, seed, steps, guidance, "
                                 "strength, mask (blob hash or base64 PNG), margins, scale, "
                                 "adjustments"})


class ExportQuery(StrictSchema):
    format = fields.String(load_default="png", validate=validate.OneOf(EXPORT_FORMATS))
    c2pa = fields.Boolean(load_default=False,
                          metadata={"description": "add a signed C2PA manifest (needs the "
                                                   "optional c2pa-python and a certificate; "
                                                   "501 otherwise)"})
