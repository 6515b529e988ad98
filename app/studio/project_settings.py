"""Project settings, ``/projects/<id>/settings`` (project admins; other members get
403, strangers 404): members and their roles, the draft-first policy, the cap on
finals, the compute budget, prices per compute-second per tier, and delivery channels
with their sizes.

Each form posts to the command behind its JSON twin (``PUT``/``DELETE /api/projects/
{id}/members/{user}``, ``PATCH /api/projects/{id}/policies``, ``PUT``/``DELETE
/api/projects/{id}/channels/{name}``), loaded through the same schemas: the same checks
and refusals. A person is added by name: the name typed is looked up among the people
``GET /api/users?q=`` would show the admin (members of their projects; everyone for a
global admin), so the page reveals no one the API would not.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response, request
from marshmallow import ValidationError, validate

from app.api.reading import caught_up, project_as_member, wait_for_projections
from app.context import services
from app.http import shared_schema
from app.schemas.common import Limits, Name, StrictSchema
from app.schemas.projects import CHANNEL_NAME, ChannelSchema, MemberSchema, PoliciesSchema
from app.studio.display_names import display_names
from app.studio.forms import EmptyForm, form_body, form_meta, number
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
from commands import projects
from commands.state import parse_id
from projections.access import find_users, known_users
from rules.access import ADMIN, ROLES


class PersonNameSchema(StrictSchema):
    person = Name(required=True, strip=True, validate=validate.Length(2, 100))


blueprint = studio_blueprint("studio_project_settings", __name__)
POLICY_INTS = ("min_drafts_before_final", "final_render_cap")
POLICY_FLOATS = ("compute_budget_seconds", "draft_price_per_compute_second",
                 "final_price_per_compute_second")


def _admin_project(project_id: str) -> tuple[str, dict[str, Any]]:
    """The project, for one of its admins (NotFound for strangers, Forbidden below)."""
    project_id = parse_id(project_id, "project")
    project, _ = project_as_member(principal(), project_id, ADMIN)
    return project_id, project


@blueprint.get("/projects/<project_id>/settings")
@signed_in
def settings_page(project_id: str) -> str:
    """The settings page."""
    project_id, project = _admin_project(project_id)
    args = page_args(PageQuery)
    lineage = services()
    wait_for_projections(("access",), args["min_position"])
    person = principal()
    # Suggested at first: the people of the admin's projects (a global admin's too; the
    # page's people search suggests anyone else they may find as they type).
    people = known_users(lineage.engine, person.user_id, project_id)
    names = display_names(lineage.engine, {m["user_id"] for m in project["members"]})
    admins = sum(1 for m in project["members"] if m["role"] == ADMIN)
    return render_page("studio/settings.html", project=project, roles=ROLES, names=names,
                       people=people, admins=admins, me_id=person.user_id,
                       is_global_admin=person.is_admin)


def _back(project_id: str, position: int | None, section: str) -> str:
    return url_with(f"/projects/{project_id}/settings", min_position=position) + f"#{section}"


def _answer(project_id: str, result: tuple[dict[str, Any], int, int | None],
            section: str) -> Response:
    body, _, position = result
    return answered(_back(project_id, position, section), {**body, "position": position})


@blueprint.post("/projects/<project_id>/members")
@signed_in
def add_member(project_id: str) -> Response:
    """Give a person a role: the one whose name was typed, or the id typed."""
    project_id, _ = _admin_project(project_id)  # strangers 404 before any lookup
    typed_id = (request.form.get("user_id_text", "").strip()
                or request.form.get("user_id", "").strip())
    name = request.form.get("person", "").strip()
    if typed_id:
        user_id = parse_id(typed_id, "user")
    elif name:
        user_id = _person_named(name)
    else:
        raise ValidationError({"person": ["type a person's name or their user id"]})
    data = form_body(MemberSchema, omit=("person", "user_id", "user_id_text"))
    return _answer(project_id, projects.set_member_role(
        services().store, principal(), form_meta(), project_id, user_id, data["role"]),
        "members")


def _person_named(name: str) -> str:
    """The user id of the one person called ``name`` (any case) whom the signed-in
    admin may find; 422 when there is none or more than one."""
    person = principal()
    caught_up(("access",))
    text = shared_schema(PersonNameSchema).load({"person": name})["person"]
    found = find_users(services().engine, None if person.is_admin else person.user_id,
                       text, 20)
    same = [p for p in found if p["name"].casefold() == text.casefold()]
    if len(same) == 1:
        return same[0]["user_id"]
    if same:
        raise ValidationError({"person": [f"{len(same)} people are called {text!r}; add the "
                                          "one you mean by their user id"]})
    hint = f"; did you mean {', '.join(p['name'] for p in found[:5])}?" if found else ""
    raise ValidationError({"person": [f"no one called {text!r} among the people of your "
                                      f"projects{hint}"]})


@blueprint.post("/projects/<project_id>/members/<user_id>")
@signed_in
def change_member(project_id: str, user_id: str) -> Response:
    """Change a member's role."""
    project_id, user_id = parse_id(project_id, "project"), parse_id(user_id, "user")
    data = form_body(MemberSchema)
    return _answer(project_id, projects.set_member_role(
        services().store, principal(), form_meta(), project_id, user_id, data["role"]),
        "members")


@blueprint.post("/projects/<project_id>/members/<user_id>/remove")
@signed_in
def remove_member(project_id: str, user_id: str) -> Response:
    """Remove a member (the last admin cannot leave)."""
    project_id, user_id = parse_id(project_id, "project"), parse_id(user_id, "user")
    form_body(EmptyForm)
    return _answer(project_id, projects.remove_member(
        services().store, principal(), form_meta(), project_id, user_id), "members")


@blueprint.post("/projects/<project_id>/policies")
@signed_in
def set_policies(project_id: str) -> Response:
    """Set every policy the form shows: a blank field is "no limit" (or "no price")."""
    project_id = parse_id(project_id, "project")
    data: dict[str, Any] = {}
    for name in PoliciesSchema().fields:
        if name not in request.form:
            continue
        text = request.form[name].strip()
        if text == "":
            data[name] = None
        elif name in POLICY_INTS:
            data[name] = number(text, int)
        elif name in POLICY_FLOATS:
            data[name] = number(text, float)
        else:
            data[name] = text.upper()
    form_body(EmptyForm, omit=tuple(data))
    changes = shared_schema(PoliciesSchema, limits=Limits.from_settings(
        services().settings)).load(data)
    return _answer(project_id, projects.set_policies(
        services().store, principal(), form_meta(), project_id, changes), "policies")


@blueprint.post("/projects/<project_id>/channels")
@signed_in
def set_channel(project_id: str) -> Response:
    """Create or change a delivery channel's minimum size."""
    project_id = parse_id(project_id, "project")
    name = request.form.get("name", "").strip().lower()
    if not re.fullmatch(CHANNEL_NAME, name):
        raise ValidationError({"name": ["must be 1-40 lowercase letters, digits, '-' or '_', "
                                        "starting with a letter or digit"]})
    data = form_body(ChannelSchema, ints=("min_width", "min_height"), omit=("name",))
    return _answer(project_id, projects.set_channel(
        services().store, principal(), form_meta(), project_id, name, data["min_width"],
        data["min_height"]), "channels")


@blueprint.post("/projects/<project_id>/channels/<name>/remove")
@signed_in
def remove_channel(project_id: str, name: str) -> Response:
    """Stop offering a channel (the page asks to confirm first); its decisions stay in
    the audit."""
    project_id = parse_id(project_id, "project")
    form_body(EmptyForm)
    return _answer(project_id, projects.remove_channel(
        services().store, principal(), form_meta(), project_id, name), "channels")
