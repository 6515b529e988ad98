"""Job lists from the jobs read model, newest first, paged with ``limit`` and ``cursor``
and filtered by ``status`` (one or several, comma-separated):
GET /api/assets/{id}/jobs, GET /api/projects/{id}/jobs (members: viewer and up; 404 for
anyone else) and GET /api/users/me/jobs (the caller's own, in the projects they still
belong to)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response
from marshmallow import ValidationError, fields, validate

from app.api.openapi import documented
from app.api.reading import ReadQuery, read_args, read_response, wait_for_projections
from app.auth import current_principal
from app.context import services
from app.http import decode_cursor, encode_cursor
from commands.jobs import STATUSES
from commands.membership import require_asset_member, require_member
from commands.state import parse_id
from projections import queries
from projections.access import visible_projects
from projections.registry import JOBS

blueprint = Blueprint("job_lists", __name__)
TAGS = ("jobs",)


class JobListQuery(ReadQuery):
    status = fields.String(load_default=None, validate=validate.Length(1, 200), metadata={
        "description": f"comma-separated statuses to keep: {', '.join(STATUSES)}"})
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))


def _listed(scope: Callable[[], dict[str, Any]]) -> Response:
    """One page of the jobs in ``scope()`` (filters of projections.jobs.list_jobs, read
    once the projections caught up with ``?min_position=``)."""
    args = read_args(JobListQuery)
    statuses = _statuses(args["status"])
    before = (decode_cursor(args["cursor"]) or {}).get("before")
    if before is not None and (isinstance(before, bool) or not isinstance(before, int)):
        raise ValidationError({"cursor": ["the cursor is not one this server produced"]})
    freshness = wait_for_projections((*JOBS, "access"), args["min_position"])
    items, last = queries.job_list(services().engine, statuses=statuses, before=before,
                                   limit=args["limit"], **scope())
    body = {"items": items,
            "next_cursor": encode_cursor({"before": last}) if last is not None else None}
    return read_response(body, freshness)


def _statuses(value: str | None) -> list[str]:
    if value is None:
        return []
    wanted = [part.strip() for part in value.split(",") if part.strip()]
    unknown = sorted(set(wanted) - set(STATUSES))
    if unknown or not wanted:
        raise ValidationError({"status": [
            f"unknown status {', '.join(unknown) or '(empty)'}; use one or more of "
            f"{', '.join(STATUSES)}, comma-separated"]})
    return wanted


@blueprint.get("/assets/<asset_id>/jobs")
@documented("The asset's jobs, newest first; ?status= filters (viewer)", tags=TAGS,
            query=JobListQuery)
def asset_jobs(asset_id: str) -> Response:
    asset_id = parse_id(asset_id, "asset")
    require_asset_member(services().store, current_principal(), asset_id)
    return _listed(lambda: {"asset_id": asset_id})


@blueprint.get("/projects/<project_id>/jobs")
@documented("The project's jobs, newest first; ?status= filters (viewer)", tags=TAGS,
            query=JobListQuery)
def project_jobs(project_id: str) -> Response:
    project_id = parse_id(project_id, "project")
    require_member(services().store, current_principal(), project_id)
    return _listed(lambda: {"project_ids": [project_id]})


@blueprint.get("/users/me/jobs")
@documented("The caller's own jobs, newest first, in the projects they belong to; "
            "?status= filters", tags=TAGS, query=JobListQuery)
def my_jobs() -> Response:
    principal = current_principal()
    return _listed(lambda: {
        "requested_by": principal.user_id,
        "project_ids": visible_projects(services().engine, principal.user_id,
                                        principal.is_admin)})
