"""Flask app factory: nothing connects at import time."""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from app.api.routes import register as register_blueprints
from app.body_limit import TOO_LARGE_KEY, StreamedBodyLimit
from app.config import Settings
from app.errors import register_error_handlers
from app.services import Services, build_services
from app.studio import register as register_studio
from app.studio.template_environment import StudioEnvironment

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
    app.jinja_environment = StudioEnvironment  # before app.jinja_env is first built
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    app.wsgi_app = StreamedBodyLimit(app.wsgi_app, settings.max_upload_bytes)
    if settings.trusted_proxies > 0:
        # The client's address is the one the outermost trusted proxy saw; without the
        # setting, X-Forwarded-For is ignored (anyone can send one).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=0,
                                x_host=0, x_port=0, x_prefix=0)
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
            size = (f"the request body is {length} bytes"
                    if not request.environ.get(TOO_LARGE_KEY)
                    else "a streamed (chunked) request body is longer than the limit")
            raise RequestEntityTooLarge(
                f"{size}; the limit is {settings.max_upload_bytes} bytes "
                "(LINEAGE_MAX_UPLOAD_BYTES)")

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if response.mimetype in ("application/json", "application/problem+json"):
            response.headers.setdefault("Content-Security-Policy", "default-src 'none'")
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
