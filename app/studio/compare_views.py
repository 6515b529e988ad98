"""Compare two versions of an asset: ``/assets/<id>/compare?a=&b=&mode=&opacity=&split=``.

Side by side, overlay (with an opacity; one key flips it between 0 and 100 %), wipe
(a movable split) or difference, with the recipe differences beside the images. The
whole state is in the URL, so a link reopens the same view. Reads what
``GET /api/assets/{id}/tree`` and ``GET /api/versions/{id}/lineage`` answer.
"""

from __future__ import annotations

from marshmallow import fields, validate

from app.api.reading import project_as_member, removed_channels, wait_for_projections
from app.context import services
from app.studio.display_names import display_names
from app.studio.recipe_diff import recipe_diff
from app.studio.strip import version_numbers
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
from projections.registry import TREE

blueprint = studio_blueprint("studio_compare", __name__)
MODES = (("side", "Side by side"), ("overlay", "Overlay"), ("wipe", "Wipe"),
         ("difference", "Difference"))


class CompareQuery(PageQuery):
    a = fields.UUID(required=True)
    b = fields.UUID(required=True)
    mode = fields.String(load_default="side", validate=validate.OneOf([m for m, _ in MODES]))
    opacity = fields.Integer(load_default=50, validate=validate.Range(0, 100))
    split = fields.Integer(load_default=50, validate=validate.Range(0, 100))


@blueprint.get("/assets/<asset_id>/compare")
@signed_in
def compare(asset_id: str) -> str:
    """Two versions of one asset side by side, overlaid, wiped or differenced."""
    asset_id = parse_id(asset_id, "asset")
    args = page_args(CompareQuery)
    lineage = services()
    person = principal()
    project, _ = project_as_member(person, require_asset_member(lineage.store, person,
                                                                asset_id))
    wait_for_projections(TREE, args["min_position"])
    tree = queries.tree(lineage.engine, asset_id, removed=removed_channels(asset_id))
    by_id = {node["version_id"]: node for node in tree["nodes"]}
    a, b = str(args["a"]), str(args["b"])
    for version_id in (a, b):
        if version_id not in by_id:
            raise NotFound(f"version {version_id} is not a version of this asset")
    chain_a = queries.lineage(lineage.engine, a)["chain"]
    chain_b = queries.lineage(lineage.engine, b)["chain"]
    state = {"a": a, "b": b, "mode": args["mode"], "opacity": args["opacity"],
             "split": args["split"]}

    def compare_url(**changes: object) -> str:
        return url_with(f"/assets/{asset_id}/compare", **{**state, **changes})

    return render_page(
        "studio/compare.html", asset=tree["asset"], project=project, nodes=tree["nodes"],
        numbers=version_numbers(tree["nodes"]), a=by_id[a], b=by_id[b], state=state,
        modes=MODES, diff=recipe_diff(chain_a, chain_b), compare_url=compare_url,
        approved_ids=set(tree["approved"]),
        names=display_names(lineage.engine, {by_id[a]["author_id"], by_id[b]["author_id"]}))
