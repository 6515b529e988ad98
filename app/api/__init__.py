"""HTTP API blueprints, one module per area (views stay thin; see STYLE.md)."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from app.api import health, jobs, routes

    app.register_blueprint(health.blueprint, url_prefix="/api")
    app.register_blueprint(jobs.blueprint, url_prefix="/api")
    # The read side (projections): trees, review state, search, audit, metrics, SSE.
    from app.api import audit, job_lists, metrics, review, search, stream, trees

    for read_side in (trees, review, search, audit, metrics, stream, job_lists):
        app.register_blueprint(read_side.blueprint, url_prefix="/api")
    routes.register(app)
    # Rebuild, re-bake, provenance and export of versions (issue 6).
    from app.api import lineage_tools

    app.register_blueprint(lineage_tools.blueprint, url_prefix="/api")
