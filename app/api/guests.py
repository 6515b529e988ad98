"""Guest review links (admin): share chosen assets of a project with people outside it.

POST /api/projects/{id}/guest-links answers the link's URL once (only a hash of its
secret is kept); GET lists the project's links with their guests' names; DELETE
/api/guest-links/{id} revokes one (its pages then answer 404).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from app.api.openapi import documented
from app.api.reading import ReadQuery, read_args, read_response, wait_for_projections
from app.api.views import body, meta, path_id, written
from app.auth import current_principal
from app.context import services
from app.schemas.guests import GuestLinkSchema
from commands import guests
from commands.membership import require_member
from events.errors import NotFound
from projections import queries
from projections.registry import GUESTS
from rules.access import ADMIN

blueprint = Blueprint("guest_links", __name__)
TAGS = ("guest links",)


def guest_url(code: str) -> str:
    """Where a guest opens a link (on this server)."""
    return f"{request.host_url.rstrip('/')}/g/{code}"


@blueprint.post("/projects/<project_id>/guest-links")
@documented("Create a guest review link for some of the project's assets (admin); the "
            "answer holds its URL, shown only this once", body=GuestLinkSchema, status=201,
            tags=TAGS, idempotent_key=True, errors=(401, 403, 404, 409, 422))
def create_link(project_id: str) -> Response:
    project_id = path_id(project_id, "project")
    data = body(GuestLinkSchema)
    link, position = guests.create_guest_link(services().store, current_principal(), meta(),
                                              project_id, **data)
    if "code" in link:
        link["url"] = guest_url(link.pop("code"))
    return written(link, 201, position=position)


@blueprint.get("/projects/<project_id>/guest-links")
@documented("The project's guest review links with their guests' names (admin)",
            tags=TAGS, query=ReadQuery)
def list_links(project_id: str) -> Response:
    project_id = path_id(project_id, "project")
    args = read_args(ReadQuery)
    require_member(services().store, current_principal(), project_id, needed=ADMIN)
    freshness = wait_for_projections(GUESTS, args["min_position"])
    links = queries.project_guest_links(services().engine, project_id)
    return read_response({"project_id": project_id, "items": links}, freshness)


@blueprint.delete("/guest-links/<link_id>")
@documented("Revoke a guest review link (admin); its pages answer 404 from now on",
            status=204, tags=TAGS, idempotent_key=True, errors=(401, 403, 404))
def revoke_link(link_id: str) -> Response:
    if not guests.LINK_ID.fullmatch(link_id):
        raise NotFound(guests.LINK_GONE)
    position = guests.revoke_guest_link(services().store, current_principal(), meta(),
                                        link_id)
    response = Response(status=204)
    if position is not None:
        response.headers["Lineage-Position"] = str(position)
    return response
