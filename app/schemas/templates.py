"""Request bodies of templates and generations from a template."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from app.schemas.assets import SCHEDULER
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


class TemplateParametersSchema(StrictSchema):
    """Generation defaults a template carries (a request may override each)."""

    width = Int(metadata={"description": SIDE_DOC})
    height = Int(metadata={"description": SIDE_DOC})
    steps = Int(validate=validate.Range(1, 200))
    guidance = Float(validate=validate.Range(0, 50))
    scheduler = fields.String(validate=SCHEDULER)
    tier = fields.String(validate=validate.OneOf(TIERS))
    variations = Int(validate=validate.Range(1, MAX_VARIATIONS))

    @validates_schema
    def _sizes(self, data: dict, **_kwargs: object) -> None:
        errors: dict = {}
        check_side("width", data.get("width"), self.limits, errors)
        check_side("height", data.get("height"), self.limits, errors)
        if errors:
            raise ValidationError(errors)


class _PromptChecks(StrictSchema):
    @validates_schema
    def _prompts(self, data: dict, partial: bool = False, **_kwargs: object) -> None:
        errors: dict = {}
        check_prompt("prompt", data.get("prompt"), self.limits, errors, required=True)
        check_prompt("negative_prompt", data.get("negative_prompt"), self.limits, errors,
                     required=False)
        if errors:
            raise ValidationError(errors)


class TemplateCreateSchema(_PromptChecks):
    name = Name(required=True, strip=True, validate=validate.Length(1, 200))
    prompt = Text(required=True, metadata={"description": PROMPT_DOC})
    negative_prompt = Text(load_default="")
    parameters = fields.Nested(TemplateParametersSchema, load_default=dict)


class TemplateReviseSchema(_PromptChecks):
    prompt = Text(metadata={"description": PROMPT_DOC})
    negative_prompt = Text()
    parameters = fields.Nested(TemplateParametersSchema)

    @validates_schema
    def _not_empty(self, data: dict, **_kwargs: object) -> None:
        if not data:
            raise ValidationError("send at least one of prompt, negative_prompt, parameters",
                                  "_schema")


class TemplateGenerationSchema(StrictSchema):
    asset_id = Id(required=True)
    variables = fields.Dict(keys=Text(validate=validate.Length(1, 64)),
                            values=Text(validate=validate.Length(max=2000)), load_default=dict)
    negative_prompt = Text(load_default=None, allow_none=True)
    seed = seed_field()
    variations = Int(load_default=None, allow_none=True,
                     validate=validate.Range(1, MAX_VARIATIONS))
    tier = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(TIERS))
    width = Int(load_default=None, allow_none=True, metadata={"description": SIDE_DOC})
    height = Int(load_default=None, allow_none=True, metadata={"description": SIDE_DOC})
    steps = Int(load_default=None, allow_none=True, validate=validate.Range(1, 200))
    guidance = Float(load_default=None, allow_none=True, validate=validate.Range(0, 50))
    scheduler = fields.String(load_default=None, allow_none=True, validate=SCHEDULER)

    @validates_schema
    def _limits(self, data: dict, **_kwargs: object) -> None:
        errors: dict = {}
        check_side("width", data.get("width"), self.limits, errors)
        check_side("height", data.get("height"), self.limits, errors)
        check_prompt("negative_prompt", data.get("negative_prompt"), self.limits, errors,
                     required=False)
        if errors:
            raise ValidationError(errors)
