"""Engine-level entry points for the HTTP views (which never touch SQLAlchemy): each
opens a read connection and calls one query."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, text

from events.db import read_connection
from events.schema import events
from events.store import utc
from projections import (
    access,
    asset_search,
    asset_view,
    audit_queries,
    board,
    guest_links,
    jobs,
    metrics,
    models,
    review_state,
    search,
    taxonomy,
    templates,
    tier_costs,
    version_tree,
)
from rules.job_estimate import RateSums


def tree(engine: Engine, asset_id: str, as_of: datetime | None = None,
         removed: Collection[str] = ()) -> dict[str, Any]:
    """The asset's version tree, now or as of a time, without approvals in the
    ``removed`` channels (removed from the project by then); raises NotFound."""
    with read_connection(engine) as conn:
        return version_tree.asset_tree(conn, asset_id, as_of, removed)


def review(engine: Engine, asset_id: str, as_of: datetime | None = None,
           removed: Collection[str] = ()) -> dict[str, Any]:
    """The asset's review state, now or as of a time, without approvals in the
    ``removed`` channels (as :func:`tree`); raises NotFound."""
    with read_connection(engine) as conn:
        return review_state.asset_review(conn, asset_id, as_of, removed)


def removed_channels(engine: Engine, project_id: str, as_of: datetime | None = None,
                     ) -> frozenset[str]:
    """The channels removed from the project and not set again, now or at ``as_of``:
    their approvals do not stand (rules/approvals.py)."""
    with read_connection(engine) as conn:
        return access.removed_channels(conn, project_id, as_of)


def asset(engine: Engine, asset_id: str, as_of: datetime | None = None,
          ) -> tuple[dict[str, Any], int]:
    """The asset as a member sees it, now or as of a time, and its stream version then;
    raises NotFound."""
    with read_connection(engine) as conn:
        return asset_view.asset_answer(conn, asset_id, as_of)


def version(engine: Engine, version_id: str) -> tuple[dict[str, Any], int]:
    """One version with its comments, decisions and pins, and its asset's stream
    version; raises NotFound."""
    with read_connection(engine) as conn:
        return asset_view.version_answer(conn, version_id)


def pending_jobs(engine: Engine, asset_id: str) -> list[str]:
    """Ids of the asset's jobs that have yet to make a version."""
    with read_connection(engine) as conn:
        return asset_view.pending_job_ids(conn, asset_id)


def version_content_hash(engine: Engine, version_id: str) -> str | None:
    """The content hash of a version the version tree holds (None: it holds none)."""
    with read_connection(engine) as conn:
        return asset_view.content_hash_of(conn, version_id)


def lineage(engine: Engine, version_id: str) -> dict[str, Any]:
    with read_connection(engine) as conn:
        return version_tree.lineage(conn, version_id)


def find(engine: Engine, query: search.SearchQuery) -> dict[str, Any]:
    with read_connection(engine) as conn:
        return search.search(conn, query)


def find_assets(engine: Engine, query: search.SearchQuery) -> dict[str, Any]:
    with read_connection(engine) as conn:
        return asset_search.search_assets(conn, query)


def project_board(engine: Engine, project_id: str, channels: list[str], *,
                  q: str | None = None, tag: str | None = None, tier: str | None = None,
                  status: str | None = None, limit: int = 200) -> dict[str, Any]:
    """The board of a project: its newest assets, or those the catalog finds for ``q``,
    ``tag`` and ``tier`` (best match first with ``q``), at most ``limit``, as cards with
    their status per channel, kept when one channel has ``status``; counts of the cards
    per status (before the status filter) and, for a search, tag facets."""
    with read_connection(engine) as conn:
        if q or tag or tier:
            found = asset_search.search_assets(conn, search.SearchQuery(
                projects=[project_id], q=q, tags=(tag,) if tag else (), tier=tier,
                facets=bool(q), limit=limit))
            ids, total = [item["asset_id"] for item in found["items"]], found["total"]
            facets = found.get("facets", {}).get("tag", {})
        else:
            ids, total = board.newest_assets(conn, project_id, limit)
            facets = {}
        cards = board.asset_cards(conn, ids, channels)
    counts: dict[str | None, int] = {None: len(cards)}
    for card in cards:
        for value in set(card["status"].values()):
            counts[value] = counts.get(value, 0) + 1
    if status is not None:
        cards = [card for card in cards if status in card["status"].values()]
    return {"project_id": project_id, "channels": channels, "total": total,
            "cards": cards, "status_counts": counts, "facets": facets}


def asset_cards(engine: Engine, asset_ids: list[str], channels: list[str],
                ) -> list[dict[str, Any]]:
    with read_connection(engine) as conn:
        return board.asset_cards(conn, asset_ids, channels)


def review_queue(engine: Engine, user_id: str, now: datetime) -> list[dict[str, Any]]:
    with read_connection(engine) as conn:
        return board.review_queue(conn, user_id, now)


def projects_overview(engine: Engine, user_id: str, is_admin: bool) -> list[dict[str, Any]]:
    with read_connection(engine) as conn:
        return board.projects_overview(conn, user_id, is_admin)


def project_names(engine: Engine, user_id: str, is_admin: bool) -> list[dict[str, Any]]:
    with read_connection(engine) as conn:
        return board.project_names(conn, user_id, is_admin)


def asset_names(engine: Engine, asset_ids: list[str]) -> dict[str, str]:
    with read_connection(engine) as conn:
        return board.asset_names(conn, asset_ids)


def users_of_projects(engine: Engine, project_ids: list[str] | None) -> list[tuple[str, str]]:
    with read_connection(engine) as conn:
        return board.users_of_projects(conn, project_ids)


def project_guest_links(engine: Engine, project_id: str) -> list[dict[str, Any]]:
    with read_connection(engine) as conn:
        return guest_links.project_links(conn, project_id)


def guest_names(engine: Engine, guest_ids: set[str]) -> dict[str, str]:
    with read_connection(engine) as conn:
        return guest_links.guest_names(conn, guest_ids)


def tag_levels(engine: Engine, project_id: str) -> list[dict[str, Any]]:
    with read_connection(engine) as conn:
        return board.tag_levels(conn, project_id)


def tag_tree(engine: Engine, project_id: str) -> dict[str, Any]:
    with read_connection(engine) as conn:
        return taxonomy.project_taxonomy(conn, project_id)


def project_metrics(engine: Engine, project_id: str) -> dict[str, Any]:
    with read_connection(engine) as conn:
        return tier_costs.with_tiers(conn, metrics.project_metrics(conn, project_id))


def job_list(engine: Engine, **filters: Any) -> tuple[list[dict[str, Any]], int | None]:
    """A page of jobs, newest first (filters: see projections.jobs.list_jobs)."""
    with read_connection(engine) as conn:
        return jobs.list_jobs(conn, **filters)


def job_rates(engine: Engine) -> dict[tuple[str, str], RateSums]:
    """The recorded step costs a job's run time is predicted from."""
    with read_connection(engine) as conn:
        return jobs.rates(conn)


def audit(engine: Engine, query: audit_queries.AuditQuery) -> dict[str, Any]:
    with read_connection(engine) as conn:
        return audit_queries.audit_entries(conn, query)


def audit_export(engine: Engine, query: audit_queries.AuditQuery, fmt: str,
                 ) -> Iterator[str]:
    """Text chunks of every matching entry as ``csv`` or ``json`` (streamed; the
    connection stays open until the last chunk)."""
    render = audit_queries.export_csv if fmt == "csv" else audit_queries.export_json
    with read_connection(engine) as conn:
        yield from audit_queries.joined(render(audit_queries.iter_entries(conn, query)))


# recorded_at never decreases along the gap-free positions (it is stamped under the head
# lock), so the last position recorded by a moment is found by bisecting positions: about
# log2(head) primary-key lookups in one statement, where filtering on recorded_at (which
# has no index, to keep appends cheap) would scan the log back from its head.
_BISECT_POSITIONS = text("""
WITH RECURSIVE bisect(lo, hi) AS (
    SELECT CAST(0 AS BIGINT), (SELECT coalesce(max(position), 0) FROM events)
    UNION ALL
    SELECT CASE WHEN e.recorded_at <= :moment THEN e.position ELSE b.lo END,
           CASE WHEN e.recorded_at <= :moment THEN b.hi ELSE e.position - 1 END
    FROM bisect AS b JOIN events AS e ON e.position = (b.lo + b.hi + 1) / 2
    WHERE b.lo < b.hi
)
SELECT max(lo) FROM bisect""").bindparams(bindparam("moment", type_=events.c.recorded_at.type))


def position_at(engine: Engine, moment: datetime) -> int:
    """The position of the last event recorded at or before ``moment`` (0 if none): an
    answer "as of" that moment is exact once the projections reached it."""
    with read_connection(engine) as conn:
        # The column type writes SQLite's stored text form.
        return conn.execute(_BISECT_POSITIONS, {"moment": utc(moment)}).scalar() or 0


def project_templates(engine: Engine, project_id: str, *, after: tuple[str, str] | None = None,
                      limit: int = 100) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
    """A page of the project's templates by name (see projections.templates)."""
    with read_connection(engine) as conn:
        return templates.project_templates(conn, project_id, after=after, limit=limit)


def model_registry(engine: Engine, kind: str | None = None) -> dict[str, Any]:
    """The model registry (of one kind when given) and the model each tier runs."""
    with read_connection(engine) as conn:
        return models.registry(conn, kind)


def template(engine: Engine, template_id: str) -> dict[str, Any]:
    """A template at its current version; raises NotFound."""
    with read_connection(engine) as conn:
        return templates.template_of(conn, template_id)


def template_revisions(engine: Engine, template_id: str) -> list[dict[str, Any]]:
    """Every version of a template, newest first."""
    with read_connection(engine) as conn:
        return templates.template_revisions_of(conn, template_id)
