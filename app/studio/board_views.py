"""The studio's front pages: ``/`` (projects and my review queue) and
``/projects/<id>`` (the board: asset cards with their status per channel, filters by
status, tier and tag level, and a search box with tag facets); creating projects and
assets.

The board reads what ``GET /api/projects/{id}/board`` answers (the same query
functions): the catalog's asset search narrows the assets, the board query draws them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response
from marshmallow import fields, validate

from app.api.reading import project_as_member, wait_for_projections
from app.context import services
from app.schemas.assets import AssetCreateSchema
from app.schemas.projects import ProjectCreateSchema
from app.studio.display_names import display_names
from app.studio.forms import form_body, form_meta
from app.studio.web import (
    PageQuery,
    answered,
    page_args,
    principal,
    render_page,
    signed_in,
    studio_blueprint,
    url_with,
)
from commands import assets, projects
from commands.state import parse_id
from events.assets import TIERS
from projections import queries
from projections.board import STATUSES
from projections.registry import SEARCH, TREE
from rules.access import CREATOR, RANK

blueprint = studio_blueprint("studio_board", __name__)
BOARD_LIMIT = 200
STATUS_OPTIONS = ((None, "All assets"), ("needs_review", "Needs review"),
                  ("changes_requested", "Changes requested"), ("approved", "Approved"),
                  ("empty", "No versions yet"))


class BoardQuery(PageQuery):
    q = fields.String(load_default=None, validate=validate.Length(max=500))
    tag = fields.String(load_default=None, validate=validate.Length(1, 200))
    tier = fields.String(load_default=None, validate=validate.OneOf(TIERS))
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))


@blueprint.get("/")
@signed_in
def home() -> str:
    """Projects (with their newest images) and the versions waiting for my decision."""
    args = page_args(PageQuery)
    person = principal()
    wait_for_projections((*TREE, "access"), args["min_position"])
    engine = services().engine
    queue = queries.review_queue(engine, person.user_id, datetime.now(UTC))
    return render_page("studio/home.html", fragments=("queue",),
                       projects=queries.projects_overview(engine, person.user_id,
                                                          person.is_admin),
                       queue=queue,
                       names=display_names(engine, {item["author_id"] for item in queue}))


@blueprint.post("/projects")
@signed_in
def create_project() -> Response:
    data = form_body(ProjectCreateSchema)
    project, last = projects.create_project(services().store, principal(), form_meta(),
                                            **data)
    return answered(f"/projects/{project['project_id']}?min_position={last.position}",
                    {**project, "position": last.position}, 201)


@blueprint.get("/projects/<project_id>")
@signed_in
def board(project_id: str) -> str:
    """The board of one project (members only; strangers get 404)."""
    project_id = parse_id(project_id, "project")
    args = page_args(BoardQuery)
    lineage = services()
    project, _ = project_as_member(principal(), project_id)
    freshness = wait_for_projections((*TREE, *SEARCH), args["min_position"])
    board = queries.project_board(lineage.engine, project_id, _channels(project),
                                  q=args["q"], tag=args["tag"], tier=args["tier"],
                                  status=args["status"], limit=BOARD_LIMIT)
    filters = {key: args[key] for key in ("q", "tag", "tier", "status")}

    def board_url(**changes: Any) -> str:  # noqa: ANN401
        return url_with(f"/projects/{project_id}", **{**filters, **changes})

    taxonomy = queries.tag_levels(lineage.engine, project_id)
    return render_page(
        "studio/board.html", fragments=("cards",), project=project, cards=board["cards"],
        total=board["total"], status_counts=board["status_counts"],
        facets=sorted(board["facets"].items(), key=lambda item: (-item[1], item[0]))[:12],
        filters=filters, board_url=board_url, taxonomy=taxonomy, live_after=freshness.position,
        status_options=STATUS_OPTIONS,
        can_create=RANK[project["your_role"]] >= RANK[CREATOR])


def _channels(project: dict[str, Any]) -> list[str]:
    return [channel["name"] for channel in project["channels"]] or ["default"]


@blueprint.post("/projects/<project_id>/assets")
@signed_in
def create_asset(project_id: str) -> Response:
    project_id = parse_id(project_id, "project")
    data = form_body(AssetCreateSchema, lists=("tags",))
    asset, _, position = assets.create_asset(services().store, principal(), form_meta(),
                                             project_id, **data)
    return answered(f"/assets/{asset['asset_id']}?min_position={position}",
                    {**asset, "position": position}, 201)
