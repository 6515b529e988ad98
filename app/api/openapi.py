"""GET /api/openapi.json (generated with apispec from the route table and the marshmallow
schemas) and GET /api/docs (the same document as a browsable page).

The route table is the app's own URL map: any view decorated with :func:`documented`
(in any area's blueprint) is described from its schemas; undecorated /api routes still
appear with their path parameters.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from collections.abc import Callable
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, Response, current_app
from marshmallow import Schema

from app.http import respond
from app.schemas.examples import EXAMPLES

blueprint = Blueprint("openapi", __name__)

API_VERSION = "0.1.0"
_PATH_PARAM = re.compile(r"<(?:[a-z]+:)?([A-Za-z_][A-Za-z0-9_]*)>")
ERRORS = {400: "Malformed request: the body is not JSON at all",
          401: "Missing, malformed or revoked token",
          403: "Your role in the project is too weak (the role needed is named)",
          404: "Not found, or not visible to you", 409: "Stale If-Match, conflict or policy",
          413: "Payload too large", 415: "The body is not sent as application/json",
          422: "Invalid request (per-field errors)", 429: "Too many failed authentications"}


@dataclasses.dataclass(frozen=True)
class Operation:
    """How one view is documented. ``body``/``query``/``form``/``response``: marshmallow
    schema classes; ``file_field``: the multipart file part; ``status``: the success
    status."""

    summary: str
    tags: tuple[str, ...] = ()
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    form: type[Schema] | None = None
    file_field: str | None = None
    response: type[Schema] | None = None
    status: int = 200
    description: str = ""
    idempotent_key: bool = False
    if_match: bool = False
    public: bool = False
    errors: tuple[int, ...] = (401, 404, 422)
    media_type: str = "application/json"


def documented(summary: str, **options: Any) -> Callable:  # noqa: ANN401
    """Decorator: attach an :class:`Operation` to a view (other areas use it too)."""

    def attach(view: Callable) -> Callable:
        view._openapi = Operation(summary=summary, **options)  # type: ignore[attr-defined]
        return view

    return attach


def build_spec(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3 document of every /api route of ``app``."""
    plugin = MarshmallowPlugin()
    spec = APISpec(title="Lineage", version=API_VERSION, openapi_version="3.0.3",
                   plugins=[plugin],
                   info={"description": "Event-sourced generative-image lineage and review. "
                                        "Authenticate with 'Authorization: Bearer <token>'."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", {
        "type": "object", "required": ["type", "title", "status", "detail"],
        "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                       "status": {"type": "integer"}, "detail": {"type": "string"},
                       "errors": {"type": "object",
                                  "description": "per field: what is wrong with it (422)"}}})
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api"):
            continue
        path = _PATH_PARAM.sub(r"{\1}", rule.rule)
        doc = getattr(app.view_functions[rule.endpoint], "_openapi", None)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(plugin, doc, rule.arguments)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _operation(plugin: MarshmallowPlugin, doc: Operation | None, arguments) -> dict[str, Any]:  # noqa: ANN001
    doc = doc or Operation(summary="")
    parameters: list[dict[str, Any]] = [
        {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
        for name in sorted(arguments)]
    if doc.query is not None:
        parameters.append({"in": "query", "schema": doc.query})
    if doc.idempotent_key:
        parameters.append({"in": "header", "name": "Idempotency-Key", "required": False,
                           "description": "repeat a write safely: the first answer is returned",
                           "schema": {"type": "string", "maxLength": 120}})
    if doc.if_match:
        parameters.append({"in": "header", "name": "If-Match", "required": False,
                           "description": "the stream version you read (ETag); 409 if stale",
                           "schema": {"type": "string"}})
    operation: dict[str, Any] = {
        "summary": doc.summary, "tags": list(doc.tags), "parameters": parameters,
        "responses": {str(doc.status): {"description": doc.description or "success"}},
    }
    if doc.status != 204:
        schema = doc.response if doc.response is not None else {}
        operation["responses"][str(doc.status)]["content"] = {doc.media_type: {"schema": schema}}
    errors = doc.errors
    if doc.body is not None:  # a JSON body may also be malformed or not JSON at all
        errors = tuple(sorted({*errors, 400, 415, 422}))
    for code in errors:
        operation["responses"][str(code)] = {
            "description": ERRORS.get(code, "error"),
            "content": {"application/problem+json": {"schema": {"$ref":
                                                                "#/components/schemas/Problem"}}}}
    if not doc.public:
        operation["security"] = [{"bearer": []}]
    if doc.body is not None:
        media: dict[str, Any] = {"schema": doc.body}
        if doc.body in EXAMPLES:
            media["example"] = EXAMPLES[doc.body]
        operation["requestBody"] = {"required": True, "content": {"application/json": media}}
    if doc.file_field is not None:
        form = plugin.converter.schema2jsonschema(doc.form) if doc.form else {"properties": {}}
        properties = {doc.file_field: {"type": "string", "format": "binary"},
                      **form.get("properties", {})}
        operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {
            "schema": {"type": "object", "properties": properties,
                       "required": [doc.file_field]},
            "example": {doc.file_field: "(the image file)",
                        **EXAMPLES.get(doc.form, {})}}}}
    return operation


@blueprint.get("/openapi.json")
@documented("This OpenAPI document", tags=("docs",), public=True, errors=())
def openapi_json() -> Response:
    return respond(_cached("lineage_openapi", lambda: build_spec(current_app)))


def _cached(key: str, build: Callable[[], Any]) -> Any:  # noqa: ANN401
    """``build()`` once per app: the route table and schemas are fixed once it serves."""
    cached = current_app.extensions.get(key)
    if cached is None:
        cached = current_app.extensions[key] = build()
    return cached


@blueprint.get("/docs")
@documented("Browsable API documentation (HTML)", tags=("docs",), public=True, errors=(),
            media_type="text/html")
def docs() -> Response:
    return Response(_cached("lineage_docs_page", _docs_page), mimetype="text/html",
                    headers={"Content-Security-Policy": "default-src 'none'; style-src "
                                                        "'unsafe-inline'"})


def _docs_page() -> str:
    """The docs page's HTML, from the same (cached) document as /api/openapi.json."""
    spec = _cached("lineage_openapi", lambda: build_spec(current_app))
    rows = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            params = ", ".join(_describe_parameter(p) for p in operation.get("parameters", []))
            body = operation.get("requestBody", {}).get("content", {})
            body_html = ""
            for media, content in body.items():
                schema = content.get("schema", {})
                ref = schema.get("$ref", "")
                body_html = html.escape(f"{media}: {ref.rsplit('/', 1)[-1] or 'object'}")
                if "example" in content:
                    body_html += ("<pre>" + html.escape(json.dumps(content["example"], indent=1))
                                  + "</pre>")
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}"
                f"</code></td><td>{html.escape(operation.get('summary', ''))}</td>"
                f"<td>{html.escape(params)}</td><td>{body_html}</td></tr>")
    schemas = []
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        required = set(schema.get("required", ()))
        fields = "".join(
            f"<li><code>{html.escape(field)}</code>"
            f"{' <strong>required</strong>' if field in required else ''}: "
            f"{html.escape(_describe(prop))}</li>"
            for field, prop in schema.get("properties", {}).items())
        schemas.append(f"<h3 id='{html.escape(name)}'>{html.escape(name)}</h3><ul>{fields}</ul>")
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Lineage API</title>"
        "<style>body{font-family:sans-serif;margin:2em}td{padding:.2em .6em;"
        "border-bottom:1px solid #ddd;vertical-align:top}</style></head><body>"
        "<h1>Lineage API</h1><p>Machine-readable: <a href='/api/openapi.json'>"
        "/api/openapi.json</a>. Authenticate with <code>Authorization: Bearer &lt;token&gt;"
        "</code>; errors are <code>application/problem+json</code>.</p>"
        "<table><tr><th>Method</th><th>Path</th><th>Summary</th><th>Parameters</th>"
        f"<th>Body</th></tr>{''.join(rows)}</table><h2>Schemas</h2>{''.join(schemas)}"
        "</body></html>")


def _describe_parameter(parameter: dict[str, Any]) -> str:
    """``name (in, required): one of a, b, c`` for the docs page."""
    where = parameter["in"] + (", required" if parameter.get("required") else "")
    choices = parameter.get("schema", {}).get("enum")
    return f"{parameter['name']} ({where})" + (
        f": one of {', '.join(map(str, choices))}" if choices else "")


def _describe(prop: dict[str, Any]) -> str:
    kind = prop.get("type") or prop.get("$ref", "").rsplit("/", 1)[-1] or "object"
    extras = [f"{key} {prop[key]}" for key in ("minimum", "maximum", "minLength", "maxLength",
                                                "enum", "pattern") if key in prop]
    text = kind + (f" ({'; '.join(map(str, extras))})" if extras else "")
    if prop.get("description"):
        text += f" — {prop['description']}"
    return text
