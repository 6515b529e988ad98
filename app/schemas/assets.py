"""Request bodies of assets, tags, generations, promotions, edits and uploads."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from app.schemas.common import (
    MAX_VARIATIONS,
    PROMPT_DOC,
    SIDE_DOC,
    Float,
    Id,
    Int,
    Name,
    StrictSchema,
    Text,
    check_prompt,
    check_side,
    seed_field,
)
from events.assets import TIERS
from rules.recipes import (
    EDIT_OPERATIONS,
    GUIDANCE_RANGE,
    MAX_LORA_SCALE,
    MAX_LORAS,
    MAX_STEPS,
    MIN_STEPS,
    SCHEDULERS,
    STRENGTH_RANGE,
    UPSCALE_FACTORS,
)

TAG = validate.Length(1, 64)
SCHEDULER = validate.OneOf(SCHEDULERS, error="must be a scheduler a worker can run: {choices}")
IMAGE_SIZES = ("full", "thumbnail", "256", "1024")
"""``thumbnail``: a PNG at most 256 px; ``256``/``1024``: cached WebP previews."""


class AssetCreateSchema(StrictSchema):
    name = Name(required=True, strip=True, validate=validate.Length(1, 200))
    brief = Text(load_default="", validate=validate.Length(max=5000))
    tags = fields.List(Name(strip=True, validate=TAG), load_default=list,
                       validate=validate.Length(max=50))


class TagSchema(StrictSchema):
    tag = Name(required=True, strip=True, validate=TAG)


class ImageQuery(StrictSchema):
    size = fields.String(load_default="full", validate=validate.OneOf(IMAGE_SIZES))


class LoraRefSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(1, 64),
                         metadata={"description": "a registered LoRA adapter"})
    scale = Float(load_default=1.0, validate=validate.Range(-MAX_LORA_SCALE, MAX_LORA_SCALE))


class RefinerSchema(StrictSchema):
    model = fields.String(required=True, validate=validate.Length(1, 64),
                          metadata={"description": "a registered SDXL model (the refiner)"})
    switch_at = Float(load_default=0.8,
                      validate=validate.Range(0, 1, min_inclusive=False, max_inclusive=False),
                      metadata={"description": "the part of the schedule the base runs"})


class SamplingFields(StrictSchema):
    """Parameters shared by generations and diffusion edits."""

    model = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64),
                          metadata={"description": "a registered model to run instead of "
                                                   "the tier's (GET /api/models)"})
    loras = fields.List(fields.Nested(LoraRefSchema), load_default=None, allow_none=True,
                        validate=validate.Length(max=MAX_LORAS),
                        metadata={"description": "registered LoRA adapters and their scales"})
    prompt_2 = Text(load_default=None, allow_none=True, validate=validate.Length(max=2000),
                    metadata={"description": "SDXL/SD3/Flux: the second text encoder's "
                                             "prompt (default: prompt)"})
    prompt_3 = Text(load_default=None, allow_none=True, validate=validate.Length(max=2000),
                    metadata={"description": "SD3: the T5 prompt (default: prompt)"})
    max_sequence_length = Int(load_default=None, allow_none=True,
                              validate=validate.Range(1, 512),
                              metadata={"description": "SD3/Flux: T5 tokens"})
    true_cfg_scale = Float(load_default=None, allow_none=True, validate=validate.Range(1, 50),
                           metadata={"description": "Flux: real classifier-free guidance "
                                                    "with the negative prompt (1: off)"})

    negative_prompt = Text(load_default=None, allow_none=True,
                           metadata={"description": PROMPT_DOC})
    seed = seed_field()
    steps = Int(load_default=None, allow_none=True, validate=validate.Range(MIN_STEPS, MAX_STEPS))
    guidance = Float(load_default=None, allow_none=True, validate=validate.Range(*GUIDANCE_RANGE))
    scheduler = fields.String(load_default=None, allow_none=True, validate=SCHEDULER)


class GenerationSchema(SamplingFields):
    prompt = Text(required=True, metadata={"description": PROMPT_DOC})
    variations = Int(load_default=1, validate=validate.Range(1, MAX_VARIATIONS),
                     metadata={"description": "1..16 images, seeds consecutive from seed"})
    tier = fields.String(load_default="draft", validate=validate.OneOf(TIERS))
    width = Int(required=True, metadata={"description": SIDE_DOC})
    height = Int(required=True, metadata={"description": SIDE_DOC})
    refiner = fields.Nested(RefinerSchema, load_default=None, allow_none=True,
                            metadata={"description": "SDXL: a refiner model finishes the "
                                                     "schedule from switch_at on"})

    @validates_schema
    def _limits(self, data: dict, **_kwargs: object) -> None:
        errors: dict = {}
        check_prompt("prompt", data.get("prompt"), self.limits, errors, required=True)
        check_prompt("negative_prompt", data.get("negative_prompt"), self.limits, errors,
                     required=False)
        check_side("width", data.get("width"), self.limits, errors)
        check_side("height", data.get("height"), self.limits, errors)
        if errors:
            raise ValidationError(errors)


class PromoteSchema(StrictSchema):
    width = Int(load_default=None, allow_none=True, metadata={"description": SIDE_DOC})
    height = Int(load_default=None, allow_none=True, metadata={"description": SIDE_DOC})
    steps = Int(load_default=None, allow_none=True, validate=validate.Range(MIN_STEPS, MAX_STEPS))

    @validates_schema
    def _limits(self, data: dict, **_kwargs: object) -> None:
        errors: dict = {}
        check_side("width", data.get("width"), self.limits, errors)
        check_side("height", data.get("height"), self.limits, errors)
        if errors:
            raise ValidationError(errors)


class RegionSchema(StrictSchema):
    """A normalised box: x, y, w, h in 0..1 of the image's width and height."""

    x = Float(required=True, validate=validate.Range(0, 1))
    y = Float(required=True, validate=validate.Range(0, 1))
    w = Float(required=True, validate=validate.Range(0, 1, min_inclusive=False))
    h = Float(required=True, validate=validate.Range(0, 1, min_inclusive=False))

    @validates_schema
    def _inside(self, data: dict, **_kwargs: object) -> None:
        if data["x"] + data["w"] > 1 or data["y"] + data["h"] > 1:
            raise ValidationError("the region must lie inside the image: x + w <= 1 and "
                                  "y + h <= 1", "_schema")


class MarginsSchema(StrictSchema):
    left = Int(load_default=0, validate=validate.Range(0, 100_000))
    top = Int(load_default=0, validate=validate.Range(0, 100_000))
    right = Int(load_default=0, validate=validate.Range(0, 100_000))
    bottom = Int(load_default=0, validate=validate.Range(0, 100_000))


class AdjustmentsSchema(StrictSchema):
    crop = fields.List(Int(validate=validate.Range(0, 100_000)), validate=validate.Length(4, 4),
                       metadata={"description": "[x, y, width, height] in pixels"})
    resize = fields.List(Int(validate=validate.Range(1, 100_000)),
                         validate=validate.Length(2, 2),
                         metadata={"description": "[width, height] in pixels"})
    rotate = Float(validate=validate.Range(-360, 360))
    brightness = Float(validate=validate.Range(0, 10))
    contrast = Float(validate=validate.Range(0, 10))
    saturation = Float(validate=validate.Range(0, 10))


class EditSchema(SamplingFields):
    operation = fields.String(required=True, validate=validate.OneOf(EDIT_OPERATIONS))
    prompt = Text(load_default=None, allow_none=True,
                  metadata={"description": PROMPT_DOC + "; default: the source's prompt"})
    strength = Float(load_default=None, allow_none=True, validate=validate.Range(*STRENGTH_RANGE))
    mask = fields.String(load_default=None, allow_none=True,
                         validate=validate.Length(1, 30_000_000),
                         metadata={"description": "inpaint mask: base64 PNG the size of the "
                                                  "source, white = repaint"})
    mask_blob = fields.String(load_default=None, allow_none=True,
                              validate=validate.Regexp(r"^[0-9a-f]{64}$"),
                              metadata={"description": "inpaint mask: a stored blob's SHA-256"})
    region = fields.Nested(RegionSchema, load_default=None, allow_none=True,
                           metadata={"description": "inpaint region (instead of a mask)"})
    margins = fields.Nested(MarginsSchema, load_default=None, allow_none=True)
    scale = Int(load_default=None, allow_none=True, validate=validate.OneOf(UPSCALE_FACTORS))
    adjustments = fields.Nested(AdjustmentsSchema, load_default=None, allow_none=True)
    tier = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(TIERS),
                         metadata={"description": "output tier; default: the source's"})

    @validates_schema
    def _consistent(self, data: dict, **_kwargs: object) -> None:
        errors: dict = {}
        check_prompt("prompt", data.get("prompt"), self.limits, errors, required=False)
        check_prompt("negative_prompt", data.get("negative_prompt"), self.limits, errors,
                     required=False)
        masks = [k for k in ("mask", "mask_blob", "region") if data.get(k) is not None]
        if len(masks) > 1:
            errors["mask"] = [f"send one of mask, mask_blob, region, not {' and '.join(masks)}"]
        operation = data.get("operation")
        takes = {"mask": ("inpaint", bool(masks)),
                 "margins": ("outpaint", data.get("margins") is not None),
                 "adjustments": ("adjust", data.get("adjustments") is not None),
                 "scale": ("upscale", data.get("scale") is not None)}
        for key, (op, present) in takes.items():
            if present and operation != op:
                errors.setdefault(key, []).append(f"only {op} takes {key}")
        if operation == "inpaint" and not masks:
            errors["mask"] = ["inpaint needs a mask (base64 PNG), a mask_blob or a region"]
        if operation == "outpaint" and data.get("margins") is None:
            errors["margins"] = ["outpaint needs margins {left, top, right, bottom}"]
        if operation == "adjust" and not data.get("adjustments"):
            errors["adjustments"] = ["adjust needs at least one adjustment"]
        if errors:
            raise ValidationError(errors)


class UploadFormSchema(StrictSchema):
    """Form fields sent with the multipart ``image`` file."""

    tier = fields.String(load_default="draft", validate=validate.OneOf(TIERS))
    parent_version_id = Id(load_default=None, allow_none=True)
    note = Text(load_default="", validate=validate.Length(max=2000))
