"""What a guest sees through a review link, ``/g/<code>/…``: a display name asked once,
then only the shared assets (viewer, versions, comments), commenting when the link
allows it. Guests never decide. A revoked or expired link answers 404 everywhere.

The guest's identity is a cookie scoped to the link's path (HttpOnly, SameSite=Lax)
naming the guest id the link recorded when they gave their name; their forms carry a
CSRF token derived from it.
"""

from __future__ import annotations

import hmac

from flask import Response, g, redirect, render_template, request
from marshmallow import RAISE, Schema, fields, validate

from app.context import services
from app.images import image_bytes
from app.schemas.assets import ImageQuery
from app.schemas.reviews import CommentSchema
from app.sessions import check_csrf, check_login_form, login_form_token, remember_login_form
from app.studio.asset_views import FRAGMENTS, AssetPageQuery, review_context
from app.studio.forms import form_body
from app.studio.static_files import static_url
from app.studio.web import answered, page_args, render_page, studio_blueprint, url_with
from commands.guests import GuestLinkState, guest_comment, join_link, open_link, require_link_asset
from commands.state import parse_id
from events.errors import NotFound
from projections import queries

blueprint = studio_blueprint("studio_guest", __name__)
GUEST_COOKIE = "lineage_guest"


class JoinForm(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(1, 80))
    csrf_token = fields.String(required=True, validate=validate.Length(max=100))


def _cookie_path(code: str) -> str:
    return f"/g/{code}"


def _guest(code: str) -> tuple[GuestLinkState, str | None]:
    """The link (NotFound when gone) and the guest id this browser joined it as."""
    state = open_link(services().store, code)
    guest_id = request.cookies.get(GUEST_COOKIE)
    return state, guest_id if guest_id in state.guests else None


def _csrf(code: str, guest_id: str) -> str:
    return hmac.new(code.encode(), f"guest csrf {guest_id}".encode(), "sha256").hexdigest()


def _enter(code: str, state: GuestLinkState, guest_id: str) -> None:
    """Set what the shared pages draw with: the guest's own image route and CSRF token."""
    g.image_base = f"/g/{code}/versions"
    g.guest_csrf = _csrf(code, guest_id)
    g.guest = {"name": state.guests[guest_id], "home": f"/g/{code}", "code": code}


@blueprint.get("/g/<code>")
def guest_home(code: str) -> Response | str:
    """The shared assets, or the name form on a first visit."""
    state, guest_id = _guest(code)
    if guest_id is None:
        value = login_form_token()
        html = render_template("studio/guest_join.html", code=code, label=state.created.label,
                               form_token=value, static_url=static_url, me=None,
                               csrf_token="")
        response = Response(html, mimetype="text/html")
        remember_login_form(response, value)
        return response
    if len(state.created.asset_ids) == 1:
        return redirect(f"/g/{code}/assets/{state.created.asset_ids[0]}", 303)
    _enter(code, state, guest_id)
    cards = queries.asset_cards(services().engine, state.created.asset_ids, ["default"])
    return render_page("studio/guest_home.html", cards=cards, guest=g.guest,
                       csrf_token=g.guest_csrf, link=state.created)


@blueprint.post("/g/<code>/join")
def guest_join(code: str) -> Response:
    """Record the guest's display name and open the shared assets."""
    state = open_link(services().store, code)
    check_login_form()
    name = JoinForm().load(request.form.to_dict())["name"]
    guest_id = join_link(services().store, state, name)
    response = redirect(f"/g/{code}", 303)
    response.set_cookie(GUEST_COOKIE, guest_id, max_age=90 * 86400, path=_cookie_path(code),
                        httponly=True, samesite="Lax", secure=request.is_secure)
    return response


def _joined(code: str) -> tuple[GuestLinkState, str]:
    state, guest_id = _guest(code)
    if guest_id is None:
        raise NotFound("open the review link first and give your name")
    _enter(code, state, guest_id)
    return state, guest_id


@blueprint.get("/g/<code>/assets/<asset_id>")
def guest_asset(code: str, asset_id: str) -> str:
    """A shared asset: viewer, versions, comments; a comment form when allowed."""
    state, _ = _joined(code)
    asset_id = parse_id(asset_id, "asset")
    require_link_asset(services().store, state, asset_id, "asset")
    args = page_args(AssetPageQuery)
    if args["as_of"] is not None:
        raise NotFound("guests see the asset as it is now")
    selected = str(args["v"]) if args["v"] else None
    context = review_context(asset_id, selected, None, args["min_position"],
                             page=f"/g/{code}/assets/{asset_id}")
    current = context["current"]
    allowed = state.allows_comments()
    context.update(
        guest=g.guest, project=None, role="viewer", channels=[], can_review=False,
        can_create=False, can_comment=allowed, can_resolve=False, pending_jobs=[],
        panels=[], csrf_token=g.guest_csrf,
        comment_action=f"/g/{code}/versions/{current['version_id']}/comments"
        if current else None)
    return render_page("studio/asset.html", fragments=FRAGMENTS, **context)


@blueprint.get("/g/<code>/versions/<version_id>/image")
def guest_image(code: str, version_id: str) -> Response:
    """A shared version's image (or its preview): only for this link's guests."""
    state, _ = _joined(code)
    version_id = parse_id(version_id, "version")
    size = ImageQuery().load(request.args.to_dict())["size"]
    lineage = services()
    asset_id = require_link_asset(lineage.store, state, version_id, "version")
    tree = queries.tree(lineage.engine, asset_id)
    content_hash = next((n["content_hash"] for n in tree["nodes"]
                         if n["version_id"] == version_id), None)
    if content_hash is None:
        raise NotFound(f"version {version_id} does not exist")
    # Revalidated on every view (no-cache): a revoked link must stop showing at once.
    headers = {"Cache-Control": "private, no-cache", "ETag": f'"{content_hash}-{size}"'}
    if headers["ETag"] in request.headers.get("If-None-Match", ""):
        return Response(status=304, headers=headers)
    data, mimetype = image_bytes(lineage, content_hash, size)
    return Response(data, mimetype=mimetype, headers=headers)


@blueprint.post("/g/<code>/versions/<version_id>/comments")
def guest_post_comment(code: str, version_id: str) -> Response:
    """A guest's comment (links that allow comments only); never a decision."""
    state, guest_id = _joined(code)
    check_csrf(g.guest_csrf)
    version_id = parse_id(version_id, "version")
    data = form_body(CommentSchema, floats=("region.x", "region.y", "region.w", "region.h"))
    key = request.form.get("idempotency_key", "")[:120]
    body, position = guest_comment(services().store, state, guest_id, version_id,
                                   command_id=f"guest:{guest_id}:{key}" if key else None,
                                   **data)
    asset_id = require_link_asset(services().store, state, version_id, "version")
    return answered(url_with(f"/g/{code}/assets/{asset_id}", v=version_id,
                             min_position=position), {**body, "position": position}, 201)
