"""The templates page, ``/projects/<id>/templates`` (members; creators write): each
template at its current version with its variables, its revisions, a form to revise
it and one to generate from it into an asset; and a form to create a template.

It reads what ``GET /api/projects/{id}/templates`` and ``/api/templates/{id}/revisions``
answer (the same query functions); its forms post to the commands behind ``POST
/api/projects/{id}/templates`` and ``PATCH /api/templates/{id}``, and generating posts to
the generate panel's ``/templates/<id>/generations`` (then shows the asset).
"""

from __future__ import annotations

from typing import Any

from flask import Response, request

from app.api.reading import caught_up, project_as_member, wait_for_projections
from app.context import services
from app.schemas.templates import TemplateCreateSchema, TemplateReviseSchema
from app.studio.display_names import display_names
from app.studio.forms import form_body, form_meta
from app.studio.web import (
    PageQuery,
    answered,
    page_args,
    principal,
    render_page,
    signed_in,
    studio_blueprint,
    url_with,
)
from commands import templates
from commands.state import parse_id
from projections import queries
from projections.registry import TEMPLATES, TREE
from projections.version_tree import assets_page
from rules.access import CREATOR, RANK
from rules.templates import PLACEHOLDER as _PLACEHOLDER


def _assets(lineage: Any, project_id: str) -> list[dict[str, Any]]:
    """The project's assets a template may generate into (read table, caught up)."""
    caught_up(TREE)
    with lineage.engine.connect() as conn:
        return assets_page(conn, project_id, after=0, limit=LISTED)


blueprint = studio_blueprint("studio_making_templates", __name__)
PARAMETER_INTS = ("parameters.width", "parameters.height", "parameters.steps",
                  "parameters.variations")
PARAMETER_FLOATS = ("parameters.guidance",)
LISTED = 200
"""How many templates and assets the page lists."""


@blueprint.get("/projects/<project_id>/templates")
@signed_in
def templates_page(project_id: str) -> str:
    """The project's templates (members only: strangers get 404)."""
    project_id = parse_id(project_id, "project")
    args = page_args(PageQuery)
    lineage = services()
    person = principal()
    project, _ = project_as_member(person, project_id)
    wait_for_projections(TEMPLATES, args["min_position"])
    items, _ = queries.project_templates(lineage.engine, project_id, limit=LISTED)
    revisions = {t["template_id"]: queries.template_revisions(lineage.engine, t["template_id"])
                 for t in items}
    can_create = RANK[project["your_role"]] >= RANK[CREATOR]
    asset_items = _assets(lineage, project_id) if can_create else []
    people = {t["created_by"] for t in items} | {
        r["author_id"] for revs in revisions.values() for r in revs}
    return render_page("studio/templates.html", project=project, templates=items,
                       revisions=revisions, assets=asset_items, can_create=can_create,
                       names=display_names(lineage.engine, {p for p in people if p}))


@blueprint.post("/projects/<project_id>/templates")
@signed_in
def create_template(project_id: str) -> Response:
    """Create a template (creator)."""
    project_id = parse_id(project_id, "project")
    data = form_body(TemplateCreateSchema, ints=PARAMETER_INTS, floats=PARAMETER_FLOATS)
    template, _, position = templates.create_template(services().store, principal(),
                                                      form_meta(), project_id, **data)
    return answered(url_with(f"/projects/{project_id}/templates", min_position=position)
                    + f"#template-{template['template_id']}",
                    {**template, "position": position}, 201)


@blueprint.post("/templates/<template_id>/revise")
@signed_in
def revise_template(template_id: str) -> Response:
    """A new version of a template (creator): its prompt, negative prompt and defaults as
    the form has them (a blank default is removed)."""
    template_id = parse_id(template_id, "template")
    data = form_body(TemplateReviseSchema, ints=PARAMETER_INTS, floats=PARAMETER_FLOATS,
                     omit=("negative_prompt",),
                     extra={"negative_prompt": request.form.get("negative_prompt", "")})
    data.setdefault("parameters", {})  # every default left blank: the template has none
    template, _, position = templates.revise_template(services().store, principal(),
                                                      form_meta(), template_id, data)
    return answered(url_with(f"/projects/{template['project_id']}/templates",
                             min_position=position) + f"#template-{template_id}",
                    {**template, "position": position})


def template_parts(prompt: str) -> list[dict[str, Any]]:
    """A template prompt as text and ``{variable}`` parts (a page marks the variables);
    ``{{``/``}}`` print as single braces."""
    parts: list[dict[str, Any]] = []
    at = 0
    for match in _PLACEHOLDER.finditer(prompt):
        if match.start() > at:
            parts.append({"text": prompt[at:match.start()], "variable": False})
        token = match.group(0)
        if match.group(1):
            parts.append({"text": match.group(1), "variable": True})
        else:
            parts.append({"text": token[0], "variable": False})
        at = match.end()
    if at < len(prompt):
        parts.append({"text": prompt[at:], "variable": False})
    return parts
