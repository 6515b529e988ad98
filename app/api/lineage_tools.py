"""Lineage tools: rebuild, re-bake, provenance and export of a version.

- POST /api/versions/{id}/rebuild {tolerance?} → 202 job (creator); the job's report
  (GET /api/jobs/{job id}) says per step whether the rebuild is bit-exact.
- POST /api/versions/{id}/rebake {overrides} → 202 job (creator); it creates a branch.
- GET /api/versions/{id}/provenance → W3C PROV-JSON of the chain (viewer).
- GET /api/versions/{id}/export?format=png → the PNG with A1111 ``parameters`` and a
  ``lineage`` JSON chunk (viewer); the same version always gives the same bytes.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, request

from app.api.openapi import documented
from app.api.views import body, job_limits, path_id, query, written
from app.auth import current_principal
from app.context import services
from app.http import command_meta, respond
from app.schemas.lineage_tools import ExportQuery, RebakeSchema, RebuildSchema
from commands import rebuild
from interchange import export, provenance

blueprint = Blueprint("lineage_tools", __name__)
TAGS = ("lineage tools",)
JOB = {"idempotent_key": True, "tags": TAGS, "status": 202,
       "errors": (401, 403, 404, 409, 422)}


@blueprint.post("/versions/<version_id>/rebuild")
@documented("Rebuild a version from its recorded chain and compare every step (creator); "
            "the job's report says bit-exact, pixel-equal, within tolerance or diverged",
            body=RebuildSchema, **JOB)
def request_rebuild(version_id: str) -> Response:
    version_id = path_id(version_id, "version")
    data = body(RebuildSchema) if request.content_length else {}
    options = {"tolerance": data["tolerance"]} if data.get("tolerance") else {}
    result = rebuild.request_rebuild(services().store, current_principal(), command_meta(),
                                     version_id, options, limits=job_limits())
    return written(result, 202, position=result["position"], location=result["url"])


@blueprint.post("/versions/<version_id>/rebake")
@documented("Re-bake a version with overrides on steps of its chain (creator): the steps "
            "before the first override are kept byte-for-byte, the rest are re-made as a "
            "new branch", body=RebakeSchema, **JOB)
def request_rebake(version_id: str) -> Response:
    version_id = path_id(version_id, "version")
    data = body(RebakeSchema)
    lineage = services()
    result = rebuild.request_rebake(lineage.store, lineage.blobs, current_principal(),
                                    command_meta(), version_id, data["overrides"],
                                    max_prompt_chars=lineage.settings.max_prompt_chars,
                                    max_side=lineage.settings.max_side, limits=job_limits())
    return written(result, 202, position=result["position"], location=result["url"])


@blueprint.get("/versions/<version_id>/provenance")
@documented("The version's lineage as W3C PROV-JSON: images by content hash, steps with "
            "recipe and environment, people and software, comments and decisions",
            tags=TAGS)
def get_provenance(version_id: str) -> Response:
    version_id = path_id(version_id, "version")
    document = provenance.version_provenance(services().store, current_principal(), version_id)
    return respond(document)


@blueprint.get("/versions/<version_id>/export")
@documented("The version's image with its recipe (A1111 `parameters`) and lineage (JSON "
            "`lineage`) embedded as PNG text chunks", query=ExportQuery, tags=TAGS,
            media_type="image/png")
def export_version(version_id: str) -> Response:
    version_id = path_id(version_id, "version")
    args = query(ExportQuery)
    lineage = services()
    data = export.export_png(lineage.store, lineage.blobs, current_principal(), version_id,
                             max_pixels=lineage.settings.max_image_pixels, c2pa=args["c2pa"])
    etag = hashlib.sha256(data).hexdigest()
    if etag in request.headers.get("If-None-Match", ""):
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    return Response(data, mimetype="image/png", headers={
        "ETag": f'"{etag}"', "Cache-Control": "private, no-cache",
        "Content-Disposition": f'attachment; filename="lineage-{version_id}.png"'})
