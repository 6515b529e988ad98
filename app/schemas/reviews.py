"""Request bodies of comments, decisions, revocations and pins."""

from __future__ import annotations

from marshmallow import fields, validate

from app.schemas.assets import RegionSchema
from app.schemas.common import Id, Name, StrictSchema, Text
from app.schemas.projects import CHANNEL_NAME
from events.reviews import DECISIONS


class CommentSchema(StrictSchema):
    body = Text(required=True, strip=True, validate=validate.Length(1, 10_000))
    region = fields.Nested(RegionSchema, load_default=None, allow_none=True)
    parent_comment_id = Id(load_default=None, allow_none=True)


class DecisionSchema(StrictSchema):
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS))
    channel = Name(load_default=None, allow_none=True, validate=validate.Regexp(
        CHANNEL_NAME, error="must be a channel name: 1-40 lowercase letters, digits, '-' or "
                            "'_', starting with a letter or digit"))
    note = Text(load_default="", validate=validate.Length(max=5000))


class RevokeSchema(StrictSchema):
    reason = Text(required=True, strip=True, validate=validate.Length(1, 2000))


class PinSchema(StrictSchema):
    label = Name(required=True, strip=True, validate=validate.Length(1, 200))
