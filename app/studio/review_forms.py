"""What the asset page's forms post: comment (on a region, as a reply),
resolve, decide, revoke, pin and unpin. Each loads the same schema and calls the same
command as its JSON API twin (``/api/...`` with the same path), then answers with JSON
for the page's widgets or a redirect back to the asset page."""

from __future__ import annotations

from flask import Response

from app.context import services
from app.schemas.reviews import CommentSchema, DecisionSchema, PinSchema, RevokeSchema
from app.studio.forms import EmptyForm, form_body, form_meta
from app.studio.web import answered, principal, signed_in, studio_blueprint, url_with
from commands import reviews
from commands.asset_state import locate_asset
from commands.state import parse_id

blueprint = studio_blueprint("studio_review_forms", __name__)


def _back(entity_id: str, what: str, position: int | None, version_id: str | None = None,
          ) -> str:
    """The asset page showing ``version_id`` after a write at ``position``."""
    asset_id = locate_asset(services().store, entity_id, what)
    return url_with(f"/assets/{asset_id}", v=version_id, min_position=position)


@blueprint.post("/versions/<version_id>/comments")
@signed_in
def comment(version_id: str) -> Response:
    version_id = parse_id(version_id, "version")
    data = form_body(CommentSchema, floats=("region.x", "region.y", "region.w", "region.h"))
    body, _, position = reviews.add_comment(services().store, principal(), form_meta(),
                                            version_id, **data)
    return answered(_back(version_id, "version", position, version_id),
                    {**body, "position": position}, 201)


@blueprint.post("/comments/<comment_id>/resolve")
@signed_in
def resolve(comment_id: str) -> Response:
    comment_id = parse_id(comment_id, "comment")
    form_body(EmptyForm)
    body, _, position = reviews.resolve_comment(services().store, principal(), form_meta(),
                                                comment_id)
    return answered(_back(comment_id, "comment", position, body["version_id"]),
                    {**body, "position": position})


@blueprint.post("/versions/<version_id>/decisions")
@signed_in
def decide(version_id: str) -> Response:
    version_id = parse_id(version_id, "version")
    data = form_body(DecisionSchema)
    body, _, position = reviews.record_decision(services().store, principal(), form_meta(),
                                                version_id, **data)
    return answered(_back(version_id, "version", position, version_id),
                    {**body, "position": position}, 201)


@blueprint.post("/decisions/<decision_id>/revoke")
@signed_in
def revoke(decision_id: str) -> Response:
    decision_id = parse_id(decision_id, "decision")
    data = form_body(RevokeSchema)
    body, _, position = reviews.revoke_decision(services().store, principal(), form_meta(),
                                                decision_id, reason=data["reason"])
    return answered(_back(decision_id, "decision", position, body["version_id"]),
                    {**body, "position": position})


@blueprint.post("/versions/<version_id>/pins")
@signed_in
def pin(version_id: str) -> Response:
    version_id = parse_id(version_id, "version")
    data = form_body(PinSchema)
    body, _, position = reviews.pin_version(services().store, principal(), form_meta(),
                                            version_id, label=data["label"])
    return answered(_back(version_id, "version", position, version_id),
                    {**body, "position": position}, 201)


@blueprint.post("/pins/<pin_id>/remove")
@signed_in
def unpin(pin_id: str) -> Response:
    pin_id = parse_id(pin_id, "pin")
    form_body(EmptyForm)
    _, position = reviews.unpin(services().store, principal(), form_meta(), pin_id)
    return answered(_back(pin_id, "pin", position), {"pin_id": pin_id, "position": position})
