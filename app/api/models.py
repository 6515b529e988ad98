"""GET /api/models: the model registry (any signed-in person; folder paths, and the
configuration folder of a single-file checkpoint, only for administrators, since they
describe the server's disks)."""

from __future__ import annotations

from flask import Blueprint, Response

from app.api.openapi import documented
from app.api.reading import caught_up
from app.api.views import query
from app.auth import current_principal
from app.context import services
from app.http import respond
from app.schemas.models import ModelListOut, ModelListQuery
from projections import queries
from projections.registry import MODELS

blueprint = Blueprint("models", __name__)
TAGS = ("models",)


@blueprint.get("/models")
@documented("Registered models and LoRA adapters, and the model each tier runs",
            query=ModelListQuery, tags=TAGS, errors=(401, 422), response=ModelListOut)
def get_models() -> Response:
    principal = current_principal()
    args = query(ModelListQuery)
    caught_up(MODELS)
    answer = queries.model_registry(services().engine, kind=args["kind"])
    if not principal.is_admin:
        for item in answer["items"]:
            item.pop("path", None)
            item.pop("config", None)
    return respond(answer)
