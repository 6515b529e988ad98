"""Helpers the write-side views share: configured limits, loading bodies and path ids,
the answer of a write (status, ETag, Location, position)."""

from __future__ import annotations

from typing import Any

from flask import Response
from marshmallow import Schema, ValidationError

from app.context import services
from app.http import (
    command_meta,
    decode_cursor,
    encode_cursor,
    json_body,
    query_args,
    respond,
    shared_schema,
)
from app.schemas.common import Limits, ListQuery
from app.user_names import with_names
from commands.state import parse_id
from commands.users import user_names
from events.store import Metadata
from projections import queries
from rules.job_estimate import JobLimits


def body(schema: type[Schema]) -> dict[str, Any]:
    """The JSON body loaded through ``schema`` with the configured limits."""
    return json_body(shared_schema(schema, limits=Limits.from_settings(services().settings)))


def meta() -> Metadata:
    """:func:`app.http.command_meta` (kept as the write views' short name)."""
    return command_meta()


def query(schema: type[Schema]) -> dict[str, Any]:
    return query_args(shared_schema(schema))


def path_id(value: str, what: str) -> str:
    """A UUID path segment in canonical form; 404 for anything else."""
    return parse_id(value, what)


def named(payload: Any) -> Any:  # noqa: ANN401 - any JSON body
    """``payload`` with people's names beside their ids, from the write side (answers
    folded from streams)."""
    store = services().store
    return with_names(payload, lambda ids: user_names(store, ids))


def written(payload: dict[str, Any], status: int = 200, *, version: int | None = None,
            position: int | None = None, location: str | None = None) -> Response:
    """The answer of a write (people named, see :func:`named`)."""
    response = respond(named(payload), status, version=version, position=position)
    if location:
        response.headers["Location"] = location
    return response


def job_limits() -> JobLimits:
    """What a job request is checked against before it is queued: the step costs
    recorded so far (the jobs read model) and the tiers' time limits."""
    return JobLimits(rates=queries.job_rates(services().engine))


def page_args() -> tuple[int, dict[str, Any] | None]:
    """``limit`` and the decoded ``cursor`` of a list request."""
    args = query(ListQuery)
    return args["limit"], decode_cursor(args["cursor"])


def cursor_int(state: dict[str, Any] | None, key: str) -> int:
    """An integer the cursor carries (0 without a cursor); ValidationError when the cursor
    (signed, so this server's) belongs to another list."""
    if state is None:
        return 0
    value = state.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({"cursor": ["is a cursor of another list"]})
    return value


def page(items: list[dict[str, Any]], next_state: dict[str, Any] | None) -> Response:
    return respond({"items": items,
                    "next_cursor": encode_cursor(next_state) if next_state else None})
