"""Users and API tokens: admins create users; callers issue and revoke their own tokens."""

from __future__ import annotations

from flask import Blueprint, Response, request
from marshmallow import fields, validate

from app.api.openapi import documented
from app.api.reading import (
    ReadQuery,
    caught_up,
    read_args,
    read_response,
    wait_for_projections,
)
from app.api.views import body, meta, path_id, written
from app.auth import current_principal
from app.context import services
from app.http import respond
from app.schemas.common import Name
from app.schemas.responses import MeOut, PageOut, PersonOut, TokenOut, UserOut
from app.schemas.users import RevokeTokenSchema, TokenCreateSchema, UserCreateSchema
from commands import users
from events.errors import NotFound
from projections import access
from projections.access import shared_projects, user_names

blueprint = Blueprint("users", __name__)
TAGS = ("users",)
USER_SEARCH_LIMIT = 20
"""The most people one search answers: a narrower name finds the others, and nobody
reads the directory page by page."""


@blueprint.post("/users")
@documented("Create a user and their first token, shown once (global admins)",
            body=UserCreateSchema, status=201, tags=TAGS, idempotent_key=True,
            errors=(401, 403, 409, 422), response=UserOut)
def create_user() -> Response:
    data = body(UserCreateSchema)
    user, token = users.create_user_as(services().store, current_principal(), meta(),
                                          data["name"], is_admin=data["is_admin"])
    return written({"user_id": user.user_id, "name": user.name, "is_admin": user.is_admin,
                    **users.token_body(token)}, 201)


@blueprint.get("/users/me")
@documented("Who the token belongs to", tags=TAGS, errors=(401,), response=MeOut)
def me() -> Response:
    principal = current_principal()
    return respond({"user_id": principal.user_id, "name": principal.name,
                    "is_admin": principal.is_admin, "token_id": principal.token_id})


class UserSearchQuery(ReadQuery):
    q = Name(required=True, strip=True, validate=validate.Length(2, 100),
             metadata={"description": "part of a name (at least 2 characters, any case)"})
    limit = fields.Integer(load_default=10, validate=validate.Range(1, USER_SEARCH_LIMIT))


@blueprint.get("/users")
@documented("Find people by name: those whose name contains q, among the members of your "
            "projects (anyone, for global admins); names starting with q first, at most "
            f"{USER_SEARCH_LIMIT}", tags=TAGS, query=UserSearchQuery, errors=(401, 422),
            response=PageOut)
def find_users() -> Response:
    principal = current_principal()
    args = read_args(UserSearchQuery)
    # Caught up to the head this request found: someone just added or registered is found.
    freshness = caught_up(("access",))
    found = access.find_users(services().engine,
                              None if principal.is_admin else principal.user_id,
                              args["q"], args["limit"])
    return read_response({"items": found, "next_cursor": None}, freshness)


@blueprint.get("/users/<user_id>")
@documented("A person by id: their name and the projects you share with the role they "
            "hold in each (yourself, people in a project of yours, anyone for global "
            "admins); 404 otherwise", tags=TAGS, query=ReadQuery, errors=(401, 404, 422),
            response=PersonOut)
def get_user(user_id: str) -> Response:
    principal = current_principal()
    user_id = path_id(user_id, "user")
    args = read_args(ReadQuery)
    lineage = services()
    freshness = wait_for_projections(("access",), args["min_position"])
    shared = shared_projects(lineage.engine, None if principal.is_admin else principal.user_id,
                             user_id)
    name = user_names(lineage.engine, {user_id}).get(user_id)
    if name is None or not (shared or principal.is_admin or user_id == principal.user_id):
        raise NotFound(f"user {user_id} does not exist")
    return read_response({"user_id": user_id, "name": name, "projects": shared}, freshness)


@blueprint.post("/tokens")
@documented("Issue yourself another token (shown once)", body=TokenCreateSchema, status=201,
            tags=TAGS, idempotent_key=True, errors=(401, 409, 422), response=TokenOut)
def issue_token() -> Response:
    data = body(TokenCreateSchema)
    token = users.issue_own_token(services().store, current_principal(), meta(),
                                     data["label"])
    return written(users.token_body(token), 201)


@blueprint.delete("/tokens/<token_id>")
@documented("Revoke one of your tokens (any token, for global admins); optional JSON "
            "{reason}", status=204, tags=TAGS, errors=(401, 404, 422))
def revoke_token(token_id: str) -> Response:
    principal = current_principal()
    reason = body(RevokeTokenSchema)["reason"] if _has_body() else ""
    users.revoke_token_as(services().store, principal, token_id, reason)
    return Response(status=204)


def _has_body() -> bool:
    return bool(request.get_data(cache=True))
