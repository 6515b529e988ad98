"""GET /api/events/stream?project=… — the project's events as Server-Sent Events.

``id:`` is the global position; reconnecting with ``Last-Event-ID`` (or ``?after=``)
resumes right after it. Without either, the feed starts at the current head. Heartbeat
comments every ``heartbeat`` seconds; the server ends the response after
``max_seconds`` (clients reconnect) or ``limit`` events, and when the caller is removed
from the project.
"""

from __future__ import annotations

from flask import Blueprint, Response, request, stream_with_context
from marshmallow import RAISE, Schema, fields, validate

from app.api.openapi import documented
from app.auth import current_principal
from app.context import services
from app.cursors import MAX_POSITION
from app.http import bounded_int, query_args
from commands.membership import require_member
from events.errors import NotFound
from projections.live import FeedOptions, project_feed

blueprint = Blueprint("stream", __name__)


class StreamArgs(Schema):
    class Meta:
        unknown = RAISE

    project = fields.UUID(required=True)
    after = fields.Integer(load_default=None, validate=validate.Range(0, MAX_POSITION))
    limit = fields.Integer(load_default=None, validate=validate.Range(1, 100_000))
    max_seconds = fields.Float(load_default=300.0, validate=validate.Range(0.0, 3600.0))
    heartbeat = fields.Float(load_default=15.0, validate=validate.Range(0.05, 300.0))


def _resume_after(args: dict, head: int) -> int:
    header = request.headers.get("Last-Event-ID")
    if header is not None:
        return bounded_int(header.strip(), "Last-Event-ID", MAX_POSITION,
                           "a position (an integer)")
    return args["after"] if args["after"] is not None else head


@blueprint.get("/events/stream")
@documented("The project's events as Server-Sent Events (id = position; "
            "Last-Event-ID resumes)", tags=("read side",), query=StreamArgs,
            media_type="text/event-stream")
def event_stream() -> Response:
    principal = current_principal()
    lineage = services()
    args = query_args(StreamArgs())
    project_id = str(args["project"])
    require_member(lineage.store, principal, project_id)
    store = lineage.store
    options = FeedOptions(after=_resume_after(args, store.head().position),
                          heartbeat_seconds=args["heartbeat"],
                          max_seconds=args["max_seconds"], limit=args["limit"])

    def still_member() -> bool:
        try:
            require_member(store, principal, project_id)
        except NotFound:
            return False
        return True

    feed = project_feed(store, project_id, principal.user_id, options,
                        still_member=still_member)
    return Response(stream_with_context(feed), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
