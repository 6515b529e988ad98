"""Registers the write-side and review API blueprints (projects, assets, versions, reviews,
uploads, templates, users, guest links, the model registry) and the OpenAPI document under /api."""

from __future__ import annotations

from flask import Flask

from app.api import (
    assets,
    guests,
    models,
    openapi,
    projects,
    reviews,
    templates,
    uploads,
    users,
    versions,
)

BLUEPRINTS = (projects, assets, versions, uploads, reviews, templates, users, guests, models,
              openapi)


def register(app: Flask) -> None:
    for module in BLUEPRINTS:
        app.register_blueprint(module.blueprint, url_prefix="/api")
