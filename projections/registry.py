"""Every projection Lineage runs, in the order a catch-up visits them."""

from __future__ import annotations

from sqlalchemy import Engine

from projections import (
    access,
    audit,
    catalog,
    guest_links,
    jobs,
    metrics,
    review_state,
    version_tree,
)
from projections.runner import Projection, ProjectionRunner

PROJECTIONS: tuple[Projection, ...] = (
    access.PROJECTION,
    version_tree.PROJECTION,
    review_state.PROJECTION,
    catalog.PROJECTION,
    audit.PROJECTION,
    metrics.PROJECTION,
    jobs.PROJECTION,
    guest_links.PROJECTION,
)

ACCESS = (access.PROJECTION.name,)
"""Projects, members and users' names."""
TREE = (version_tree.PROJECTION.name, review_state.PROJECTION.name)
"""The projections asset trees and review state read."""
SEARCH = (catalog.PROJECTION.name,)
AUDIT = (audit.PROJECTION.name,)
METRICS = (metrics.PROJECTION.name,)
JOBS = (jobs.PROJECTION.name,)
GUESTS = (guest_links.PROJECTION.name,)


def make_runner(engine: Engine, **options: object) -> ProjectionRunner:
    """A runner over every projection (options: see ProjectionRunner)."""
    return ProjectionRunner(engine, PROJECTIONS, **options)  # type: ignore[arg-type]
