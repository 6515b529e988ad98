"""Every projection Lineage runs (projections/known.py), the names views wait for, and the
runner over them."""

from __future__ import annotations

from sqlalchemy import Engine

from projections import (
    access,
    asset_streams,
    audit,
    catalog,
    fill_process,
    guest_links,
    jobs,
    metrics,
    models,
    review_state,
    templates,
    tier_costs,
    version_tree,
)
from projections.known import PROJECTIONS
from projections.runner import ProjectionRunner

__all__ = ["PROJECTIONS", "make_runner"]

ACCESS = (access.PROJECTION.name,)
"""Projects, members and users' names."""
TREE = (version_tree.PROJECTION.name, review_state.PROJECTION.name)
"""The projections asset trees and review state read."""
ASSET_STREAMS = (asset_streams.PROJECTION.name,)
"""Each asset stream's versions in time, the jobs an asset waits for, uploads' imports."""
ASSET_VIEW = (*TREE, *ASSET_STREAMS, *ACCESS)
"""What an asset or a version as its stream says it reads (projections/asset_view.py),
people's names included."""
SEARCH = (catalog.PROJECTION.name,)
AUDIT = (audit.PROJECTION.name,)
METRICS = (metrics.PROJECTION.name, tier_costs.PROJECTION.name)
JOBS = (jobs.PROJECTION.name,)
GUESTS = (guest_links.PROJECTION.name,)
TEMPLATES = (templates.PROJECTION.name,)
MODELS = (models.PROJECTION.name,)


def make_runner(engine: Engine, **options: object) -> ProjectionRunner:
    """A runner over every projection whose replays fill in two processes where the
    machine and database allow (options: see ProjectionRunner)."""
    options.setdefault("second_fill", fill_process.run)
    return ProjectionRunner(engine, PROJECTIONS, **options)  # type: ignore[arg-type]
