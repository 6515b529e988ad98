"""Every API blueprint, registered under /api in one place: the write side and review
(projects, assets, versions, uploads, reviews, templates, users, guest links, the model
registry), jobs,
the read side (trees, review state, search, audit, metrics, job lists, the event
stream), the lineage tools (rebuild, re-bake, provenance, export) and the OpenAPI
document."""

from __future__ import annotations

from flask import Flask

from app.api import (
    assets,
    audit,
    guests,
    health,
    job_lists,
    jobs,
    lineage_tools,
    metrics,
    models,
    openapi,
    projects,
    review_state,
    reviews,
    search,
    stream,
    templates,
    trees,
    uploads,
    users,
    versions,
)

BLUEPRINTS = (
    health, jobs,
    trees, review_state, search, audit, metrics, stream, job_lists,
    projects, assets, versions, uploads, reviews, templates, users, guests, models, openapi,
    lineage_tools,
)


def register(app: Flask) -> None:
    """Register every API blueprint on ``app`` under /api."""
    for module in BLUEPRINTS:
        app.register_blueprint(module.blueprint, url_prefix="/api")
