"""Version trees: GET /api/assets/{id}/tree (optionally ``?as_of=``) and
GET /api/versions/{id}/lineage (the chain root → version with each step's recipe)."""

from __future__ import annotations

from flask import Blueprint, Response

from app.api.openapi import documented
from app.api.reading import (
    AsOfQuery,
    ReadQuery,
    asset_view_as_of,
    read_args,
    read_response,
    wait_for_projections,
)
from app.auth import current_principal
from app.context import services
from commands.membership import require_version_member
from commands.state import parse_id
from projections import queries
from projections.registry import TREE

blueprint = Blueprint("trees", __name__)


@blueprint.get("/assets/<asset_id>/tree")
@documented("The asset's version tree (now or ?as_of=): nodes with children, roots, "
            "branch heads, approved and pinned versions", tags=("read side",), query=AsOfQuery)
def asset_tree(asset_id: str) -> Response:
    """Nodes (operation, tier, author, time, thumbnail, children), roots, branch heads,
    approved and pinned versions. 404 for unknown assets and non-members."""
    return asset_view_as_of(asset_id, queries.tree)


@blueprint.get("/versions/<version_id>/lineage")
@documented("The chain from the root to this version, each step with its recipe",
            tags=("read side",), query=ReadQuery)
def version_lineage(version_id: str) -> Response:
    """The chain from the root to this version; 404 for unknown versions and strangers."""
    principal = current_principal()
    lineage = services()
    version_id = parse_id(version_id, "version")
    args = read_args(ReadQuery)
    require_version_member(lineage.store, principal, version_id)
    freshness = wait_for_projections(TREE, args["min_position"])
    return read_response(queries.lineage(lineage.engine, version_id), freshness)
