"""Catalog search: free text with ranking, filters, facets, seed collapsing, as-of.

One query builder for SQLite (FTS5) and PostgreSQL (tsvector); the full-text part is
:mod:`projections.fulltext`. Every filter can be evaluated "as of" a time because the
catalog rows carry the times they became and stopped being true.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    and_,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.sql import ColumnElement, Select

from events.store import utc
from projections import fulltext
from projections.access import channel_removed
from projections.catalog import normalise_tag
from projections.common import iso
from projections.tables import (
    catalog_decisions,
    catalog_docs,
    catalog_tags,
    catalog_versions,
)
from projections.tables import projects as projects_table
from rules.approvals import APPROVED, DEFAULT_CHANNEL

v = catalog_versions
ASSET_MATCH_WEIGHT = 0.5
"""A match on an asset's name or brief ranks its versions below a match on their own text."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class SearchQuery:
    """``projects`` None means every project (an admin without a project filter)."""

    projects: list[str] | None
    q: str | None = None
    tags: tuple[str, ...] = ()
    operation: str | None = None
    tier: str | None = None
    model: str | None = None
    sampler: str | None = None
    tool: str | None = None
    author: str | None = None
    status: str | None = None
    approved: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    as_of: datetime | None = None
    collapse_seed: bool = False
    facets: bool = False
    limit: int = 50
    offset: int = 0


def valid_at(table: Any, as_of: datetime | None, start: str, end: str) -> ColumnElement:
    """The rows of ``table`` true at ``as_of`` (now when None): begun by then, not ended."""
    if as_of is None:
        return table.c[end].is_(None)
    return and_(table.c[start] <= as_of,
                or_(table.c[end].is_(None), table.c[end] > as_of))


def status_expression(as_of: datetime | None) -> ColumnElement:
    """The version's state: its latest decision not revoked (as of the time) in a
    channel the project had not removed then, or none (as the review state's)."""
    d = catalog_decisions
    latest = (select(d.c.decision)
              .where(d.c.version_id == v.c.version_id,
                     valid_at(d, as_of, "decided_at", "revoked_at"),
                     ~channel_removed(v.c.project_id, _channel(d), as_of))
              .order_by(d.c.position.desc()).limit(1).correlate(v).scalar_subquery())
    return func.coalesce(latest, "none")


def _channel(decisions: Any) -> ColumnElement:  # noqa: ANN401 - a decisions table or alias
    """The channel a decision counts for (rules/approvals.py channel_key, in SQL)."""
    return func.coalesce(decisions.c.channel, DEFAULT_CHANNEL)


def approved_expression(as_of: datetime | None) -> ColumnElement:
    """Whether the version stands approved in a channel (as of the time): the rule of
    rules/approvals.py in SQL. One of its standing approvals, in a channel the project
    had not removed then, that no later standing decision in the same channel took back:
    an approval of another version of the asset, or another decision on this version."""
    approval, later = catalog_decisions.alias("approval"), catalog_decisions.alias("later")
    channel = _channel(approval)
    taken_back = exists(select(later.c.decision_id).where(
        later.c.asset_id == approval.c.asset_id, later.c.position > approval.c.position,
        _channel(later) == channel,
        valid_at(later, as_of, "decided_at", "revoked_at"),
        or_(and_(later.c.decision == APPROVED, later.c.version_id != approval.c.version_id),
            and_(later.c.decision != APPROVED, later.c.version_id == approval.c.version_id)),
    ).correlate(approval))
    return exists(select(approval.c.decision_id).where(
        approval.c.version_id == v.c.version_id, approval.c.decision == APPROVED,
        valid_at(approval, as_of, "decided_at", "revoked_at"),
        ~channel_removed(v.c.project_id, channel, as_of), ~taken_back).correlate(v))


def tag_filter(tag: str, as_of: datetime | None, projects: list[str] | None,
               asset_id: ColumnElement = v.c.asset_id) -> ColumnElement:
    """Whether the asset ``asset_id`` (a column of the enclosing query: a version's
    asset by default) carries ``tag`` or a tag below it at ``as_of``."""
    t = catalog_tags
    where = [t.c.asset_id == asset_id, t.c.prefix == normalise_tag(tag),
             valid_at(t, as_of, "added_at", "removed_at")]
    if projects:
        # Implied by the versions' own project filter; stated here so the tag rows are
        # found by (project_id, prefix), not among every project's rows with the tag.
        where.append(t.c.project_id.in_(projects))
    return exists(select(t.c.row_id).where(*where).correlate(asset_id.table))


def matching_docs(conn: Connection, q: str, query: SearchQuery) -> Select | None:
    """``doc_no, score, version_id, asset_id, kind`` of the documents in the searched
    projects (and existing at ``as_of``) that match ``q``; None when ``q`` has no words.

    Filtered inside the full-text match, so only the projects' matches are read and
    ranked, not every project's."""
    dialect = conn.dialect.name
    hits = fulltext.matching_docs(dialect, catalog_docs, q)
    if hits is None:
        return None
    docs = catalog_docs
    where = []
    if query.projects is not None:
        where.append(docs.c.project_id.in_(query.projects) if query.projects else false())
    if query.as_of is not None:
        where.append(docs.c.created_at <= query.as_of)
    columns = (docs.c.version_id, docs.c.asset_id, docs.c.kind)
    if dialect == "postgresql":
        # The hits are rows of the docs table itself: its other columns come along, and
        # the full-text and project indexes are intersected before any row is read.
        return hits.add_columns(*columns).where(*where)
    # SQLite: an FTS5 rowid is the doc_no, and each match is looked up by it. A few
    # projects' doc_nos are collected once and checked before bm25 ranks a match; the
    # unary "+" keeps FTS5 from instead probing the full-text index once per project
    # document (far slower). When the projects hold much of the catalog, collecting
    # their documents costs more than checking each match's project on its docs row.
    if query.projects and few_projects(conn, query.projects):
        hits = hits.where(literal_column("+rowid").in_(
            select(docs.c.doc_no).where(where.pop(0)).scalar_subquery()))
    elif query.projects:
        # ``|| ''`` keeps the planner from driving from the projects' documents and
        # probing the full-text index for each (the same reason the filter is not
        # repeated on docs above).
        where[0] = docs.c.project_id.concat("").in_(query.projects)
    found = hits.subquery("found")
    return (select(found.c.doc_no, found.c.score, *columns)
            .join_from(found, docs, docs.c.doc_no == found.c.doc_no).where(*where))


FEW_PROJECTS = 0.1
"""A search over less than this share of all projects collects their documents before
matching (SQLite); over more, it checks each match's project instead. Measured on the
read benchmark's catalog: collecting 1 of 30 projects' documents took half the time of
checking every match, 5 of 30 already a third more, 30 of 30 two and a half times."""


def few_projects(conn: Connection, projects: list[str]) -> bool:
    """Whether ``projects`` are fewer than FEW_PROJECTS of all projects."""
    total = conn.execute(select(func.count()).select_from(projects_table)).scalar_one()
    return len(projects) < FEW_PROJECTS * total


def _text_scores(conn: Connection, q: str, query: SearchQuery) -> Select | None:
    """version_id, score for versions whose text, comments or asset match ``q``."""
    matching = matching_docs(conn, q, query)
    if matching is None:
        return None
    # A CTE: both branches below read the same hits, matched and ranked once.
    hits = matching.cte("hits")
    # A version's own document is written with its row; a comment names its version
    # without one, so only comments are joined with the versions (by their key; a
    # comment on a version the catalog lacks matches no version). Three branches, not
    # one with "version or known": PostgreSQL turns an EXISTS under OR into a hashed
    # subplan that reads every version of the catalog, whatever the few hits.
    own = (select(hits.c.version_id.label("version_id"), hits.c.score.label("score"))
           .where(hits.c.kind == "version"))
    commented = (select(v.c.version_id, hits.c.score)
                 .join_from(hits, v, v.c.version_id == hits.c.version_id)
                 .where(hits.c.kind == "comment"))
    by_asset = (select(v.c.version_id, (hits.c.score * ASSET_MATCH_WEIGHT).label("score"))
                .join_from(hits, v, v.c.asset_id == hits.c.asset_id)
                .where(hits.c.kind == "asset"))
    scores = union_all(own, commented, by_asset).subquery("scores")
    return (select(scores.c.version_id, func.max(scores.c.score).label("score"))
            .group_by(scores.c.version_id))


def version_filters(query: SearchQuery) -> list[ColumnElement]:
    """The conditions on a version itself: its operation, tier, model, author and
    review state as of the query's time (an asset search applies them to its versions)."""
    where: list[ColumnElement] = []
    for column, value in ((v.c.operation, query.operation), (v.c.tier, query.tier),
                          (v.c.model_id, query.model), (v.c.sampler, query.sampler),
                          (v.c.tool, query.tool), (v.c.author_id, query.author)):
        if value is not None:
            where.append(column == value)
    if query.status is not None:
        where.append(status_expression(query.as_of) == query.status)
    if query.approved is not None:
        approved = approved_expression(query.as_of)
        where.append(approved if query.approved else ~approved)
    return where


def _conditions(query: SearchQuery) -> list[ColumnElement]:
    as_of = query.as_of
    where: list[ColumnElement] = []
    if query.projects is not None:
        where.append(v.c.project_id.in_(query.projects) if query.projects else false())
    if as_of is not None:
        where.append(v.c.created_at <= as_of)
    if query.created_from is not None:
        where.append(v.c.created_at >= query.created_from)
    if query.created_to is not None:
        where.append(v.c.created_at <= query.created_to)
    where.extend(tag_filter(tag, as_of, query.projects) for tag in query.tags)
    return where + version_filters(query)


def at_utc(query: SearchQuery) -> SearchQuery:
    """The query with its ``as_of`` in UTC (the catalog's times are)."""
    return dataclasses.replace(query, as_of=utc(query.as_of) if query.as_of else None)


def nothing_found(query: SearchQuery) -> dict[str, Any]:
    """The answer to free text without a searchable word."""
    return {"total": 0, "items": [], "facets": {} if query.facets else None}


def rank(conn: Connection, query: SearchQuery, key: Column, newest: Column,
         conditions: Callable[[SearchQuery], list[ColumnElement]],
         text_scores: Callable[[Connection, str, SearchQuery], Select | None],
         ) -> tuple[Select, ColumnElement, list] | None:
    """``(base, score, order)``: the ``key`` of rows meeting ``conditions(query)``;
    with ``q`` joined with ``text_scores`` (rows keyed like ``key``), best first,
    without newest first by ``newest``. None when ``q`` has no searchable word."""
    base = select(key).where(*conditions(query))
    if not query.q:
        return base, literal(0.0), [newest.desc()]
    scores = text_scores(conn, query.q, query)
    if scores is None:
        return None
    scored = scores.subquery("scored")
    base = base.join_from(key.table, scored, scored.c[key.name] == key)
    return base, scored.c.score, [scored.c.score.desc(), newest.desc()]


def search(conn: Connection, query: SearchQuery) -> dict[str, Any]:
    """Matching versions (best first, or newest first without ``q``), total, facets."""
    query = at_utc(query)
    ranked = rank(conn, query, v.c.version_id, v.c.position, _conditions, _text_scores)
    if ranked is None:
        return nothing_found(query)
    base, score, order = ranked
    if query.q and _ranks_on_scores_alone(query):
        page, total = _page_by_score(conn, query, score.table)
        return _answer(conn, query, base, page, total)
    if not query.q and not query.collapse_seed:
        page, total = _page_newest_first(conn, query, base)
        return _answer(conn, query, base, page, total)
    # The page is chosen from ids, scores and positions only; status and the rest are
    # read for the page's rows alone (not for every match before sorting).
    ranking = base.with_only_columns(v.c.version_id, v.c.position, score.label("score"))
    if query.collapse_seed:
        ranked = ranking.add_columns(
            func.row_number().over(partition_by=v.c.variation_key, order_by=order)
            .label("variant_rank"),
            func.count().over(partition_by=v.c.variation_key).label("variations"),
        ).subquery("ranked")
        chosen = (select(ranked.c.version_id, ranked.c.score, ranked.c.variations,
                         func.count().over().label("total"),
                         func.max(ranked.c.score).over().label("best"))
                  .where(ranked.c.variant_rank == 1)
                  .order_by(*([ranked.c.score.desc()] if query.q else []),
                            ranked.c.position.desc()))
    else:
        chosen = ranking.add_columns(literal(1).label("variations"),
                                     func.count().over().label("total"),
                                     func.max(score).over().label("best")).order_by(*order)
    page = conn.execute(chosen.limit(query.limit).offset(query.offset)).mappings().all()
    if page:
        total = page[0]["total"]
    else:
        counted = (ranked.c.version_id if query.collapse_seed else None)
        total = conn.execute(select(func.count()).select_from(
            select(counted).where(ranked.c.variant_rank == 1).subquery()
            if counted is not None else base.subquery())).scalar_one()
    return _answer(conn, query, base, page, total)


def _answer(conn: Connection, query: SearchQuery, base: Select, page: list, total: int,
            ) -> dict[str, Any]:
    """The answer for a chosen ``page`` (version_id, score, variations per row)."""
    details = {row["version_id"]: row for row in conn.execute(
        select(*v.c, status_expression(query.as_of).label("status"),
               approved_expression(query.as_of).label("approved"))
        .where(v.c.version_id.in_([p["version_id"] for p in page]))).mappings()}
    results = [_result({**details[p["version_id"]], "score": p["score"], "best": p["best"],
                        "variations": p["variations"]}, query) for p in page]
    result: dict[str, Any] = {"total": total, "items": results}
    if query.facets:
        result["facets"] = facets(conn, base, query.as_of)
    return result


def _ranks_on_scores_alone(query: SearchQuery) -> bool:
    """Whether free text is the only condition on the versions besides their projects
    (now, no other filter, no collapsing): then a version is in the answer when a
    matching document names it, and its own row is needed only to order the page. (The
    documents are filtered by project already, and a document's versions, its own or its
    asset's, are in its project.)"""
    return (query.as_of is None and not query.collapse_seed and query.limit > 0
            and not _conditions(dataclasses.replace(query, projects=None)))


def _page_by_score(conn: Connection, query: SearchQuery, scored: Any,
                   ) -> tuple[list, int]:
    """Page and total of a free-text search filtered at most by project, ranked on
    ``scored`` (the version_id, score subquery of :func:`_text_scores`).

    Total and order are the general path's: versions that exist (``_text_scores`` names
    no other), best score first, then newest. But the versions' rows (their positions,
    the tie-break) are read only for the candidates that can reach the page: those
    scoring at least the page's last score. Over every project a common pair of words
    matches ~18,000 versions at 1M events, and reading each one's row cost SQLite more
    than ranking them."""
    candidates = (select(scored.c.version_id, scored.c.score)
                  .cte("candidates").prefix_with("MATERIALIZED"))
    last = (select(candidates.c.score).order_by(candidates.c.score.desc())
            .offset(query.offset + query.limit - 1).limit(1)
            .correlate(None).scalar_subquery())
    total = select(func.count()).select_from(candidates).correlate(None).scalar_subquery()
    best = (select(func.max(candidates.c.score)).select_from(candidates).correlate(None)
            .scalar_subquery())
    # A subquery per candidate (not a join), so neither database plans a scan of every
    # version for the few rows that reach it.
    position = (select(v.c.position).where(v.c.version_id == candidates.c.version_id)
                .scalar_subquery())
    chosen = (select(candidates.c.version_id, candidates.c.score,
                     literal(1).label("variations"), total.label("total"), best.label("best"))
              # Fewer candidates than the page reaches: all of them.
              .where(candidates.c.score >= func.coalesce(last, candidates.c.score))
              .order_by(candidates.c.score.desc(), position.desc())
              .limit(query.limit).offset(query.offset))
    page = conn.execute(chosen).mappings().all()
    if page:
        return page, page[0]["total"]
    return page, conn.execute(select(total)).scalar_one()


def _page_newest_first(conn: Connection, query: SearchQuery, base: Select,
                       ) -> tuple[list, int]:
    """Page and total of a search without free text or collapsing: the page read newest
    first along the position index (LIMIT stops it early), the total counted apart. A
    window count over the page query made both databases read and sort every matching
    version for the 20 shown: over every project, the whole catalog."""
    page = conn.execute(
        base.with_only_columns(v.c.version_id, literal(0.0).label("score"),
                               literal(1).label("variations"), literal(0.0).label("best"))
        .order_by(v.c.position.desc()).limit(query.limit).offset(query.offset)
    ).mappings().all()
    if query.offset == 0 and len(page) < query.limit:
        return page, len(page)
    return page, conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()


def _result(row: Any, query: SearchQuery) -> dict[str, Any]:
    item = {
        "version_id": row["version_id"], "asset_id": row["asset_id"],
        "asset_name": row["asset_name"], "project_id": row["project_id"],
        "operation": row["operation"], "tier": row["tier"], "model_id": row["model_id"],
        "author_id": row["author_id"], "seed": _seed(row["seed"]), "prompt": row["prompt"],
        "sampler": row["sampler"], "tool": row["tool"],
        "content_hash": row["content_hash"], "created_at": iso(row["created_at"]),
        "status": row["status"], "approved": bool(row["approved"]),
        "thumbnail": f"/api/versions/{row['version_id']}/image?size=thumbnail",
    }
    if query.q:
        item["score"] = relative_score(row["score"], row["best"])
    if query.collapse_seed:
        item["variations"] = row["variations"]
    return item


def relative_score(raw: Any, best: Any) -> float:  # noqa: ANN401 - database numbers
    """A match's relevance as a share of the best match of the whole search (1.0 for it;
    the same on every page). The databases' raw ranks are not comparable, and FTS5's
    bm25 shrinks to millionths when a word is in most documents (its IDF floor), which
    rounded every hit to the same 1e-06."""
    if not best or not raw:
        return 0.0
    return round(float(raw) / float(best), 4)


def _seed(stored: str | None) -> int | None:
    """The catalog keeps seeds as text (imported ones reach 2**64); answers give numbers."""
    return int(stored) if stored is not None and stored.isdigit() else None


MADE_BY_FACETS = ("model", "sampler", "tool")
"""Facets over how versions were made (their own recipe, or an upload's imported one)."""


def facets(conn: Connection, base: Select, as_of: datetime | None) -> dict[str, Any]:
    """Counts over the whole filtered set: by tier, operation, status, model, sampler,
    tool and (full) tag.

    One statement: the set (free-text matching and ranking included) is evaluated once,
    with each version's tier, operation, asset, status, model, sampler and tool,
    materialised, and the aggregations read it: counts per (tier, operation, status)
    combination, folded into three facets here, per model, sampler and tool, and versions
    per leaf tag."""
    rows = (base.add_columns(v.c.tier, v.c.operation, v.c.asset_id,
                             status_expression(as_of).label("status"),
                             v.c.model_id.label("model"), v.c.sampler, v.c.tool)
            .cte("facet_rows").prefix_with("MATERIALIZED"))
    combinations = select(literal("state").label("facet"), rows.c.tier.label("a"),
                          rows.c.operation.label("b"), rows.c.status.label("c"),
                          func.count().label("n")
                          ).group_by(rows.c.tier, rows.c.operation, rows.c.status)
    made_by = [select(literal(name), rows.c[name], literal(None), literal(None), func.count())
               .where(rows.c[name].is_not(None)).group_by(rows.c[name])
               for name in MADE_BY_FACETS]
    t = catalog_tags
    tags = (select(literal("tag"), t.c.tag, literal(None), literal(None),
                   func.count(func.distinct(rows.c.version_id)))
            .select_from(rows.join(t, t.c.asset_id == rows.c.asset_id))
            .where(t.c.is_leaf.is_(True), valid_at(t, as_of, "added_at", "removed_at"))
            .group_by(t.c.tag))
    result: dict[str, Any] = {"tier": {}, "operation": {}, "status": {},
                              **{name: {} for name in MADE_BY_FACETS}, "tag": {}}
    for row in conn.execute(union_all(combinations, *made_by, tags)):
        if row.facet != "state":
            result[row.facet][row.a] = row.n
            continue
        for name, value in (("tier", row.a), ("operation", row.b), ("status", row.c)):
            result[name][value] = result[name].get(value, 0) + row.n
    for name in ("tag", *MADE_BY_FACETS):
        result[name] = dict(sorted(result[name].items()))
    return result


__all__ = ["SearchQuery", "search", "facets", "rank", "relative_score", "at_utc",
           "nothing_found", "valid_at", "tag_filter", "matching_docs", "version_filters"]
