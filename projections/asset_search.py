"""Catalog search over assets: the same query as version search, answered with assets.

An asset is found by its own document (name and brief), so one without versions is
found too; free text also finds it through its versions' prompts, notes and comments,
ranked below a match on its own words. Tags, projects, dates and ``as_of`` apply to the
asset itself; the version filters (operation, tier, model, author, status, approved)
keep the assets with at least one version matching all of them at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, exists, false, func, select
from sqlalchemy.sql import ColumnElement, Select

from projections.common import iso
from projections.search import (
    SearchQuery,
    at_utc,
    matching_docs,
    nothing_found,
    rank,
    relative_score,
    tag_filter,
    valid_at,
    version_filters,
)
from projections.tables import catalog_assets, catalog_docs, catalog_tags, catalog_versions

VERSION_MATCH_WEIGHT = 0.5
"""A match in a version's text or comments ranks its asset below a match on the asset's
own name or brief."""

asset_docs = catalog_docs.alias("asset_docs")
"""Each asset's own document (kind ``asset``, written when the asset was created): the
row an asset search starts from, with the asset's project and creation time."""
a = asset_docs
v = catalog_versions


def _conditions(query: SearchQuery) -> list[ColumnElement]:
    where: list[ColumnElement] = [a.c.kind == "asset"]
    if query.projects is not None:
        where.append(a.c.project_id.in_(query.projects) if query.projects else false())
    if query.as_of is not None:
        where.append(a.c.created_at <= query.as_of)
    if query.created_from is not None:
        where.append(a.c.created_at >= query.created_from)
    if query.created_to is not None:
        where.append(a.c.created_at <= query.created_to)
    where.extend(tag_filter(tag, query.as_of, query.projects, a.c.asset_id)
                 for tag in query.tags)
    of_versions = version_filters(query)
    if of_versions:
        if query.as_of is not None:
            of_versions.append(v.c.created_at <= query.as_of)
        where.append(exists(select(v.c.version_id).where(
            v.c.asset_id == a.c.asset_id, *of_versions).correlate(a)))
    return where


def _text_scores(conn: Connection, q: str, query: SearchQuery) -> Select | None:
    """asset_id, score for assets whose own text, or whose versions' text or comments,
    match ``q``; None when ``q`` has no words."""
    matching = matching_docs(conn, q, query)
    if matching is None:
        return None
    # Materialised: SQLite may only evaluate bm25() in the query that does the MATCH,
    # and would otherwise merge that query into this grouping one.
    hits = matching.cte("hits").prefix_with("MATERIALIZED")
    weighted = case((hits.c.kind == "asset", hits.c.score),
                    else_=hits.c.score * VERSION_MATCH_WEIGHT)
    return (select(hits.c.asset_id, func.max(weighted).label("score"))
            .group_by(hits.c.asset_id))


def search_assets(conn: Connection, query: SearchQuery) -> dict[str, Any]:
    """Matching assets (best first, or newest first without ``q``), total and, with
    ``facets``, asset counts by (full) tag. ``collapse_seed`` does not apply to assets:
    raises ValueError."""
    if query.collapse_seed:
        raise ValueError("collapse_seed groups versions; an asset search has none")
    query = at_utc(query)
    ranked = rank(conn, query, a.c.asset_id, a.c.doc_no, _conditions, _text_scores)
    if ranked is None:
        return nothing_found(query)
    base, score, order = ranked
    page = conn.execute(base.add_columns(score.label("score"),
                                         func.count().over().label("total"),
                                         func.max(score).over().label("best"))
                        .order_by(*order).limit(query.limit).offset(query.offset)).all()
    total = page[0].total if page else conn.execute(
        select(func.count()).select_from(base.subquery())).scalar_one()
    ids = [row.asset_id for row in page]
    details = _details(conn, ids, query.as_of)
    results = [{**details[row.asset_id],
                **({"score": relative_score(row.score, row.best)} if query.q else {})}
               for row in page]
    result: dict[str, Any] = {"total": total, "items": results}
    if query.facets:
        result["facets"] = {"tag": _tag_counts(conn, base, query.as_of)}
    return result


def _details(conn: Connection, ids: list[str], as_of: datetime | None,
             ) -> dict[str, dict[str, Any]]:
    """What a result shows of each asset in ``ids``, as it stood at ``as_of``."""
    if not ids:
        return {}
    assets = catalog_assets
    rows = conn.execute(
        select(a.c.asset_id, a.c.project_id, a.c.body, a.c.created_at, assets.c.name)
        .join_from(a, assets, assets.c.asset_id == a.c.asset_id)
        .where(a.c.asset_id.in_(ids), a.c.kind == "asset"))
    details = {row.asset_id: {
        "asset_id": row.asset_id, "name": row.name, "brief": _brief(row.body, row.name),
        "project_id": row.project_id, "created_at": iso(row.created_at), "tags": [],
        "version_count": 0} for row in rows}
    t = catalog_tags
    for asset_id, tag in conn.execute(
            select(t.c.asset_id, t.c.tag)
            .where(t.c.asset_id.in_(ids), t.c.is_leaf.is_(True),
                   valid_at(t, as_of, "added_at", "removed_at"))
            .order_by(t.c.asset_id, t.c.tag)):
        details[asset_id]["tags"].append(tag)
    counted = select(v.c.asset_id, func.count()).where(v.c.asset_id.in_(ids))
    if as_of is not None:
        counted = counted.where(v.c.created_at <= as_of)
    for asset_id, count in conn.execute(counted.group_by(v.c.asset_id)):
        details[asset_id]["version_count"] = count
    return details


def _brief(body: str, name: str) -> str:
    """The brief from the asset's document, which the catalog writes as name, newline,
    brief."""
    return body[len(name) + 1:] if body.startswith(name + "\n") else ""


def _tag_counts(conn: Connection, base: Select, as_of: datetime | None) -> dict[str, int]:
    """Matching assets per (full) tag they carried at ``as_of``."""
    ids = base.subquery("facet_ids")
    t = catalog_tags
    rows = conn.execute(
        select(t.c.tag, func.count(func.distinct(t.c.asset_id)))
        .join_from(ids, t, t.c.asset_id == ids.c.asset_id)
        .where(t.c.is_leaf.is_(True), valid_at(t, as_of, "added_at", "removed_at"))
        .group_by(t.c.tag))
    return dict(sorted((tag, n) for tag, n in rows))


__all__ = ["search_assets", "VERSION_MATCH_WEIGHT"]
