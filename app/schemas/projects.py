"""Request bodies of projects, members, policies and channels."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from app.schemas.common import Float, Int, Name, StrictSchema, Text
from events.projects import ROLES

CHANNEL_NAME = r"^[a-z0-9][a-z0-9_-]{0,39}$"


class ProjectCreateSchema(StrictSchema):
    name = Name(required=True, strip=True, validate=validate.Length(1, 200))
    description = Text(load_default="", validate=validate.Length(max=5000))


class PoliciesSchema(StrictSchema):
    """Each policy is a number or null (no limit); absent policies keep their value."""

    min_drafts_before_final = Int(allow_none=True, validate=validate.Range(0, 10_000))
    final_render_cap = Int(allow_none=True, validate=validate.Range(0, 1_000_000))
    compute_budget_seconds = Float(allow_none=True, validate=validate.Range(0, 1e12))
    draft_price_per_compute_second = Float(
        allow_none=True, validate=validate.Range(0, 1e6),
        metadata={"description": "what one compute-second of a draft costs; null: no price"})
    final_price_per_compute_second = Float(
        allow_none=True, validate=validate.Range(0, 1e6),
        metadata={"description": "what one compute-second of a final costs; null: no price"})
    price_currency = fields.String(
        allow_none=True, validate=validate.Regexp(
            r"^[A-Z]{3}$", error="must be a three-letter ISO 4217 code such as EUR or USD"),
        metadata={"description": "the prices' currency (ISO 4217), e.g. EUR"})

    @validates_schema
    def _not_empty(self, data: dict, **_kwargs: object) -> None:
        if not data:
            raise ValidationError("send at least one of " + ", ".join(self.fields), "_schema")


class ChannelSchema(StrictSchema):
    min_width = Int(required=True, validate=validate.Range(1, 100_000))
    min_height = Int(required=True, validate=validate.Range(1, 100_000))


class MemberSchema(StrictSchema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
