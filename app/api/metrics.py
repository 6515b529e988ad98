"""GET /api/projects/{id}/metrics: drafts and finals, draft-to-final ratio, time to first
approval (median, p90), compute seconds per approved asset, approvals per day, rounds of
changes requested before approval — per asset and overall."""

from __future__ import annotations

from flask import Blueprint, Response

from app.api.openapi import documented
from app.api.reading import ReadQuery, read_args, read_response, wait_for_projections
from app.auth import current_principal
from app.context import services
from commands.membership import require_member
from commands.state import parse_id
from projections import queries
from projections.registry import METRICS

blueprint = Blueprint("metrics", __name__)


@blueprint.get("/projects/<project_id>/metrics")
@documented("Drafts/finals, time to first approval, compute per approved asset, "
            "approvals per day, rounds of changes", tags=("read side",), query=ReadQuery)
def project_metrics(project_id: str) -> Response:
    principal = current_principal()
    lineage = services()
    project_id = parse_id(project_id, "project")
    args = read_args(ReadQuery)
    require_member(lineage.store, principal, project_id)
    freshness = wait_for_projections(METRICS, args["min_position"])
    return read_response(queries.project_metrics(lineage.engine, project_id), freshness)
