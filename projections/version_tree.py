"""Version trees: assets, their versions and parent links; tree and lineage queries.

Query functions take a connection so the same code answers from the live tables and
from an in-memory fold of one asset's stream "as of" a time (projections/timetravel.py).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, true, update

from events.assets import TIERS
from events.errors import NotFound
from events.store import Recorded, utc
from projections.common import current_approvals, existed_at, iso, normalise_tag, valid_at
from projections.runner import ApplyContext, Projection
from projections.scopes import entity_id
from projections.tables import (
    assets,
    catalog_tags,
    pins,
    project_assets,
    versions,
)
from rules.approvals import offered

THUMBNAIL_LINK = "/api/versions/{version_id}/image?size=thumbnail"
IMAGE_LINK = "/api/versions/{version_id}/image"


def _asset_created(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    ctx.insert("rm_assets", {
        "asset_id": e.asset_id, "project_id": e.project_id, "name": e.name,
        "brief": e.brief, "tags": sorted({normalise_tag(t) for t in e.tags} - {""}),
        "created_by": rec.actor_id,
        "created_at": rec.recorded_at, "position": rec.position,
        "draft_versions": 0, "final_versions": 0, "newest_version_id": None},
        key=e.asset_id)
    ctx.cache["asset-project:" + e.asset_id] = e.project_id
    _count_asset(ctx, e.project_id, rec.position)


def _count_asset(ctx: ApplyContext, project_id: str, position: int) -> None:
    """One more asset in the project's count, the newest at ``position``. Whether the
    project's row exists is read once per batch (``ctx.batch`` dies with a rollback, so
    it never claims a row the rollback undid)."""
    row = ctx.unsent("rm_project_assets", project_id)
    if row is not None:
        row["assets"] += 1
        row["newest_position"] = position
        return
    known = ctx.batch.setdefault("counted-projects", set())
    if project_id not in known:
        read = ctx.statement("rm_project_assets", "exists", lambda t: select(
            t.c.project_id).where(t.c.project_id == bindparam("b_id")))
        exists = ctx.conn.execute(read, {"b_id": project_id}).scalar() is not None
        known.add(project_id)
        if not exists:
            ctx.insert("rm_project_assets", {"project_id": project_id, "assets": 1,
                                             "newest_position": position}, key=project_id)
            return
    write = ctx.statement("rm_project_assets", "count", lambda t: update(t).where(
        t.c.project_id == bindparam("b_id")).values(assets=t.c.assets + 1,
                                                     newest_position=bindparam("b_pos")))
    ctx.queue("rm_project_assets", write, {"b_id": project_id, "b_pos": position})


def _retag(ctx: ApplyContext, rec: Recorded, add: bool) -> None:
    asset_id = entity_id(rec.stream_id)
    read = ctx.statement("rm_assets", "tags", lambda t: select(t.c.tags).where(
        t.c.asset_id == bindparam("b_id")))
    current = ctx.conn.execute(read, {"b_id": asset_id}).scalar()
    if current is None:
        return
    tag = normalise_tag(rec.event.tag)
    tags = (set(current) | {tag} if add else set(current) - {tag}) - {""}
    write = ctx.statement("rm_assets", "set_tags", lambda t: update(t).where(
        t.c.asset_id == bindparam("b_id")).values(tags=bindparam("b_tags")))
    ctx.queue("rm_assets", write, {"b_id": asset_id, "b_tags": sorted(tags)})


def _lookup(ctx: ApplyContext, key: str, read: Callable[[], Any]) -> Any:  # noqa: ANN401
    """An immutable fact from the cache, or read (and remember) it."""
    if key not in ctx.cache:
        value = read()
        if value is None:
            return None
        ctx.cache[key] = value
    return ctx.cache[key]


def _version_created(ctx: ApplyContext, rec: Recorded) -> None:
    e = rec.event
    depth = 0
    if e.parent_ids:
        read = ctx.statement("rm_versions", "depth", lambda t: select(t.c.depth).where(
            t.c.version_id == bindparam("b_id")))
        depths = [_lookup(ctx, "depth:" + parent,
                          lambda p=parent: ctx.conn.execute(read, {"b_id": p}).scalar())
                  for parent in e.parent_ids]
        depth = max((d for d in depths if d is not None), default=-1) + 1
    read_project = ctx.statement("rm_assets", "project", lambda t: select(
        t.c.project_id).where(t.c.asset_id == bindparam("b_id")))
    project_id = _lookup(ctx, "asset-project:" + e.asset_id, lambda: ctx.conn.execute(
        read_project, {"b_id": e.asset_id}).scalar())
    ctx.insert("rm_versions", {
        "version_id": e.version_id, "asset_id": e.asset_id, "project_id": project_id or "",
        "parent_ids": list(e.parent_ids), "operation": e.operation, "tier": e.tier,
        "author_id": e.author_id, "content_hash": e.content_hash, "width": e.width,
        "height": e.height, "recipe": e.recipe, "note": e.note, "job_id": e.job_id,
        "cost_seconds": e.cost_seconds, "derived_from": e.derived_from,
        "created_at": rec.recorded_at, "position": rec.position, "depth": depth,
        "children": 0, "standing_decisions": 0}, key=e.version_id)
    for parent in dict.fromkeys(e.parent_ids):
        _count_on_version(ctx, parent, "children", 1, project_id=project_id or "")
    ctx.cache["depth:" + e.version_id] = depth
    _summarise_version(ctx, e.asset_id, e.version_id, e.tier)


def _summarise_version(ctx: ApplyContext, asset_id: str, version_id: str, tier: str) -> None:
    """The asset's version count for ``tier`` goes up by one and ``version_id`` is its
    newest (the log's order is the versions' order)."""
    counts = {f"{name}_versions": int(name == tier) for name in TIERS}
    row = ctx.unsent("rm_assets", asset_id)
    if row is not None:
        for column, added in counts.items():
            row[column] += added
        row["newest_version_id"] = version_id
        return
    write = ctx.statement("rm_assets", "summarise", lambda t: update(t).where(
        t.c.asset_id == bindparam("b_id")).values(
        newest_version_id=bindparam("b_version"),
        **{column: t.c[column] + bindparam("b_" + column) for column in counts}))
    ctx.queue("rm_assets", write, {"b_id": asset_id, "b_version": version_id,
                                   **{"b_" + column: added for column, added in counts.items()}})


def _count_on_version(ctx: ApplyContext, version_id: str, column: str, added: int, *,
                      project_id: str | None = None) -> None:
    """Add ``added`` to the version's ``column`` (``children``: versions of its own
    project made from it, only when ``project_id`` is its project; ``standing_decisions``:
    decisions on it not revoked). The review backlog reads both: a version waits while
    both are 0."""
    row = ctx.unsent("rm_versions", version_id)
    if row is not None:
        if project_id is None or row["project_id"] == project_id:
            row[column] += added
        return
    write = ctx.statement("rm_versions", "count:" + column, lambda t: update(t).where(
        t.c.version_id == bindparam("b_id"),
        t.c.project_id == bindparam("b_project") if column == "children" else true(),
    ).values({column: t.c[column] + bindparam("b_added")}))
    ctx.queue("rm_versions", write, {"b_id": version_id, "b_project": project_id,
                                     "b_added": added})


PROJECTION = Projection(
    name="version_tree",
    tables=(assets, versions, project_assets),
    handlers={
        "asset.created": _asset_created,
        "asset.tag_added": lambda ctx, rec: _retag(ctx, rec, True),
        "asset.tag_removed": lambda ctx, rec: _retag(ctx, rec, False),
        "version.created": _version_created,
        "decision.recorded": lambda ctx, rec: _count_on_version(
            ctx, rec.event.version_id, "standing_decisions", 1),
        "decision.revoked": lambda ctx, rec: _count_on_version(
            ctx, rec.event.version_id, "standing_decisions", -1),
    },
)


# -- queries ---------------------------------------------------------------------------

def assets_page(conn: Connection, project_id: str, *, after: int, limit: int,
                ) -> list[dict[str, Any]]:
    """The project's assets created after position ``after``, oldest first, at most
    ``limit``: asset_id, name, brief, created_at, position."""
    a = assets.c
    rows = conn.execute(select(a.asset_id, a.name, a.brief, a.created_at, a.position)
                        .where(a.project_id == project_id, a.position > after)
                        .order_by(a.position).limit(limit)).mappings().all()
    return [{**row, "created_at": iso(row["created_at"])} for row in rows]


def versions_page(conn: Connection, asset_id: str, *, after: int, limit: int,
                  ) -> list[dict[str, Any]]:
    """The asset's versions recorded after position ``after``, in creation order, at
    most ``limit``, as the write side summarises them (with their ``position``)."""
    v = versions.c
    rows = conn.execute(
        select(v.version_id, v.parent_ids, v.operation, v.tier, v.content_hash, v.width,
               v.height, v.author_id, v.job_id, v.created_at, v.position)
        .where(v.asset_id == asset_id, v.position > after)
        .order_by(v.position).limit(limit)).mappings().all()
    return [{**row, "parent_ids": list(row["parent_ids"]),
             "created_at": iso(row["created_at"])} for row in rows]


def asset_row(conn: Connection, asset_id: str, as_of: datetime | None = None, *,
              version_count: int | None = None) -> dict[str, Any]:
    """The asset's summary, now or as of a time (its tags then come from the catalog's
    tag history). Raises NotFound, also when the asset did not exist yet.

    A caller that has just read the asset's versions as of the same moment passes their
    number as ``version_count`` rather than have them counted again."""
    as_of = utc(as_of) if as_of is not None else None
    row = conn.execute(select(assets).where(assets.c.asset_id == asset_id,
                                            existed_at(assets.c.created_at, as_of))
                       ).mappings().first()
    if row is None:
        when = f" at {as_of.isoformat()}" if as_of else ""
        raise NotFound(f"asset {asset_id} does not exist{when}")
    count = version_count
    if count is None:
        count = conn.execute(select(func.count()).select_from(versions).where(
            versions.c.asset_id == asset_id, existed_at(versions.c.created_at, as_of))
        ).scalar_one()
    tags = list(row["tags"])
    if as_of is not None:
        t = catalog_tags.c
        tags = sorted(conn.execute(select(t.tag).distinct().where(
            t.asset_id == asset_id, t.is_leaf.is_(True),
            valid_at(t.added_at, t.removed_at, as_of))).scalars())
    return {"asset_id": row["asset_id"], "project_id": row["project_id"],
            "name": row["name"], "brief": row["brief"], "tags": tags,
            "created_by": row["created_by"], "created_at": iso(row["created_at"]),
            "version_count": count}


def asset_tree(conn: Connection, asset_id: str, as_of: datetime | None = None,
               removed: Collection[str] = ()) -> dict[str, Any]:
    """The asset's version tree, now or as of a time: nodes (with children), roots,
    branch heads, and the versions approved (per channel but the ``removed`` ones, as
    :func:`projections.review_state.asset_review` takes them) and pinned. Raises
    NotFound."""
    as_of = utc(as_of) if as_of is not None else None
    rows = conn.execute(select(versions).where(
        versions.c.asset_id == asset_id, existed_at(versions.c.created_at, as_of))
        .order_by(versions.c.position)).mappings().all()
    asset = asset_row(conn, asset_id, as_of, version_count=len(rows))
    approved: dict[str, list[str]] = {}
    standing = offered(current_approvals(conn, asset_id, as_of), removed)
    for channel, version_id in sorted(standing.items()):
        approved.setdefault(version_id, []).append(channel)
    pinned = _active_pins(conn, asset_id, as_of)
    nodes: dict[str, dict[str, Any]] = {}
    for row in rows:
        node = _node(row)
        node["approved_channels"] = approved.get(row["version_id"], [])
        node["pins"] = pinned.get(row["version_id"], [])
        nodes[row["version_id"]] = node
    for node in nodes.values():
        for parent in node["parent_ids"]:
            if parent in nodes:
                nodes[parent]["children"].append(node["version_id"])
    roots = [v for v, n in nodes.items() if not any(p in nodes for p in n["parent_ids"])]
    heads = [v for v, n in nodes.items() if not n["children"]]
    return {"asset": asset, "nodes": list(nodes.values()), "roots": roots,
            "branch_heads": heads,
            "approved": sorted({v for v, chans in approved.items() if chans}),
            "pinned": sorted(pinned)}


def lineage(conn: Connection, version_id: str) -> dict[str, Any]:
    """The chain from the root to ``version_id`` (first parent at each merge), each step
    with its full recipe. Raises NotFound."""
    row = conn.execute(select(versions).where(versions.c.version_id == version_id)
                       ).mappings().first()
    if row is None:
        raise NotFound(f"version {version_id} does not exist")
    siblings = {r["version_id"]: r for r in conn.execute(
        select(versions).where(versions.c.asset_id == row["asset_id"])).mappings().all()}
    chain = []
    seen: set[str] = set()
    current: Any = row
    while current is not None and current["version_id"] not in seen:
        seen.add(current["version_id"])
        step = _node(current)
        step.pop("children")
        step["recipe"] = current["recipe"]
        step["job_id"] = current["job_id"]
        step["cost_seconds"] = current["cost_seconds"]
        chain.append(step)
        parents = current["parent_ids"]
        if not parents:
            break
        current = siblings.get(parents[0]) or conn.execute(
            select(versions).where(versions.c.version_id == parents[0])).mappings().first()
    chain.reverse()
    return {"version_id": version_id, "asset_id": row["asset_id"],
            "project_id": row["project_id"], "depth": len(chain) - 1, "chain": chain}


def _node(row: Any) -> dict[str, Any]:
    recipe = row["recipe"] or {}
    return {
        "version_id": row["version_id"], "parent_ids": list(row["parent_ids"]),
        "children": [], "operation": row["operation"], "tier": row["tier"],
        "author_id": row["author_id"], "created_at": iso(row["created_at"]),
        "content_hash": row["content_hash"], "width": row["width"], "height": row["height"],
        "prompt": recipe.get("prompt"), "seed": recipe.get("seed"),
        "model_id": recipe.get("model_id"), "depth": row["depth"],
        # A re-baked or promoted version names the step it re-made (and says so).
        "derived_from": row["derived_from"], "note": row["note"],
        "image": IMAGE_LINK.format(version_id=row["version_id"]),
        "thumbnail": THUMBNAIL_LINK.format(version_id=row["version_id"]),
    }


def _active_pins(conn: Connection, asset_id: str, as_of: datetime | None,
                 ) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    rows = conn.execute(select(pins.c.version_id, pins.c.label).where(
        pins.c.asset_id == asset_id, valid_at(pins.c.pinned_at, pins.c.unpinned_at, as_of))
        .order_by(pins.c.position))
    for version_id, label in rows:
        result.setdefault(version_id, []).append(label)
    return result
