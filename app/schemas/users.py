"""Request bodies of users and tokens."""

from __future__ import annotations

from marshmallow import fields, validate

from app.schemas.common import Name, StrictSchema, Text


class UserCreateSchema(StrictSchema):
    name = Name(required=True, strip=True, validate=validate.Length(1, 200))
    is_admin = fields.Boolean(load_default=False)


class TokenCreateSchema(StrictSchema):
    label = Name(load_default="", validate=validate.Length(max=200))


class RevokeTokenSchema(StrictSchema):
    reason = Text(load_default="", validate=validate.Length(max=2000))
