"""Comments, decisions and pins on versions."""

from __future__ import annotations

from flask import Blueprint, Response

from app.api.openapi import documented
from app.api.views import body, meta, path_id, written
from app.auth import current_principal
from app.context import services
from app.http import expected_version
from app.schemas.responses import CommentOut, DecisionOut, PinOut
from app.schemas.reviews import CommentSchema, DecisionSchema, PinSchema, RevokeSchema
from commands import reviews

blueprint = Blueprint("reviews", __name__)
TAGS = ("reviews",)
WRITE = {"idempotent_key": True, "if_match": True, "tags": TAGS,
         "errors": (401, 403, 404, 409, 422)}


def _answer(result, status: int = 200, location: str | None = None) -> Response:  # noqa: ANN001
    payload, version, position = result
    return written(payload, status, version=version, position=position, location=location)


@blueprint.post("/versions/<version_id>/comments")
@documented("Comment on a version, optionally on a region or as a reply (creator)",
            body=CommentSchema, status=201, **WRITE, response=CommentOut)
def add_comment(version_id: str) -> Response:
    version_id = path_id(version_id, "version")
    data = body(CommentSchema)
    return _answer(reviews.add_comment(services().store, current_principal(), meta(),
                                       version_id, if_match=expected_version(), **data), 201)


@blueprint.post("/comments/<comment_id>/resolve")
@documented("Resolve a comment (creator)", **WRITE, response=CommentOut)
def resolve_comment(comment_id: str) -> Response:
    comment_id = path_id(comment_id, "comment")
    return _answer(reviews.resolve_comment(services().store, current_principal(), meta(),
                                           comment_id, if_match=expected_version()))


@blueprint.post("/versions/<version_id>/decisions")
@documented("Approve, request changes or reject (reviewer); names the exact content hash",
            body=DecisionSchema, status=201, **WRITE, response=DecisionOut)
def record_decision(version_id: str) -> Response:
    version_id = path_id(version_id, "version")
    data = body(DecisionSchema)
    return _answer(reviews.record_decision(services().store, current_principal(),
                                           meta(), version_id,
                                           if_match=expected_version(), **data), 201)


@blueprint.post("/decisions/<decision_id>/revoke")
@documented("Revoke a decision (reviewer)", body=RevokeSchema, **WRITE, response=DecisionOut)
def revoke_decision(decision_id: str) -> Response:
    decision_id = path_id(decision_id, "decision")
    data = body(RevokeSchema)
    return _answer(reviews.revoke_decision(services().store, current_principal(),
                                           meta(), decision_id, reason=data["reason"],
                                           if_match=expected_version()))


@blueprint.post("/versions/<version_id>/pins")
@documented("Pin a version with a label (creator)", body=PinSchema, status=201, **WRITE,
            response=PinOut)
def pin_version(version_id: str) -> Response:
    version_id = path_id(version_id, "version")
    data = body(PinSchema)
    return _answer(reviews.pin_version(services().store, current_principal(), meta(),
                                       version_id, label=data["label"],
                                       if_match=expected_version()), 201)


@blueprint.delete("/pins/<pin_id>")
@documented("Remove a pin (creator)", status=204, **WRITE)
def unpin(pin_id: str) -> Response:
    pin_id = path_id(pin_id, "pin")
    version, position = reviews.unpin(services().store, current_principal(), meta(),
                                      pin_id, if_match=expected_version())
    response = Response(status=204)
    response.headers["ETag"] = f'"{version}"'
    if position is not None:
        response.headers["Lineage-Position"] = str(position)
    return response
