"""POST /api/assets/{id}/uploads: a version made outside Lineage, stored by content hash."""

from __future__ import annotations

from flask import Blueprint, Response, request
from marshmallow import ValidationError

from app.api.openapi import documented
from app.api.views import meta, path_id, written
from app.auth import current_principal
from app.context import services
from app.http import expected_version
from app.schemas.assets import UploadFormSchema
from app.schemas.responses import UploadOut
from commands.uploads import upload_version
from events.errors import DomainError

blueprint = Blueprint("uploads", __name__)


class PayloadTooLarge(DomainError):
    status = 413
    title = "Payload too large"


@blueprint.post("/assets/<asset_id>/uploads")
@documented("Upload an image as a new version (creator): multipart 'image', optional "
            "tier, parent_version_id, note; other tools' generation metadata is imported",
            form=UploadFormSchema, file_field="image", status=201, tags=("versions",),
            idempotent_key=True, if_match=True, errors=(401, 403, 404, 409, 413, 422),
            response=UploadOut)
def upload(asset_id: str) -> Response:
    asset_id = path_id(asset_id, "asset")
    principal = current_principal()
    lineage = services()
    limit = lineage.settings.max_upload_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the request is {request.content_length} bytes; uploads are "
                              f"limited to {limit} bytes (LINEAGE_MAX_UPLOAD_BYTES)",
                              max_bytes=limit)
    if request.mimetype != "multipart/form-data":
        raise ValidationError({"image": ["send multipart/form-data with the file in 'image'"]})
    extra_files = sorted(set(request.files) - {"image"})
    if extra_files:
        raise ValidationError({name: ["Unknown field."] for name in extra_files})
    image = request.files.get("image")
    if image is None:
        raise ValidationError({"image": ["Missing data for required field."]})
    form = UploadFormSchema().load(request.form.to_dict())
    data = image.read()
    version, stream_version, position = upload_version(
        lineage.store, lineage.blobs, principal, meta(), asset_id, data,
        max_pixels=lineage.settings.max_image_pixels, tier=form["tier"],
        parent_version_id=form["parent_version_id"], note=form["note"],
        if_match=expected_version())
    return written(version, 201, version=stream_version, position=position,
                   location=f"/api/versions/{version['version_id']}")
