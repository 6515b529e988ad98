"""GET /api/assets/{id}/review[?as_of=]: comments, decisions and state per version, the
approved version per channel and the pins. "Which version did we agree on at 14:05?"
is ``?as_of=…T14:05``."""

from __future__ import annotations

from flask import Blueprint, Response

from app.api.openapi import documented
from app.api.reading import AsOfQuery, read_response, wait_for_projections
from app.auth import current_principal
from app.context import services
from app.http import query_args
from commands.state import parse_id
from projections import queries
from projections.access import require_asset_member
from projections.registry import SEARCH, TREE

blueprint = Blueprint("review_state", __name__)


@blueprint.get("/assets/<asset_id>/review")
@documented("Review state (now or ?as_of=): comments, decisions and state per "
            "version; the approved version per channel; pins", tags=("read side",), query=AsOfQuery)
def asset_review(asset_id: str) -> Response:
    principal = current_principal()
    lineage = services()
    asset_id = parse_id(asset_id, "asset")
    args = query_args(AsOfQuery())
    require_asset_member(lineage.store, principal, asset_id)
    # As-of answers read the asset's tags from the catalog's tag history.
    names = TREE if args["as_of"] is None else (*TREE, *SEARCH)
    freshness = wait_for_projections(names, args["min_position"], args["as_of"])
    body = queries.review(lineage.engine, asset_id, args["as_of"])
    if args["as_of"] is not None:
        body["as_of"] = args["as_of"].isoformat()
    return read_response(body, freshness)
