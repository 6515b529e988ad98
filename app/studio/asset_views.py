"""The asset page, ``/assets/<id>``: a large viewer, the version strip, the review panel
(decisions, pins, comments with regions) and the panels that make images.

``?v=`` selects the version in the viewer (the newest by default) and ``?as_of=`` shows
the tree, decisions and comments exactly as they stood at that moment (read-only). The
page reads what ``GET /api/assets/{id}/tree`` and ``/review`` answer (the same query
functions), plus the asset's unfinished jobs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus, urlencode

from marshmallow import fields

from app.api.reading import (
    UtcDateTime,
    project_as_member,
    removed_channels,
    wait_for_projections,
)
from app.context import services
from app.studio.display_names import display_names
from app.studio.making_generate import generate_context
from app.studio.panels import asset_panels
from app.studio.strip import ancestors, build_strip, version_numbers
from app.studio.strip_tiles import tile_drawer
from app.studio.web import (
    PageQuery,
    page_args,
    principal,
    render_page,
    signed_in,
    studio_blueprint,
    url_with,
)
from commands.membership import require_asset_member
from commands.state import parse_id
from events.errors import NotFound
from projections import queries
from projections.registry import ACCESS, ASSET_STREAMS, SEARCH, TEMPLATES, TREE
from rules.access import CREATOR, RANK, REVIEWER

blueprint = studio_blueprint("studio_asset", __name__)
FRAGMENTS = ("strip", "review", "jobs", "regions", "badges", "job_cards")


class AssetPageQuery(PageQuery):
    v = fields.UUID(load_default=None)
    as_of = UtcDateTime(load_default=None)
    template = fields.UUID(load_default=None)


@blueprint.get("/assets/<asset_id>")
@signed_in
def asset_page(asset_id: str) -> str:
    """The asset page (members only: strangers get 404, as from the API)."""
    asset_id = parse_id(asset_id, "asset")
    args = page_args(AssetPageQuery)
    selected = str(args["v"]) if args["v"] else None
    context = asset_context(asset_id, selected, args["as_of"], args["min_position"],
                            template_id=str(args["template"]) if args["template"] else None)
    return render_page("studio/asset.html", fragments=FRAGMENTS, **context)


def asset_context(asset_id: str, selected: str | None, as_of: datetime | None,
                  min_position: int | None, *, template_id: str | None = None,
                  ) -> dict[str, Any]:
    """Everything the asset page draws for a member of the asset's project
    (``template_id``: the template picked in the generate panel)."""
    lineage = services()
    person = principal()
    project, _ = project_as_member(person, require_asset_member(lineage.store, person,
                                                                asset_id))
    role = project["your_role"]
    context = review_context(asset_id, selected, as_of, min_position,
                             page=f"/assets/{asset_id}")
    current = context["current"]
    writable = as_of is None
    context.update(
        project=project, role=role, guest=False,
        channels=[c["name"] for c in project["channels"]],
        can_review=RANK[role] >= RANK[REVIEWER] and writable,
        can_create=RANK[role] >= RANK[CREATOR] and writable,
        can_comment=RANK[role] >= RANK[CREATOR] and writable,
        can_resolve=RANK[role] >= RANK[CREATOR] and writable,
        pending_jobs=queries.pending_jobs(lineage.engine, asset_id) if writable else [],
        comment_action=f"/versions/{current['version_id']}/comments" if current else None)
    if context["can_create"]:
        context.update(generate_context(project, template_id))
    context["panels"] = asset_panels(context)
    return context


def version_links(page: str, as_of: datetime | None) -> Callable[..., str]:
    """``version_url(version_id, **changes)`` for the pages: ``page`` showing the version
    (at ``as_of``), as :func:`url_with` writes it. The strip asks once per tile, so the
    usual link (no changes) is joined from parts encoded once."""
    at = as_of.isoformat() if as_of else None
    tail = f"&{urlencode({'as_of': at})}" if at else ""

    def version_url(version_id: str | None, **changes: Any) -> str:  # noqa: ANN401
        if changes or not version_id:
            return url_with(page, **{"v": version_id, "as_of": at, **changes})
        return f"{page}?v={quote_plus(version_id)}{tail}"
    return version_url


def review_context(asset_id: str, selected: str | None, as_of: datetime | None,
                   min_position: int | None, *, page: str) -> dict[str, Any]:
    """The asset's tree and review state as a page draws them (members and guests alike;
    the caller has checked who may see it): the selected version (the newest by
    default), its comments and those of the versions it was made from, the strip, and
    links to the version before and after. ``page`` is the asset page's path."""
    lineage = services()
    # ACCESS: the channels the project had removed (their approvals do not stand).
    names = ((*TREE, *SEARCH, *ACCESS) if as_of is not None
             else (*TREE, *TEMPLATES, *ASSET_STREAMS, *ACCESS))
    freshness = wait_for_projections(names, min_position, as_of)
    removed = removed_channels(asset_id, as_of)
    tree = queries.tree(lineage.engine, asset_id, as_of, removed)
    review = queries.review(lineage.engine, asset_id, as_of, removed)
    nodes = tree["nodes"]
    by_id = {node["version_id"]: node for node in nodes}
    if selected is not None and selected not in by_id:
        raise NotFound(f"version {selected} is not a version of this asset"
                       + (" at that time" if as_of else ""))
    current = by_id.get(selected) if selected else (nodes[-1] if nodes else None)
    reviews = {entry["version_id"]: entry for entry in review["versions"]}
    approved_ids = set(tree["approved"])
    order = [node["version_id"] for node in nodes]
    numbers = version_numbers(nodes)
    pinned_ids = {pin["version_id"] for pin in review["pins"]}
    current_id = current["version_id"] if current else None
    version_url = version_links(page, as_of)
    context: dict[str, Any] = {
        "asset": tree["asset"], "as_of": as_of, "nodes": nodes,
        "numbers": numbers, "current": current,
        "strip": build_strip(nodes, current_id, approved_ids),
        "tile": tile_drawer(numbers, approved_ids, reviews, pinned_ids, current_id,
                            version_url),
        "approved": review["approved"], "approved_ids": approved_ids, "pins": review["pins"],
        "pinned_ids": pinned_ids,
        "reviews": reviews, "from_parents": [], "prev_id": None, "next_id": None,
        "compare_with": None, "agreed": False, "live_after": freshness.position,
        "names": display_names(lineage.engine, _people(nodes, review)),
        "version_url": version_url,
    }
    if current is not None:
        version_id = current["version_id"]
        index = order.index(version_id)
        context["prev_id"] = order[index - 1] if index > 0 else None
        context["next_id"] = order[index + 1] if index + 1 < len(order) else None
        context["compare_with"] = (current["parent_ids"][0] if current["parent_ids"]
                                   and current["parent_ids"][0] in by_id
                                   else context["prev_id"])
        context["from_parents"] = [
            (parent, comment) for parent in ancestors(by_id, version_id)
            for comment in reviews.get(parent, {}).get("comments", [])]
        context["agreed"] = current["content_hash"] in {
            by_id[v]["content_hash"] for v in approved_ids if v in by_id}
    return context


def _people(nodes: list[dict[str, Any]], review: dict[str, Any]) -> set[str]:
    ids = {node["author_id"] for node in nodes}
    for entry in review["versions"]:
        ids.update(c["author_id"] for c in entry["comments"])
        ids.update(d["reviewer_id"] for d in entry["decisions"])
        ids.update(d["revoked_by"] for d in entry["decisions"] if d["revoked_by"])
    ids.update(pin["pinned_by"] for pin in review["pins"])
    return ids
