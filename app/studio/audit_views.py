"""The audit page, ``/audit``: who did what, when, filtered by person, project, asset,
action and time, with people by name and a CSV export of the same filters.

Reads what ``GET /api/audit`` answers (the same query, limited to the caller's projects
the same way); the export link is ``GET /api/audit/export?format=csv`` with the filters.
"""

from __future__ import annotations

from flask import request
from marshmallow import fields, validate

from app.api.audit import AuditArgs, audit_query
from app.api.reading import wait_for_projections
from app.context import services
from app.http import encode_cursor
from app.studio.audit_text import ACTIONS, people_in, what, who
from app.studio.display_names import display_names
from app.studio.web import page_args, principal, render_page, signed_in, studio_blueprint, url_with
from projections import queries
from projections.access import visible_projects
from projections.registry import AUDIT

blueprint = studio_blueprint("studio_audit", __name__)
FILTERS = ("project", "asset", "actor", "type", "from", "to")


class AuditPageQuery(AuditArgs):
    fragment = fields.String(load_default=None, validate=validate.Length(max=40))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


@blueprint.get("/audit")
@signed_in
def audit_page() -> str:
    """The audit trail of the projects the caller belongs to (everything for admins)."""
    args = page_args(AuditPageQuery)
    lineage = services()
    person = principal()
    wait_for_projections((*AUDIT, "access"), args["min_position"])
    query = audit_query(args)
    page = queries.audit(lineage.engine, query)
    entries = page["items"]
    names = display_names(lineage.engine, people_in(entries))
    assets = queries.asset_names(lineage.engine, [e["asset_id"] for e in entries
                                                  if e["asset_id"]])
    mine = visible_projects(lineage.engine, person.user_id, person.is_admin)
    projects = queries.project_names(lineage.engine, person.user_id, person.is_admin)
    filters = {key: request.args.get(key) or None for key in FILTERS}
    rows = [{**entry, "who": who(entry, names), "what": what(entry, names),
             "asset_name": assets.get(entry["asset_id"] or "")} for entry in entries]
    next_after = page["next_after"]
    return render_page(
        "studio/audit.html", fragments=("audit_rows",), rows=rows, filters=filters,
        actions=ACTIONS, projects=projects,
        people=queries.users_of_projects(lineage.engine, mine),
        export_url=url_with("/api/audit/export", format="csv", **filters),
        next_url=url_with("/audit", **filters, cursor=encode_cursor({"after": next_after}))
        if next_after is not None else None,
        filter_url=lambda **changes: url_with("/audit", **{**filters, **changes}),
        names=names)
