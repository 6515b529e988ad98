"""Sharing with guests (project admins): ``/projects/<id>/guest-links`` lists the
project's review links with their guests and makes new ones (one asset or a chosen set,
an expiry, view or comment); a link can be revoked. The same commands as
``/api/projects/{id}/guest-links``."""

from __future__ import annotations

from flask import Response, request
from marshmallow import fields, validate

from app.api.guests import guest_url
from app.api.reading import project_as_member, wait_for_projections
from app.context import services
from app.schemas.guests import GuestLinkSchema
from app.studio.forms import EmptyForm, form_body, form_meta
from app.studio.web import (
    PageQuery,
    answered,
    page_args,
    principal,
    render_page,
    signed_in,
    studio_blueprint,
    wants_json,
)
from commands import guests
from commands.state import parse_id
from events.errors import NotFound
from projections import queries
from projections.registry import GUESTS, SEARCH, TREE
from rules.access import ADMIN

blueprint = studio_blueprint("studio_sharing", __name__)
EXPIRY_DAYS = ((1, "1 day"), (7, "7 days"), (30, "30 days"), (90, "90 days"))


class SharingQuery(PageQuery):
    asset = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=200))


def _admin_project(project_id: str) -> dict:
    project, _ = project_as_member(principal(), project_id, ADMIN)
    return project


@blueprint.get("/projects/<project_id>/guest-links")
@signed_in
def guest_links(project_id: str) -> str:
    """The project's review links and a form for a new one (admins)."""
    project_id = parse_id(project_id, "project")
    args = page_args(SharingQuery)
    project = _admin_project(project_id)
    wait_for_projections((*GUESTS, *TREE, *SEARCH), args["min_position"])
    engine = services().engine
    cards = queries.project_board(engine, project_id, ["default"], limit=200)["cards"]
    names = {card["asset_id"]: card["name"] for card in cards}
    chosen = {str(asset_id) for asset_id in args["asset"]} & set(names)
    return render_page("studio/guest_links.html", project=project, cards=cards,
                       asset_names=names, links=queries.project_guest_links(engine, project_id),
                       expiry_days=EXPIRY_DAYS, chosen=chosen)


@blueprint.post("/projects/<project_id>/guest-links")
@signed_in
def create_guest_link(project_id: str) -> Response | str:
    """Make a review link; its URL is shown this once (only a hash of it is kept)."""
    project_id = parse_id(project_id, "project")
    data = form_body(GuestLinkSchema, floats=("expires_in_days",), omit=("asset_ids",),
                     extra={"asset_ids": request.form.getlist("asset_ids")})
    link, position = guests.create_guest_link(services().store, principal(), form_meta(),
                                              project_id, **data)
    if "code" not in link:  # the same form sent twice: the secret was shown the first time
        return answered(f"/projects/{project_id}/guest-links?min_position={position}",
                        link, 200)
    link["url"] = guest_url(link.pop("code"))
    if wants_json():
        return answered("", link, 201)
    project = _admin_project(project_id)
    wait_for_projections(TREE, position)
    names = queries.asset_names(services().engine, link["asset_ids"])
    return render_page("studio/guest_link_created.html", project=project, link=link,
                       asset_names=names)


@blueprint.post("/guest-links/<link_id>/revoke")
@signed_in
def revoke_guest_link(link_id: str) -> Response:
    """Revoke a review link: its pages answer 404 from now on."""
    if not guests.LINK_ID.fullmatch(link_id):
        raise NotFound(guests.LINK_GONE)
    form_body(EmptyForm)
    state, _ = guests.load_link(services().store, link_id)
    position = guests.revoke_guest_link(services().store, principal(), form_meta(), link_id)
    project_id = state.created.project_id
    return answered(f"/projects/{project_id}/guest-links"
                    + (f"?min_position={position}" if position else ""),
                    {"link_id": link_id, "revoked": True, "position": position})
