"""Every projection Lineage runs, in the order a catch-up visits them (the registry and a
replay's second fill process both look them up here)."""

from __future__ import annotations

from projections import (
    access,
    asset_streams,
    audit,
    catalog,
    guest_links,
    jobs,
    metrics,
    models,
    review_state,
    templates,
    tier_costs,
    version_tree,
)
from projections.runner import Projection

PROJECTIONS: tuple[Projection, ...] = (
    access.PROJECTION,
    version_tree.PROJECTION,
    review_state.PROJECTION,
    asset_streams.PROJECTION,
    catalog.PROJECTION,
    audit.PROJECTION,
    metrics.PROJECTION,
    jobs.PROJECTION,
    guest_links.PROJECTION,
    templates.PROJECTION,
    tier_costs.PROJECTION,
    models.PROJECTION,
)


def by_names(names: tuple[str, ...]) -> list[Projection]:
    """The projections named, in that order; KeyError naming an unknown one."""
    known = {projection.name: projection for projection in PROJECTIONS}
    missing = [name for name in names if name not in known]
    if missing:
        raise KeyError(f"no projection {', '.join(missing)}; known: {', '.join(known)}")
    return [known[name] for name in names]
