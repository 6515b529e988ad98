"""Flask app factory: nothing connects at import time."""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from app.api import register_blueprints
from app.config import Settings
from app.errors import register_error_handlers
from app.services import Services, build_services
from app.studio import register as register_studio

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> Flask:
    """Build the app for ``settings`` (default: from the environment)."""
    settings = settings or (services.settings if services else Settings.from_env())
    app = Flask(__name__, static_folder=None)  # the studio serves its own (immutable)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    app.json.sort_keys = False
    app.extensions["lineage"] = services or build_services(settings)
    register_error_handlers(app)
    register_blueprints(app)
    register_studio(app)

    @app.before_request
    def _refuse_oversized_bodies() -> None:
        # Refuse by the declared length before any view runs (Werkzeug alone only checks
        # when a view reads the body, and bodies without a length when they are read).
        length = request.content_length
        if length is not None and length > settings.max_upload_bytes:
            raise RequestEntityTooLarge(
                f"the request body is {length} bytes; the limit is "
                f"{settings.max_upload_bytes} bytes (LINEAGE_MAX_UPLOAD_BYTES)")

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if response.mimetype in ("application/json", "application/problem+json"):
            response.headers.setdefault("Content-Security-Policy", "default-src 'none'")
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
