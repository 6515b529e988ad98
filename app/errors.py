"""Map every error to application/problem+json (RFC 9457); never leak a stack trace."""

from __future__ import annotations

import logging
import re
import uuid

from flask import Flask, Response, current_app, has_request_context, json, request
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from events.errors import DomainError, ServiceUnavailable

log = logging.getLogger(__name__)
PROBLEM_BASE = "https://lineage.dev/problems/"


def problem(status: int, title: str, detail: str, *, kind: str | None = None,
            headers: dict[str, str] | None = None, **extra: object) -> Response:
    body = {"type": PROBLEM_BASE + (kind or _slug(title)), "title": title, "status": status,
            "detail": detail, **extra}
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _slug(title: str) -> str:
    return title.lower().replace(" ", "-")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(error: DomainError) -> Response:
        headers = {"Retry-After": "5"} if isinstance(error, ServiceUnavailable) else None
        if isinstance(error.extra.get("retry_after"), int):
            headers = {"Retry-After": str(error.extra["retry_after"])}
        if error.status == 401:
            headers = {"WWW-Authenticate": 'Bearer realm="lineage"'}
        return problem(error.status, error.title, error.detail, headers=headers,
                       **jsonable(error.extra))

    @app.errorhandler(ValidationError)
    def _validation(error: ValidationError) -> Response:
        messages = error.messages if isinstance(error.messages, dict) else {
            "_schema": error.messages}
        fields = ", ".join(sorted(str(k) for k in messages))
        return problem(422, "Invalid request", f"invalid fields: {fields}",
                       kind="validation", errors=messages)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        detail = error.description or error.name
        return problem(error.code or 500, error.name, detail)

    @app.errorhandler(DBAPIError)
    def _database_error(error: DBAPIError) -> Response:
        # Only a failed connection or operation (server down, lock timeout) is an outage;
        # an integrity, programming or data error is a bug the client cannot retry away.
        if _is_outage(error):
            return _database_down(error)
        return _unexpected(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        if _is_driver_outage(error):
            # A driver error that no layer wrapped (e.g. a raw connection that could not
            # be opened): still an outage, not a bug.
            return _database_down(error)
        request_id = _request_id()
        log.exception("unhandled error in request %s", request_id)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged "
                       f"with request id {request_id}", request_id=request_id,
                       headers={"X-Request-Id": request_id})


def _is_outage(error: DBAPIError) -> bool:
    """A lost connection or a failed operation (server down, lock timeout, disk full). The
    sqlite3 driver also raises OperationalError for statements that cannot run at all (no
    such table, syntax error): those are bugs, as programming errors are elsewhere."""
    if error.connection_invalidated or isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    return not _SQLITE_STATEMENT_BUG.search(str(error.orig))


_SQLITE_STATEMENT_BUG = re.compile(r"^no such (table|column|function)|syntax error|"
                                   r"^ambiguous column|has no column named")


def _database_down(error: Exception) -> Response:
    log.warning("database unavailable: %s", error.__class__.__name__)
    return problem(503, "Service unavailable", "the database is unavailable; retry shortly",
                   headers={"Retry-After": "5"})


def _request_id() -> str:
    """The client's X-Request-Id when it sent a printable one, else a new id: the 500's
    body and the log line carry the same id, so a report can be matched to its trace."""
    given = request.headers.get("X-Request-Id", "")[:80] if has_request_context() else ""
    return given if given and given.isprintable() else str(uuid.uuid4())


def _is_driver_outage(error: Exception) -> bool:
    """Whether ``error`` is the database driver's OperationalError/InterfaceError."""
    lineage = current_app.extensions.get("lineage")
    if lineage is None:
        return False
    dbapi = lineage.engine.dialect.loaded_dbapi
    return (isinstance(error, dbapi.OperationalError | dbapi.InterfaceError)
            and not _SQLITE_STATEMENT_BUG.search(str(error)))


def jsonable(extra: dict) -> dict:
    """A domain error's extra members, less those a problem document reserves."""
    reserved = {"type", "title", "status", "detail"}
    return {k: v for k, v in extra.items() if k not in reserved}
