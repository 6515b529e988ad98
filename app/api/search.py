"""Catalog search and the tag tree.

GET /api/search?q=&tag=&tag=…&operation=&tier=&model=&sampler=&tool=&author=&status=
&approved=&from=&to=&project=&collapse=seed&facets=true&as_of=&limit=&cursor=
&kind=version|asset over the versions (or assets) of the projects the caller belongs to; GET
/api/projects/{id}/taxonomy.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from marshmallow import ValidationError, fields, validate, validates_schema

from app.api.openapi import documented
from app.api.reading import (
    AsOfQuery,
    ReadQuery,
    UtcDateTime,
    read_args,
    read_named,
    read_response,
    wait_for_projections,
)
from app.auth import current_principal
from app.context import services
from app.http import decode_cursor, encode_cursor, shared_schema
from commands.membership import require_member
from commands.state import parse_id
from events.assets import OPERATIONS, TIERS
from events.reviews import DECISIONS
from projections import queries
from projections.access import visible_projects
from projections.registry import SEARCH
from projections.search import SearchQuery

blueprint = Blueprint("search", __name__)
MAX_OFFSET = 10_000
MAX_TAGS = 10
KINDS = ("version", "asset")
"""What a search answers with: versions (the default) or assets."""


class SearchArgs(AsOfQuery):
    q = fields.String(load_default=None, validate=validate.Length(max=500))
    tag = fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                      load_default=list, validate=validate.Length(max=MAX_TAGS))
    operation = fields.String(load_default=None, validate=validate.OneOf(OPERATIONS))
    tier = fields.String(load_default=None, validate=validate.OneOf(TIERS))
    model = fields.String(load_default=None, validate=validate.Length(max=200))
    sampler = fields.String(load_default=None, validate=validate.Length(max=80))
    tool = fields.String(load_default=None, validate=validate.Length(max=40), metadata={
        "description": "lineage, or the tool whose metadata an upload carried "
                       "(automatic1111, forge, comfyui, invokeai)"})
    author = fields.String(load_default=None, validate=validate.Length(max=80))
    status = fields.String(load_default=None,
                           validate=validate.OneOf(("none", *DECISIONS)))
    approved = fields.Boolean(load_default=None)
    created_from = UtcDateTime(load_default=None, data_key="from")
    created_to = UtcDateTime(load_default=None, data_key="to")
    project = fields.UUID(load_default=None)
    collapse = fields.String(load_default=None, validate=validate.OneOf(("seed",)))
    facets = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))
    kind = fields.String(load_default="version", validate=validate.OneOf(KINDS))

    @validates_schema
    def _collapse_needs_versions(self, data: dict, **kwargs: object) -> None:
        if data.get("kind") == "asset" and data.get("collapse") is not None:
            raise ValidationError(
                "collapse=seed groups versions that differ only by seed; "
                "it cannot be combined with kind=asset", "collapse")


@blueprint.get("/search")
@documented("Search versions (or assets with kind=asset): free text, tags (any level; "
            "repeat tag= to require several), filters, facets, collapse=seed, as_of",
            tags=("read side",), query=SearchArgs)
def search() -> Response:
    """Versions matching every given filter, best match first (newest first without
    ``q``); ``next_cursor`` pages on. ``kind=asset`` answers assets instead (see
    :mod:`projections.asset_search`: the version filters keep assets with a matching
    version; ``collapse`` is refused). Only projects the caller belongs to are
    searched; naming another project answers 404."""
    principal = current_principal()
    lineage = services()
    args = _search_args()
    if args["project"] is not None:
        project_id = str(args["project"])
        require_member(lineage.store, principal, project_id)
        projects: list[str] | None = [project_id]
    else:
        projects = None
    names = (*SEARCH, "access")  # "access": the projects searched, and people's names
    freshness = wait_for_projections(names, args["min_position"], args["as_of"])
    if args["project"] is None:
        projects = visible_projects(lineage.engine, principal.user_id, principal.is_admin)
    offset = _offset(args["cursor"])
    find = queries.find_assets if args["kind"] == "asset" else queries.find
    result = find(lineage.engine, SearchQuery(
        projects=projects, q=args["q"], tags=tuple(args["tag"]),
        operation=args["operation"], tier=args["tier"], model=args["model"],
        sampler=args["sampler"], tool=args["tool"],
        author=args["author"], status=args["status"], approved=args["approved"],
        created_from=args["created_from"], created_to=args["created_to"],
        as_of=args["as_of"], collapse_seed=args["collapse"] == "seed",
        facets=args["facets"], limit=args["limit"], offset=offset))
    end = offset + len(result["items"])
    result["next_cursor"] = encode_cursor({"o": end}) if end < result["total"] else None
    return read_response(read_named(result), freshness)


def _search_args() -> dict:
    """The query string; ``tag`` may repeat (a version must match every tag given)."""
    data = request.args.to_dict()
    if "tag" in request.args:
        data["tag"] = request.args.getlist("tag")
    return shared_schema(SearchArgs).load(data)


def _offset(cursor: str | None) -> int:
    state = decode_cursor(cursor) or {"o": 0}
    offset = state.get("o")
    if not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise ValidationError({"cursor": ["is not one this server produced"]})
    return offset


@blueprint.get("/projects/<project_id>/taxonomy")
@documented("The project's tag tree with asset and version counts per level",
            tags=("read side",), query=ReadQuery)
def taxonomy(project_id: str) -> Response:
    """The project's tag tree with asset and version counts at every level."""
    principal = current_principal()
    lineage = services()
    project_id = parse_id(project_id, "project")
    args = read_args(ReadQuery)
    require_member(lineage.store, principal, project_id)
    freshness = wait_for_projections(SEARCH, args["min_position"])
    return read_response(queries.tag_tree(lineage.engine, project_id), freshness)
