"""The version page, ``/versions/<id>``: the image, its recipe and environment, its lineage
chain as thumbnails, provenance and export links, and "Rebuild" with its verdict.

Reads what ``GET /api/versions/{id}`` and ``/lineage`` answer; "Rebuild" posts the same
command as ``POST /api/versions/{id}/rebuild`` and the page shows the job's report
(``?rebuild=<job id>``) once it has one.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from marshmallow import fields

from app.api.reading import project_as_member, removed_channels, wait_for_projections
from app.context import services
from app.studio.display_names import display_names
from app.studio.forms import EmptyForm, form_body, form_meta
from app.studio.panels import version_panels
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
from commands import rebuild
from commands.job_status import job_status, require_job_access
from commands.membership import require_version_member
from commands.state import parse_id
from events.errors import NotFound
from projections import queries
from projections.registry import ASSET_VIEW
from rules.access import CREATOR, RANK

blueprint = studio_blueprint("studio_version", __name__)
HIDDEN_RECIPE_KEYS = {"prompt", "negative_prompt", "environment", "scheduler_config"}


class VersionPageQuery(PageQuery):
    rebuild = fields.UUID(load_default=None)


@blueprint.get("/versions/<version_id>")
@signed_in
def version_page(version_id: str) -> str:
    """One version in full (members only; strangers get 404)."""
    version_id = parse_id(version_id, "version")
    args = page_args(VersionPageQuery)
    lineage = services()
    person = principal()
    require_version_member(lineage.store, person, version_id)
    wait_for_projections(ASSET_VIEW, args["min_position"])
    version, _ = queries.version(lineage.engine, version_id)
    project, _ = project_as_member(person, version["project_id"])
    chain = queries.lineage(lineage.engine, version_id)["chain"]
    tree = queries.tree(lineage.engine, version["asset_id"],
                        removed=removed_channels(version["asset_id"]))
    numbers = {node["version_id"]: n for n, node in enumerate(tree["nodes"], start=1)}
    report = _rebuild_report(str(args["rebuild"]), version_id) if args["rebuild"] else None
    recipe = version["recipe"] or {}
    context: dict[str, Any] = {
        "version": version, "project": project, "asset": tree["asset"], "chain": chain,
        "numbers": numbers, "recipe_rows": _rows(recipe, HIDDEN_RECIPE_KEYS),
        "environment_rows": _rows(version.get("environment") or {}, set()),
        "rebuild": report, "role": project["your_role"], "as_of": None,
        "can_rebuild": RANK[project["your_role"]] >= RANK[CREATOR],
        "approved_ids": set(tree["approved"]),
        "names": display_names(lineage.engine, {version["author_id"]}
                               | {d["reviewer_id"] for d in version["decisions"]}),
    }
    context["panels"] = version_panels(context)
    return render_page("studio/version.html", fragments=("rebuild",), **context)


def _rows(mapping: dict[str, Any], hidden: set[str]) -> list[tuple[str, str]]:
    rows = []
    for key in sorted(mapping):
        if key in hidden:
            continue
        value = mapping[key]
        if isinstance(value, dict):
            text = ", ".join(f"{k}: {v}" for k, v in value.items())
        elif isinstance(value, list | tuple):
            text = ", ".join(map(str, value))
        else:
            text = str(value)
        rows.append((key.replace("_", " "), text))
    return rows


def _rebuild_report(job_id: str, version_id: str) -> dict[str, Any]:
    """The rebuild job's status, refused (NotFound) unless it rebuilt this version."""
    lineage = services()
    loaded = require_job_access(lineage.store, job_id, principal())
    body, _ = job_status(lineage.store, lineage.engine, job_id, loaded=loaded)
    if body["kind"] != "rebuild" or body["input_version_id"] != version_id:
        raise NotFound(f"job {job_id} is not a rebuild of version {version_id}")
    return body


@blueprint.post("/versions/<version_id>/rebuild")
@signed_in
def request_rebuild(version_id: str) -> Response:
    """Re-make the version from its recorded chain (creator); the page then shows the
    job's verdict."""
    version_id = parse_id(version_id, "version")
    form_body(EmptyForm)
    result = rebuild.request_rebuild(services().store, principal(), form_meta(), version_id,
                                     {})
    return answered(url_with(f"/versions/{version_id}", rebuild=result["job_id"]),
                    result, 202)
