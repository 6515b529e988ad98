"""Small helpers views share: body and query loading, idempotency, If-Match, cursors."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import uuid
from collections.abc import Hashable
from typing import Any

from flask import Response, jsonify, request
from marshmallow import Schema, ValidationError

from app.auth import current_principal
from app.context import services
from app.cursors import MAX_STREAM_VERSION, sign, verify
from events.chain import canonical_json
from events.errors import DomainError
from events.store import ANY, Metadata, RequestFingerprint

MAX_IDEMPOTENCY_KEY = 120
DIGITS = re.compile(r"[0-9]{1,20}")


@functools.lru_cache(maxsize=256)
def shared_schema(schema: type[Schema], **options: Hashable) -> Schema:
    """One instance per schema class and options, reused by every request: building a
    marshmallow schema costs more than loading a small body through it, and loading
    changes nothing on the instance, so threads may share it."""
    return schema(**options)


class MalformedBody(DomainError):
    """A body that is not JSON at all (400): nothing in it could be validated."""

    status = 400
    title = "Malformed request body"


class UnsupportedMediaType(DomainError):
    status = 415
    title = "Unsupported media type"


def json_body(schema: Schema) -> dict[str, Any]:
    """The request's JSON body loaded through ``schema``. Raises UnsupportedMediaType
    (415) without a JSON Content-Type, MalformedBody (400) for a body that is not JSON,
    ValidationError (422) for JSON that is not a valid request."""
    if not request.is_json:
        raise UnsupportedMediaType("send a JSON object with Content-Type: application/json",
                                   field="_body")
    try:
        payload = json.loads(request.get_data(cache=True))
    except RecursionError:
        # json.loads recurses per nesting level; a hostile body must not become a 500.
        raise MalformedBody("the request body is not valid JSON: it is nested too deeply",
                            field="_body") from None
    except ValueError as exc:  # also UnicodeDecodeError
        raise MalformedBody(f"the request body is not valid JSON: {exc}", field="_body") from None
    if not isinstance(payload, dict):
        raise ValidationError({"_body": ["the request body must be a JSON object"]})
    return schema.load(payload)


def query_args(schema: Schema) -> dict[str, Any]:
    """The query string loaded through ``schema`` (unknown parameters are refused)."""
    return schema.load(request.args.to_dict())


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise ValidationError({"Idempotency-Key": [
            f"must be 1-{MAX_IDEMPOTENCY_KEY} printable characters"]})
    return key


def command_meta() -> Metadata:
    """Metadata for a write: the authenticated actor, and the client's idempotency key
    scoped to that actor (two users' keys never collide)."""
    principal = current_principal()
    key = idempotency_key()
    request_id = request.headers.get("X-Request-Id", "")[:80]
    if not request_id.isprintable():  # PostgreSQL cannot store a NUL, for one
        raise ValidationError({"X-Request-Id": ["must be printable characters"]})
    return Metadata(
        actor_id=principal.user_id,
        command_id=f"http:{principal.user_id}:{key}" if key else None,
        correlation_id=request_id or str(uuid.uuid4()),
        request=request_fingerprint() if key else None,
    )


MAX_ROUTE_CHARS = 300


def request_fingerprint() -> RequestFingerprint:
    """What makes this request this request: method, path, query string and body (JSON
    in canonical form, so key order and spacing do not matter; form fields and each
    uploaded file's SHA-256 for multipart; the raw bytes otherwise). A repeated
    Idempotency-Key must come with the same fingerprint."""
    route = f"{request.method} {request.path}"[:MAX_ROUTE_CHARS]
    digest = hashlib.sha256()
    for part in (route, canonical_json(sorted(request.args.items(multi=True))), _body_text()):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return RequestFingerprint(route, digest.hexdigest())


def _body_text() -> str:
    if request.mimetype == "multipart/form-data":
        files = {name: _file_sha256(storage) for name, storage in request.files.items(multi=True)}
        return canonical_json({"form": sorted(request.form.items(multi=True)), "files": files})
    if request.is_json:
        try:
            return canonical_json(json.loads(request.get_data(cache=True)))
        except (TypeError, ValueError, RecursionError):
            pass  # not JSON, or NaN: fall back to the bytes
    return hashlib.sha256(request.get_data(cache=True)).hexdigest()


def _file_sha256(storage) -> str:  # noqa: ANN001 - werkzeug FileStorage
    stream = storage.stream
    where = stream.tell()
    stream.seek(0)
    digest = hashlib.sha256()
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
    stream.seek(where)
    return digest.hexdigest()


def expected_version() -> int:
    """``If-Match: <stream version>`` (quotes and W/ allowed) or ANY when absent."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return ANY
    return bounded_int(header.strip().removeprefix("W/").strip('"'), "If-Match",
                       MAX_STREAM_VERSION, 'a stream version number, e.g. "3"')


def bounded_int(text: str, name: str, maximum: int, what: str) -> int:
    """``text`` as an integer within 0..``maximum`` (ASCII digits only); ValidationError
    naming ``name`` otherwise, so no client number overflows a database column."""
    if not DIGITS.fullmatch(text) or int(text) > maximum:
        raise ValidationError({name: [f"must be {what} within 0..{maximum}"]})
    return int(text)


def encode_cursor(state: dict[str, Any]) -> str:
    """``state`` as an opaque cursor signed with this installation's key."""
    return sign(state, services().cursor_key)


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The state of a cursor :func:`encode_cursor` produced (None without one); raises
    ValidationError (422) for any other, so no forged number reaches a query."""
    if not cursor:
        return None
    return verify(cursor, services().cursor_key)


def respond(body: Any, status: int = 200, *, version: int | None = None,
            position: int | None = None) -> Response:
    """JSON response; ``version`` becomes the ETag, ``position`` lets clients read their
    own writes (``?min_position=``)."""
    if position is not None and isinstance(body, dict):
        body = {**body, "position": position}
    response = jsonify(body)
    response.status_code = status
    if version is not None:
        response.headers["ETag"] = f'"{version}"'
    if position is not None:
        response.headers["Lineage-Position"] = str(position)
    return response
