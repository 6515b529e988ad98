"""GET /api/assets/{id}/review[?as_of=]: comments, decisions and state per version, the
approved version per channel and the pins. "Which version did we agree on at 14:05?"
is ``?as_of=…T14:05``."""

from __future__ import annotations

from flask import Blueprint, Response

from app.api.openapi import documented
from app.api.reading import AsOfQuery, asset_view_as_of
from projections import queries

blueprint = Blueprint("review_state", __name__)


@blueprint.get("/assets/<asset_id>/review")
@documented("Review state (now or ?as_of=): comments, decisions and state per "
            "version; the approved version per channel; pins", tags=("read side",), query=AsOfQuery)
def asset_review(asset_id: str) -> Response:
    return asset_view_as_of(asset_id, queries.review)
