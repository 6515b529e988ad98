"""Templates: reusable recipes with {variables}, and generations from them."""

from __future__ import annotations

from flask import Blueprint, Response

from app.api.openapi import documented
from app.api.views import body, job_limits, meta, path_id, written
from app.auth import current_principal
from app.context import services
from app.http import expected_version, respond
from app.schemas.responses import JobsOut, TemplateOut
from app.schemas.templates import (
    TemplateCreateSchema,
    TemplateGenerationSchema,
    TemplateReviseSchema,
)
from commands import generation, templates

blueprint = Blueprint("templates", __name__)
TAGS = ("templates",)
ERRORS = (401, 403, 404, 409, 422)


@blueprint.post("/projects/<project_id>/templates")
@documented("Create a template (creator)", body=TemplateCreateSchema, status=201, tags=TAGS,
            idempotent_key=True, errors=ERRORS, response=TemplateOut)
def create_template(project_id: str) -> Response:
    project_id = path_id(project_id, "project")
    data = body(TemplateCreateSchema)
    template, version, position = templates.create_template(
        services().store, current_principal(), meta(), project_id, **data)
    return written(template, 201, version=version, position=position,
                   location=f"/api/templates/{template['template_id']}")


@blueprint.get("/templates/<template_id>")
@documented("A template and its current version", tags=TAGS, response=TemplateOut)
def get_template(template_id: str) -> Response:
    template_id = path_id(template_id, "template")
    template, version = templates.view_template(services().store, current_principal(),
                                                template_id)
    return respond(template, version=version)


@blueprint.patch("/templates/<template_id>")
@documented("Revise a template: a new template version (creator)", body=TemplateReviseSchema,
            tags=TAGS, idempotent_key=True, if_match=True, errors=ERRORS, response=TemplateOut)
def revise_template(template_id: str) -> Response:
    template_id = path_id(template_id, "template")
    data = body(TemplateReviseSchema)
    template, version, position = templates.revise_template(
        services().store, current_principal(), meta(), template_id, data,
        if_match=expected_version())
    return written(template, version=version, position=position)


@blueprint.post("/templates/<template_id>/generations")
@documented("Generate from a template into an asset of its project (creator); the recipe "
            "records the template id and version", body=TemplateGenerationSchema, status=202,
            tags=TAGS, idempotent_key=True, if_match=True, errors=ERRORS, response=JobsOut)
def generate_from_template(template_id: str) -> Response:
    template_id = path_id(template_id, "template")
    lineage = services()
    data = body(TemplateGenerationSchema)
    result = generation.request_template_generation(
        lineage.store, current_principal(), meta(), template_id, data,
        max_prompt_chars=lineage.settings.max_prompt_chars,
        max_side=lineage.settings.max_side, if_match=expected_version(), limits=job_limits())
    return written(result, 202, position=result["position"], location=result["jobs"][0]["url"])
