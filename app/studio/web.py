"""What every studio page shares: its blueprint's headers and error pages, who is signed
in, query-string loading, rendering a page or one of its fragments, answering a form.

Pages are HTML; a page's widgets ask for one fragment of it again (``?fragment=NAME``)
to redraw it live, and post forms with ``Accept: application/json`` to be answered with
JSON (problem+json on errors) instead of a redirect.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, g, json, redirect, render_template, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from werkzeug.exceptions import HTTPException

from app.auth import current_principal
from app.errors import jsonable, problem
from app.sessions import page_csrf_token
from app.studio.static_files import static_url
from commands.users import Principal
from events.errors import DomainError, Unauthorized

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' blob:",
    "connect-src 'self'", "font-src 'self'", "form-action 'self'", "base-uri 'none'",
    "frame-ancestors 'none'", "manifest-src 'self'"))
"""No inline script or style anywhere: markup a name smuggled in could not run."""

View = Callable[..., Response | str]


def studio_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint of studio pages: HTML error pages, the CSP, no caching of pages."""
    blueprint = Blueprint(name, import_name, template_folder="templates")
    blueprint.after_request(_page_headers)
    blueprint.register_error_handler(DomainError, _domain_error)
    blueprint.register_error_handler(ValidationError, _validation_error)
    blueprint.register_error_handler(HTTPException, _http_error)
    return blueprint


def _page_headers(response: Response) -> Response:
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers.setdefault("Cache-Control", "no-store")
    # Browsers then name this origin on the pages' own posts (the CSRF check compares it)
    # and still send nothing to other sites.
    response.headers["Referrer-Policy"] = "same-origin"
    return response


# -- who is asking ---------------------------------------------------------------------

def signed_in(view: View) -> View:
    """A page for signed-in people: anyone else is sent to the sign-in page (and back)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response | str:  # noqa: ANN401
        try:
            g.studio_principal = current_principal()
        except Unauthorized:
            if request.method != "GET" or wants_json():
                raise
            return redirect(login_url(request.full_path.rstrip("?")), 303)
        return view(*args, **kwargs)

    return wrapper


def principal() -> Principal:
    """The signed-in person of a :func:`signed_in` view."""
    return g.studio_principal


def image_url(version_id: str, size: str | None = None) -> str:
    """Where a page loads a version's image: the JSON API's route, or a guest link's own
    (``g.image_base``) on the pages a guest sees."""
    base = g.get("image_base", "/api/versions")
    return f"{base}/{version_id}/image" + (f"?size={size}" if size else "")


def login_url(next_path: str = "/") -> str:
    return "/login" if next_path in ("", "/") else f"/login?next={quote(next_path, safe='')}"


def wants_json() -> bool:
    """A widget's request (``fetch`` with ``Accept: application/json``)."""
    best = request.accept_mimetypes.best_match(("text/html", "application/json"))
    return best == "application/json" and "text/html" not in request.accept_mimetypes.values()


# -- query strings -----------------------------------------------------------------------

class PageQuery(Schema):
    """Parameters every page accepts; unknown parameters are refused (422)."""

    class Meta:
        unknown = RAISE

    min_position = fields.Integer(load_default=None, validate=validate.Range(min=0))
    fragment = fields.String(load_default=None, validate=validate.Length(max=40))


def page_args(schema: type[Schema]) -> dict[str, Any]:
    """The query string through ``schema``: an empty parameter (a filter form's blank
    field) counts as absent; repeatable parameters are lists."""
    data: dict[str, Any] = {k: v for k, v in request.args.items() if v != ""}
    for name, field in schema._declared_fields.items():
        if isinstance(field, fields.List) and name in request.args:
            data[name] = [v for v in request.args.getlist(name) if v != ""]
    return schema().load(data)


def url_with(path: str, **params: Any) -> str:  # noqa: ANN401
    """``path`` with the given parameters (None and '' left out)."""
    kept = {k: v for k, v in params.items() if v not in (None, "", [])}
    return f"{path}?{urlencode(kept, doseq=True)}" if kept else path


# -- answers ----------------------------------------------------------------------------

def render_page(template: str, *, fragments: Iterable[str] = (), **context: Any) -> str:  # noqa: ANN401
    """The page ``template`` with ``context``, or only the fragment the request names
    (``?fragment=`` one of ``fragments``; each is the template ``studio/_<name>.html``)."""
    context.setdefault("me", g.get("studio_principal"))
    context.setdefault("csrf_token", page_csrf_token())
    context.setdefault("static_url", static_url)
    name = request.args.get("fragment")
    if name:
        if name not in fragments:
            raise ValidationError({"fragment": [f"must be one of {', '.join(fragments)}"]})
        return render_template(f"studio/_{name}.html", **context)
    return render_template(template, **context)


def answered(redirect_to: str, body: dict[str, Any], status: int = 200) -> Response:
    """A form's answer: JSON for widgets, else a redirect (303) back to a page."""
    if wants_json():
        response = Response(json.dumps(body), status=status, mimetype="application/json")
        response.headers["Cache-Control"] = "no-store"
        return response
    return redirect(redirect_to, 303)


# -- errors -------------------------------------------------------------------------------

def _error_page(status: int, title: str, detail: str, **extra: object) -> Response:
    if wants_json():
        return problem(status, title, detail, **extra)
    html = render_template("studio/error.html", status=status, title=title, detail=detail,
                           me=g.get("studio_principal"), csrf_token=page_csrf_token(),
                           static_url=static_url)
    return Response(html, status=status, mimetype="text/html")


def _domain_error(error: DomainError) -> Response:
    if isinstance(error, Unauthorized) and not wants_json():
        return redirect(login_url(), 303)
    # The numbers a refusal carries (a policy's name, counts) go to widgets as in the API.
    return _error_page(error.status, error.title, error.detail, **jsonable(error.extra))


def _validation_error(error: ValidationError) -> Response:
    messages = error.messages if isinstance(error.messages, dict) else {"_": error.messages}
    detail = "; ".join(f"{field}: {' '.join(map(str, text)) if isinstance(text, list) else text}"
                       for field, text in sorted(messages.items()))
    if wants_json():
        return problem(422, "Invalid request", detail, kind="validation", errors=messages)
    return _error_page(422, "Invalid request", detail)


def _http_error(error: HTTPException) -> Response:
    return _error_page(error.code or 500, error.name, error.description or error.name)
