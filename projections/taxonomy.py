"""The tag tree of a project: hierarchical tags (``campaign/summer-26/social``) with the
number of assets and versions at every level (a level counts everything below it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, func, select

from projections.tables import catalog_tags, catalog_versions


def project_taxonomy(conn: Connection, project_id: str) -> dict[str, Any]:
    """``{"project_id", "tags": [node…]}``; a node is ``{"name", "path", "depth",
    "assets", "versions", "children"}``, children sorted by path."""
    t, v = catalog_tags, catalog_versions
    rows = conn.execute(
        select(t.c.prefix, t.c.depth,
               func.count(func.distinct(t.c.asset_id)).label("assets"),
               func.count(func.distinct(v.c.version_id)).label("versions"))
        .select_from(t.outerjoin(v, and_(v.c.asset_id == t.c.asset_id)))
        .where(t.c.project_id == project_id, t.c.removed_at.is_(None))
        .group_by(t.c.prefix, t.c.depth)
        .order_by(t.c.depth, t.c.prefix)).all()
    nodes: dict[str, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []
    for prefix, depth, asset_count, version_count in rows:
        node = {"name": prefix.rsplit("/", 1)[-1], "path": prefix, "depth": depth,
                "assets": asset_count, "versions": version_count, "children": []}
        nodes[prefix] = node
        parent = nodes.get(prefix.rsplit("/", 1)[0]) if "/" in prefix else None
        (parent["children"] if parent else roots).append(node)
    return {"project_id": project_id, "tags": roots}
