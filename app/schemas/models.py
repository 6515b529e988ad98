"""The model registry's query and answers."""

from __future__ import annotations

from marshmallow import fields, validate

from app.schemas.common import StrictSchema
from app.schemas.responses import Answer
from events.models import MODEL_KINDS, MODEL_TIERS


class ModelListQuery(StrictSchema):
    kind = fields.String(load_default=None, validate=validate.OneOf(MODEL_KINDS), metadata={
        "description": "only models (pipeline) or only LoRA adapters (lora)"})


class WeightFileOut(Answer):
    path = fields.String(required=True)
    sha256 = fields.String(required=True)


class ModelOut(Answer):
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": ", ".join(MODEL_KINDS)})
    family = fields.String(required=True, metadata={
        "description": "sd, sd-upscale, sdxl, sd3, flux or other"})
    pipeline_class = fields.String(required=True)
    spec = fields.String(required=True, metadata={
        "description": "what the engine loads (a folder, a file or builtin:…)"})
    config = fields.String(allow_none=True, metadata={
        "description": "a single-file checkpoint's configuration folder (administrators)"})
    components = fields.List(fields.String(), required=True)
    files = fields.List(fields.Nested(WeightFileOut), required=True)
    weights_hash = fields.String(required=True, metadata={
        "description": "the hash recipes record (over every weight file)"})
    tiers = fields.List(fields.String(), required=True)
    revision = fields.Integer(required=True, metadata={
        "description": "how many times this name was registered with other weights, plus one"})
    previous_weights_hashes = fields.List(fields.String(), required=True)
    source = fields.String(required=True, metadata={"description": "cli or environment"})
    registered_at = fields.String(required=True, allow_none=True)


class ModelListOut(Answer):
    items = fields.List(fields.Nested(ModelOut), required=True)
    tiers = fields.Dict(keys=fields.String(validate=validate.OneOf(MODEL_TIERS)),
                        values=fields.String(allow_none=True), required=True, metadata={
                            "description": "the registered model each tier runs (null: the "
                                           "LINEAGE_MODEL_* variables or the default)"})
