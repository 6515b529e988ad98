"""Request bodies of guest review links."""

from __future__ import annotations

from marshmallow import fields, validate

from app.schemas.common import Float, Id, StrictSchema, Text
from commands.guests import MAX_DAYS
from events.guests import GUEST_PERMISSIONS


class GuestLinkSchema(StrictSchema):
    asset_ids = fields.List(Id(), required=True, validate=validate.Length(1, 200),
                            metadata={"description": "the assets the guest may see"})
    permission = fields.String(load_default="view", validate=validate.OneOf(GUEST_PERMISSIONS),
                               metadata={"description": "view, or comment (view and "
                                                        "comment); guests never decide"})
    expires_in_days = Float(load_default=7.0, validate=validate.Range(
        0, MAX_DAYS, min_inclusive=False), metadata={"description": f"1..{MAX_DAYS} days"})
    label = Text(load_default="", validate=validate.Length(max=200))
