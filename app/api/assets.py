"""Assets: create, read (also as of a time), tags, versions list, generations."""

from __future__ import annotations

from flask import Blueprint, Response

from app.api.openapi import documented
from app.api.reading import AsOfQuery, caught_up, read_args, read_named
from app.api.views import (
    body,
    cursor_int,
    job_limits,
    meta,
    page,
    page_args,
    path_id,
    written,
)
from app.auth import current_principal
from app.context import services
from app.http import expected_version, respond
from app.schemas.assets import AssetCreateSchema, GenerationSchema, TagSchema
from app.schemas.common import ListQuery
from app.schemas.responses import AssetOut, JobsOut, PageOut
from commands import assets, generation
from commands.membership import require_asset_member, require_member
from projections import queries
from projections.registry import ACCESS, ASSET_VIEW, SEARCH, TREE
from projections.version_tree import assets_page, versions_page

blueprint = Blueprint("assets", __name__)
TAGS = ("assets",)
WRITE = {"idempotent_key": True, "if_match": True, "tags": TAGS,
         "errors": (401, 403, 404, 409, 422)}


@blueprint.post("/projects/<project_id>/assets")
@documented("Create an asset in a project (creator)", body=AssetCreateSchema, status=201,
            tags=TAGS, idempotent_key=True, errors=(401, 403, 404, 409, 422), response=AssetOut)
def create_asset(project_id: str) -> Response:
    project_id = path_id(project_id, "project")
    data = body(AssetCreateSchema)
    asset, version, position = assets.create_asset(
        services().store, current_principal(), meta(), project_id, **data)
    return written(asset, 201, version=version, position=position,
                   location=f"/api/assets/{asset['asset_id']}")


@blueprint.get("/projects/<project_id>/assets")
@documented("The project's assets, oldest first", query=ListQuery, tags=TAGS, response=PageOut)
def list_assets(project_id: str) -> Response:
    project_id = path_id(project_id, "project")
    limit, cursor = page_args()
    lineage = services()
    require_member(lineage.store, current_principal(), project_id)
    caught_up(TREE)
    with lineage.engine.connect() as conn:
        found = assets_page(conn, project_id, after=cursor_int(cursor, "after"),
                            limit=limit + 1)
    items = found[:limit]
    return page(items, {"after": items[-1]["position"]} if len(found) > limit else None)


@blueprint.get("/assets/<asset_id>")
@documented("An asset with its version tree, pins and decisions; ?as_of= shows it as it "
            "was at that time", query=AsOfQuery, tags=TAGS, response=AssetOut)
def get_asset(asset_id: str) -> Response:
    asset_id = path_id(asset_id, "asset")
    as_of = read_args(AsOfQuery)["as_of"]
    lineage = services()
    require_asset_member(lineage.store, current_principal(), asset_id)
    # Read your writes: the tables hold everything the log held when the request came.
    # As of a time, tags come from the catalog's tag history (as the tree's do).
    caught_up(ASSET_VIEW if as_of is None else (*ASSET_VIEW, *SEARCH))
    asset, version = queries.asset(lineage.engine, asset_id, as_of)
    return respond(read_named(asset), version=version)


@blueprint.get("/assets/<asset_id>/versions")
@documented("The asset's versions in creation order", query=ListQuery, tags=TAGS, response=PageOut)
def list_versions(asset_id: str) -> Response:
    asset_id = path_id(asset_id, "asset")
    limit, cursor = page_args()
    lineage = services()
    require_asset_member(lineage.store, current_principal(), asset_id)
    caught_up((*TREE, *ACCESS))
    with lineage.engine.connect() as conn:
        found = versions_page(conn, asset_id, after=cursor_int(cursor, "after"),
                              limit=limit + 1)
    items = found[:limit]
    more = {"after": items[-1]["position"]} if len(found) > limit else None
    return page(read_named([{k: v for k, v in item.items() if k != "position"} for item in items]),
                more)


@blueprint.post("/assets/<asset_id>/tags")
@documented("Add a tag (creator)", body=TagSchema, **WRITE, response=AssetOut)
def add_tag(asset_id: str) -> Response:
    asset_id = path_id(asset_id, "asset")
    tag = body(TagSchema)["tag"]
    asset, version, position = assets.change_tag(
        services().store, current_principal(), meta(), asset_id, tag, add=True,
        if_match=expected_version())
    return written(asset, version=version, position=position)


@blueprint.delete("/assets/<asset_id>/tags/<path:tag>")
@documented("Remove a tag (creator); hierarchical tags as they read, e.g. "
            "DELETE /assets/{id}/tags/char/villain (or char%2Fvillain)", **WRITE,
            response=AssetOut)
def remove_tag(asset_id: str, tag: str) -> Response:
    asset_id = path_id(asset_id, "asset")
    asset, version, position = assets.change_tag(
        services().store, current_principal(), meta(), asset_id, tag.strip(), add=False,
        if_match=expected_version())
    return written(asset, version=version, position=position)


@blueprint.post("/assets/<asset_id>/generations")
@documented("Request 1-16 generations (creator); policies apply to final renders",
            body=GenerationSchema, status=202, **WRITE, response=JobsOut)
def request_generation(asset_id: str) -> Response:
    asset_id = path_id(asset_id, "asset")
    data = body(GenerationSchema)
    result = generation.request_generation(services().store, current_principal(),
                                           meta(), asset_id, data,
                                           if_match=expected_version(), limits=job_limits())
    return written(result, 202, position=result["position"],
                   location=result["jobs"][0]["url"])
