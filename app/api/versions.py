"""Versions: read one, fetch its bytes, request edits and promotions."""

from __future__ import annotations

from flask import Blueprint, Response, request

from app.api.openapi import documented
from app.api.reading import caught_up, read_named
from app.api.views import body, job_limits, meta, path_id, query, written
from app.auth import current_principal
from app.context import services
from app.http import expected_version, respond
from app.images import image_bytes
from app.schemas.assets import EditSchema, ImageQuery, PromoteSchema
from app.schemas.responses import JobsOut, VersionOut
from commands import edits, promotion
from commands.membership import require_version_member
from events.errors import NotFound
from projections import queries
from projections.registry import ASSET_VIEW, TREE

blueprint = Blueprint("versions", __name__)
TAGS = ("versions",)
WRITE = {"idempotent_key": True, "if_match": True, "tags": TAGS,
         "errors": (401, 403, 404, 409, 413, 422)}
IMMUTABLE = "public, max-age=31536000, immutable"


@blueprint.get("/versions/<version_id>")
@documented("A version: recipe, environment, parents, content hash, tier, author, time, "
            "and its comments, decisions and pins", tags=TAGS, response=VersionOut)
def get_version(version_id: str) -> Response:
    version_id = path_id(version_id, "version")
    lineage = services()
    require_version_member(lineage.store, current_principal(), version_id)
    caught_up(ASSET_VIEW)
    version, stream_version = queries.version(lineage.engine, version_id)
    return respond(read_named(version), version=stream_version)


@blueprint.get("/versions/<version_id>/image")
@documented("The version's image bytes; ETag is their SHA-256, 304 on If-None-Match. "
            "`?size=thumbnail`: a PNG at most 256 px on its longer side (trees and "
            "search link to it); `?size=256` or `1024`: a WebP preview made once per "
            "content hash", tags=TAGS, media_type="image/png", query=ImageQuery)
def get_image(version_id: str) -> Response:
    version_id = path_id(version_id, "version")
    size = query(ImageQuery)["size"]
    lineage = services()
    require_version_member(lineage.store, current_principal(), version_id)
    # A version's bytes never change: wait for the tree only when it has yet to see it.
    content_hash = queries.version_content_hash(lineage.engine, version_id)
    if content_hash is None:
        caught_up(TREE)
        content_hash = queries.version_content_hash(lineage.engine, version_id)
    if content_hash is None:
        raise NotFound(f"version {version_id} does not exist")
    tag = content_hash if size == "full" else f"{content_hash}-{size}"
    headers = {"ETag": f'"{tag}"', "Cache-Control": IMMUTABLE}
    if _matches(request.headers.get("If-None-Match", ""), tag):
        return Response(status=304, headers=headers)
    data, mimetype = image_bytes(lineage, content_hash, size)
    return Response(data, mimetype=mimetype, headers=headers)


def _matches(header: str, content_hash: str) -> bool:
    tags = [t.strip().removeprefix("W/").strip('"') for t in header.split(",")]
    return "*" in tags or content_hash in tags


@blueprint.post("/versions/<version_id>/edits")
@documented("Request an edit: img2img, inpaint (mask or region), outpaint (margins), "
            "upscale (scale), adjust (creator)", body=EditSchema, status=202, **WRITE,
            response=JobsOut)
def request_edit(version_id: str) -> Response:
    version_id = path_id(version_id, "version")
    data = body(EditSchema)
    lineage = services()
    result = edits.request_edit(lineage.store, lineage.blobs, current_principal(), meta(),
                                version_id, data, max_side=lineage.settings.max_side,
                                if_match=expected_version(), limits=job_limits())
    return written(result, 202, position=result["position"], location=result["jobs"][0]["url"])


@blueprint.post("/versions/<version_id>/promote")
@documented("Promote a draft: its chain (generation and every edit since) re-made on the "
            "final tier's model with the same seeds and parameters, as a new branch (creator)",
            body=PromoteSchema, status=202, **WRITE, response=JobsOut)
def promote(version_id: str) -> Response:
    version_id = path_id(version_id, "version")
    data = body(PromoteSchema)
    result = promotion.request_promotion(services().store, current_principal(), meta(),
                                         version_id, data, if_match=expected_version(),
                                         limits=job_limits())
    return written(result, 202, position=result["position"], location=result["jobs"][0]["url"])
