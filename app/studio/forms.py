"""Forms posted by studio pages, loaded through the same marshmallow schemas as the JSON
API's bodies.

A form sends text; the API's schemas are strict about JSON types. :func:`form_body`
turns the named fields into numbers first (text that is no number stays text, so the
schema's own message names the field), drops empty optional fields, and nests
``region.x`` style fields. Each form carries a random ``idempotency_key`` made when the
page was drawn: sending the same form twice (a double click, a reload) appends once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from flask import request
from marshmallow import Schema, ValidationError

from app.context import services
from app.http import MAX_IDEMPOTENCY_KEY, shared_schema
from app.schemas.common import Limits, StrictSchema
from app.studio.web import principal
from events.store import Metadata

FORM_ONLY = ("csrf_token", "idempotency_key")


class EmptyForm(StrictSchema):
    """A form with nothing to say but "do it" (its keys aside)."""


def form_body(schema: type[Schema], *, ints: Iterable[str] = (), floats: Iterable[str] = (),
              lists: Iterable[str] = (), omit: Iterable[str] = (),
              extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The posted form through ``schema`` (with the configured limits): ``ints`` and
    ``floats`` converted, ``lists`` split at commas, empty fields dropped, ``a.b`` fields
    nested as ``{"a": {"b"}}``, ``omit`` (fields the view reads itself) left out and
    ``extra`` (what the view derived from them) added. Raises ValidationError."""
    skipped = {*FORM_ONLY, *omit}
    data: dict[str, Any] = {}
    for name, value in request.form.items():
        if name in skipped or value == "":
            continue
        converted: Any = value
        if name in ints:
            converted = number(value, int)
        elif name in floats:
            converted = number(value, float)
        elif name in lists:
            converted = [part.strip() for part in value.split(",") if part.strip()]
        outer, dot, inner = name.partition(".")
        if dot:
            data.setdefault(outer, {})[inner] = converted
        else:
            data[name] = converted
    data.update(extra or {})
    limits = Limits.from_settings(services().settings)
    return shared_schema(schema, limits=limits).load(data)


def number(text: str, kind: type) -> Any:  # noqa: ANN401
    """``text`` as a ``kind`` (int or float), or the text itself when it is none."""
    try:
        return kind(text)
    except ValueError:
        return text


def form_meta() -> Metadata:
    """The write's metadata: the signed-in actor and the form's idempotency key."""
    key = request.form.get("idempotency_key", "").strip()
    if len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise ValidationError({"idempotency_key": [
            f"must be 1-{MAX_IDEMPOTENCY_KEY} printable characters"]})
    person = principal()
    return Metadata(actor_id=person.user_id,
                    command_id=f"studio:{person.user_id}:{key}" if key else None,
                    correlation_id=str(uuid.uuid4()))


def new_form_key() -> str:
    """A fresh idempotency key for a form being drawn."""
    return uuid.uuid4().hex
