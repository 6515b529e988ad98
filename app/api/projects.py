"""Projects, members, policies and delivery channels."""

from __future__ import annotations

import re

from flask import Blueprint, Response
from marshmallow import ValidationError

from app.api.openapi import documented
from app.api.reading import caught_up, project_as_member, read_named
from app.api.views import body, cursor_int, meta, page, page_args, path_id, written
from app.auth import current_principal
from app.context import services
from app.http import expected_version, respond
from app.schemas.common import ListQuery, plain_name
from app.schemas.projects import (
    CHANNEL_NAME,
    ChannelSchema,
    MemberSchema,
    PoliciesSchema,
    ProjectCreateSchema,
)
from app.schemas.responses import PageOut, ProjectOut
from commands import projects
from events.errors import DomainError
from projections.access import projects_page
from projections.registry import ACCESS

blueprint = Blueprint("projects", __name__)
TAGS = ("projects",)
WRITE = {"idempotent_key": True, "if_match": True, "tags": TAGS,
         "errors": (401, 403, 404, 409, 422)}


@blueprint.post("/projects")
@documented("Create a project (you become its admin)", body=ProjectCreateSchema, status=201,
            tags=TAGS, idempotent_key=True, errors=(401, 409, 422), response=ProjectOut)
def create_project() -> Response:
    data = body(ProjectCreateSchema)
    project, last = projects.create_project(services().store, current_principal(),
                                            meta(), **data)
    return written(project, 201, version=project["version"], position=last.position,
                   location=f"/api/projects/{project['project_id']}")


@blueprint.get("/projects")
@documented("Projects you are a member of (all, for global admins)", query=ListQuery,
            tags=TAGS, errors=(401, 422), response=PageOut)
def list_projects() -> Response:
    limit, cursor = page_args()
    principal = current_principal()
    caught_up(ACCESS)
    visible = projects_page(services().engine, principal.user_id, principal.is_admin,
                            after=cursor_int(cursor, "after"), limit=limit + 1)
    chosen = visible[:limit]
    items = [{"project_id": pid, "name": name, "your_role": role}
             for _, pid, name, role in chosen]
    more = len(visible) > limit
    return page(items, {"after": chosen[-1][0]} if more else None)


@blueprint.get("/projects/<project_id>")
@documented("A project: members, policies, channels, compute used", tags=TAGS, response=ProjectOut)
def get_project(project_id: str) -> Response:
    project_id = path_id(project_id, "project")
    project, version = project_as_member(current_principal(), project_id)
    return respond(read_named(project), version=version)


def _answer(result) -> Response:  # noqa: ANN001
    project, version, position = result
    return written(project, version=version, position=position)


@blueprint.patch("/projects/<project_id>/policies")
@documented("Set policies (admin); null removes a limit", body=PoliciesSchema, **WRITE,
            response=ProjectOut)
def set_policies(project_id: str) -> Response:
    project_id = path_id(project_id, "project")
    data = body(PoliciesSchema)
    return _answer(projects.set_policies(services().store, current_principal(), meta(),
                                         project_id, data, if_match=expected_version()))


@blueprint.put("/projects/<project_id>/channels/<name>")
@documented("Create or change a delivery channel's minimum size (admin)", body=ChannelSchema,
            **WRITE, response=ProjectOut)
def set_channel(project_id: str, name: str) -> Response:
    project_id = path_id(project_id, "project")
    name = _channel_name(name)
    data = body(ChannelSchema)
    return _answer(projects.set_channel(services().store, current_principal(), meta(),
                                        project_id, name, data["min_width"], data["min_height"],
                                        if_match=expected_version()))


@blueprint.delete("/projects/<project_id>/channels/<name>")
@documented("Remove a delivery channel (admin): it is no longer offered and its approvals "
            "stop standing; the decisions stay in the log and the audit", **WRITE,
            response=ProjectOut)
def remove_channel(project_id: str, name: str) -> Response:
    project_id = path_id(project_id, "project")
    name = _channel_name(name)
    return _answer(projects.remove_channel(services().store, current_principal(), meta(),
                                           project_id, name, if_match=expected_version()))


def _channel_name(name: str) -> str:
    """A channel name from the path; 422 naming ``name`` when it cannot be one."""
    try:
        plain_name(name)
    except ValidationError as error:
        raise ValidationError({"name": error.messages}) from None
    if not re.fullmatch(CHANNEL_NAME, name):
        raise DomainError(f"channel name {name[:80]!r} must be 1-40 lowercase letters, digits, "
                          "'-' or '_', starting with a letter or digit", field="name")
    return name


@blueprint.put("/projects/<project_id>/members/<user_id>")
@documented("Give a user a role in the project (admin)", body=MemberSchema, **WRITE,
            response=ProjectOut)
def set_member(project_id: str, user_id: str) -> Response:
    project_id = path_id(project_id, "project")
    user_id = path_id(user_id, "user")
    data = body(MemberSchema)
    return _answer(projects.set_member_role(services().store, current_principal(),
                                            meta(), project_id, user_id, data["role"],
                                            if_match=expected_version()))


@blueprint.delete("/projects/<project_id>/members/<user_id>")
@documented("Remove a member (admin); the last admin cannot leave", **WRITE, response=ProjectOut)
def remove_member(project_id: str, user_id: str) -> Response:
    project_id = path_id(project_id, "project")
    user_id = path_id(user_id, "user")
    return _answer(projects.remove_member(services().store, current_principal(), meta(),
                                          project_id, user_id, if_match=expected_version()))
