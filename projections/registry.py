"""Every projection Lineage runs, in the order a catch-up visits them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Engine

from projections import (
    access,
    audit,
    catalog,
    guest_links,
    jobs,
    metrics,
    review_state,
    templates,
    tier_costs,
    version_tree,
)
from projections.runner import Projection, ProjectionRunner, create_storage, drop_storage

PROJECTIONS: tuple[Projection, ...] = (
    access.PROJECTION,
    version_tree.PROJECTION,
    review_state.PROJECTION,
    catalog.PROJECTION,
    audit.PROJECTION,
    metrics.PROJECTION,
    jobs.PROJECTION,
    guest_links.PROJECTION,
    templates.PROJECTION,
    tier_costs.PROJECTION,
)

TREE = (version_tree.PROJECTION.name, review_state.PROJECTION.name)
"""The projections asset trees and review state read."""
SEARCH = (catalog.PROJECTION.name,)
AUDIT = (audit.PROJECTION.name,)
METRICS = (metrics.PROJECTION.name, tier_costs.PROJECTION.name)
JOBS = (jobs.PROJECTION.name,)
GUESTS = (guest_links.PROJECTION.name,)
TEMPLATES = (templates.PROJECTION.name,)


def make_runner(engine: Engine, **options: object) -> ProjectionRunner:
    """A runner over every projection (options: see ProjectionRunner)."""
    return ProjectionRunner(engine, PROJECTIONS, **options)  # type: ignore[arg-type]


def create_live_storage(conn: Connection, projections: Iterable[Projection] = PROJECTIONS,
                        ) -> None:
    """Create every projection's live tables (migration 0003)."""
    for projection in projections:
        create_storage(conn, projection, projection.live_tables)


def drop_live_storage(conn: Connection, projections: Iterable[Projection] = PROJECTIONS,
                      ) -> None:
    for projection in projections:
        drop_storage(conn, projection, projection.live_tables)
