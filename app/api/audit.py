"""The audit trail: GET /api/audit?project=&asset=&actor=&type=&from=&to=&limit=&cursor=
and GET /api/audit/export?format=csv|json (same filters, every entry, streamed).

Entries say who did what, when, with which role, on which content hash; approvals say
whether and by whom they were revoked. Callers see only their projects' entries; global
admins see everything, including entries outside projects (users, tokens).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, stream_with_context
from marshmallow import fields, validate

from app.api.openapi import documented
from app.api.reading import (
    ReadQuery,
    UtcDateTime,
    read_args,
    read_response,
    wait_for_projections,
)
from app.api.views import cursor_int
from app.auth import current_principal
from app.context import services
from app.http import decode_cursor, encode_cursor
from commands.membership import require_asset_member, require_member
from projections import queries
from projections.access import visible_projects
from projections.audit import AUDIT_EVENT_TYPES
from projections.audit_queries import AuditQuery, type_choices
from projections.registry import AUDIT

blueprint = Blueprint("audit", __name__)
TYPE_CHOICES = type_choices(AUDIT_EVENT_TYPES)


class AuditArgs(ReadQuery):
    project = fields.UUID(load_default=None)
    asset = fields.UUID(load_default=None)
    actor = fields.String(load_default=None, validate=validate.Length(max=80))
    type = fields.String(load_default=None, validate=validate.OneOf(
        TYPE_CHOICES, error="unknown type {input!r}; use one of: {choices}"), metadata={
        "description": "what happened: approved, changes_requested, rejected, revoked, "
                       "commented, generated, edited, uploaded, pinned, an area such as "
                       "'decision', or an exact event type such as 'decision.recorded'"})
    since = UtcDateTime(load_default=None, data_key="from")
    until = UtcDateTime(load_default=None, data_key="to")
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))


class ExportArgs(AuditArgs):
    format = fields.String(load_default="json", validate=validate.OneOf(("csv", "json")))


def audit_query(args: dict[str, Any]) -> AuditQuery:
    """The caller's query, limited to what they may see (NotFound for foreign ids)."""
    principal = current_principal()
    lineage = services()
    projects: list[str] | None
    if args["asset"] is not None:
        projects = [require_asset_member(lineage.store, principal, str(args["asset"]))]
        if args["project"] is not None and str(args["project"]) != projects[0]:
            projects = []
    elif args["project"] is not None:
        require_member(lineage.store, principal, str(args["project"]))
        projects = [str(args["project"])]
    else:
        projects = visible_projects(lineage.engine, principal.user_id, principal.is_admin)
    after = cursor_int(decode_cursor(args["cursor"]), "after")
    return AuditQuery(
        projects=projects, asset=str(args["asset"]) if args["asset"] else None,
        actor=args["actor"], event_type=args["type"], since=args["since"],
        until=args["until"], after=after,
        limit=args["limit"])


@blueprint.get("/audit")
@documented("Audit entries: who did what, when, with which role, on which "
            "content hash; revocations of approvals", tags=("read side",), query=AuditArgs)
def audit() -> Response:
    args = read_args(AuditArgs)
    freshness = wait_for_projections((*AUDIT, "access"), args["min_position"])
    page = queries.audit(services().engine, audit_query(args))
    after = page.pop("next_after")
    page["next_cursor"] = encode_cursor({"after": after}) if after is not None else None
    return read_response(page, freshness)


@blueprint.get("/audit/export")
@documented("Every matching audit entry as CSV or JSON", tags=("read side",),
            query=ExportArgs)
def export() -> Response:
    args = read_args(ExportArgs)
    freshness = wait_for_projections((*AUDIT, "access"), args["min_position"])
    query = audit_query(args)
    chunks = queries.audit_export(services().engine, query, args["format"])
    mimetype = "text/csv" if args["format"] == "csv" else "application/json"
    response = Response(stream_with_context(chunks), mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="lineage-audit.{args["format"]}"')
    response.headers["Lineage-Projection-Position"] = str(freshness.position)
    response.headers["Lineage-Projection-Behind"] = str(freshness.behind)
    return response
