"""The delivery dashboard, ``/projects/<id>/dashboard`` (members): approved assets per
day, drafts per final, time to first approval, finals per approved asset against the
cap, compute per approved asset and the review backlog, as SVG charts drawn here with
their numbers in a table beside each; ``?range=`` 7, 30, 90 days or all;
``/projects/<id>/dashboard.csv`` the same figures as CSV.

The figures come from the same query as ``GET /api/projects/{id}/metrics`` (see
:mod:`app.studio.dashboard_figures` for what the range narrows).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from flask import Response
from marshmallow import fields, validate

from app.api.reading import project_as_member, wait_for_projections
from app.context import services
from app.studio.dashboard_figures import RANGES, csv_rows, dashboard
from app.studio.web import PageQuery, page_args, principal, render_page, signed_in, studio_blueprint
from commands.state import parse_id
from projections import queries
from projections.backlog import review_backlog
from projections.registry import METRICS, TREE

blueprint = studio_blueprint("studio_making_dashboard", __name__)


class DashboardQuery(PageQuery):
    range = fields.String(load_default="30", validate=validate.OneOf(list(RANGES)))


def _figures(project_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    project_id = parse_id(project_id, "project")
    args = page_args(DashboardQuery)
    lineage = services()
    project, _ = project_as_member(principal(), project_id)
    wait_for_projections((*METRICS, *TREE), args["min_position"])
    metrics = queries.project_metrics(lineage.engine, project_id)
    now = datetime.now(UTC)
    with lineage.engine.connect() as conn:
        backlog = review_backlog(conn, project_id, now)
    return project, dashboard(metrics, project["policies"], backlog, args["range"], now)


@blueprint.get("/projects/<project_id>/dashboard")
@signed_in
def dashboard_page(project_id: str) -> str:
    """The dashboard page."""
    project, figures = _figures(project_id)
    return render_page("studio/dashboard.html", project=project, figures=figures)


def _cell(value: Any) -> Any:  # noqa: ANN401
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # a spreadsheet must not run a name as a formula
    return "" if value is None else value


@blueprint.get("/projects/<project_id>/dashboard.csv")
@signed_in
def dashboard_csv(project_id: str) -> Response:
    """The dashboard's figures as CSV (section, figure, value)."""
    project, figures = _figures(project_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(("section", "figure", "value"))
    writer.writerows(tuple(_cell(v) for v in row) for row in csv_rows(figures))
    name = f"dashboard-{project['project_id']}-{figures['range']}.csv"
    return Response(buffer.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
