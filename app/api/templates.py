"""Templates: reusable recipes with {variables}, and generations from them."""

from __future__ import annotations

from flask import Blueprint, Response
from marshmallow import ValidationError, fields, validate

from app.api.openapi import documented
from app.api.reading import ReadQuery, caught_up, read_args, read_response, wait_for_projections
from app.api.views import body, job_limits, meta, path_id, written
from app.auth import current_principal
from app.context import services
from app.http import decode_cursor, encode_cursor, expected_version, respond
from app.schemas.responses import JobsOut, TemplateOut
from app.schemas.templates import (
    TemplateCreateSchema,
    TemplateGenerationSchema,
    TemplateReviseSchema,
)
from commands import generation, templates
from commands.membership import require_member, require_template_member
from projections import queries
from projections.registry import TEMPLATES

blueprint = Blueprint("templates", __name__)
TAGS = ("templates",)
ERRORS = (401, 403, 404, 409, 422)


class TemplateListQuery(ReadQuery):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=300))


def _after(cursor: str | None) -> tuple[str, str] | None:
    """The (name, id) a page ended on, from a cursor this list produced."""
    state = decode_cursor(cursor)
    if state is None:
        return None
    name, template_id = state.get("after_name"), state.get("after_id")
    if not (isinstance(name, str) and isinstance(template_id, str)):
        raise ValidationError({"cursor": ["is a cursor of another list"]})
    return name, template_id


@blueprint.get("/projects/<project_id>/templates")
@documented("The project's templates by name, each at its current version (viewer)",
            tags=TAGS, query=TemplateListQuery, errors=(401, 404, 422))
def list_templates(project_id: str) -> Response:
    project_id = path_id(project_id, "project")
    args = read_args(TemplateListQuery)
    lineage = services()
    require_member(lineage.store, current_principal(), project_id)
    freshness = wait_for_projections(TEMPLATES, args["min_position"])
    items, last = queries.project_templates(lineage.engine, project_id,
                                            after=_after(args["cursor"]), limit=args["limit"])
    body = {"items": items,
            "next_cursor": encode_cursor({"after_name": last[0], "after_id": last[1]}) if last
                   else None}
    return read_response(body, freshness)


@blueprint.get("/templates/<template_id>/revisions")
@documented("Every version of a template, newest first (viewer)", tags=TAGS,
            query=ReadQuery, errors=(401, 404, 422))
def template_revisions(template_id: str) -> Response:
    template_id = path_id(template_id, "template")
    args = read_args(ReadQuery)
    lineage = services()
    require_template_member(lineage.store, current_principal(), template_id)
    freshness = wait_for_projections(TEMPLATES, args["min_position"])
    # Empty only while the read model has yet to see the template (``projection`` says
    # how far behind it is; ``?min_position=`` waits).
    items = queries.template_revisions(lineage.engine, template_id)
    return read_response({"template_id": template_id, "items": items}, freshness)


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
    lineage = services()
    require_template_member(lineage.store, current_principal(), template_id)
    caught_up(TEMPLATES)
    template = queries.template(lineage.engine, template_id)
    return respond(template, version=template["version"])


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
