"""Signing in and out: ``/login`` (a token, typed once), ``/signin?code=`` (a one-time
link from ``lineage serve`` or ``lineage demo``) and ``/logout``.

Either way the browser gets a fresh session token in an HttpOnly cookie; the typed token
and the link's code are never stored in the browser.
"""

from __future__ import annotations

from flask import Response, redirect, render_template, request
from marshmallow import RAISE, Schema, fields, validate

from app.auth import authenticate_token, client_address, limited
from app.context import services
from app.sessions import (
    check_login_form,
    clear_session_cookie,
    login_form_token,
    remember_login_form,
    session_token,
    set_session_cookie,
)
from app.studio.static_files import static_url
from app.studio.web import page_args, principal, signed_in, studio_blueprint
from commands.signin import redeem_signin_link, start_session
from commands.users import revoke_token
from events.errors import Unauthorized

blueprint = studio_blueprint("studio_signin", __name__)
LOCAL_PATH = validate.Regexp(r"^/(?![/\\])[^\s]*$", error="must be a path on this server")


class LoginQuery(Schema):
    class Meta:
        unknown = RAISE

    next = fields.String(load_default="/", validate=[validate.Length(max=500), LOCAL_PATH])


class LoginForm(LoginQuery):
    token = fields.String(required=True, validate=validate.Length(1, 300))
    csrf_token = fields.String(required=True, validate=validate.Length(max=100))


class SigninQuery(Schema):
    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=validate.Length(1, 200))


def _login_page(next_path: str, error: str = "", status: int = 200) -> Response:
    value = login_form_token()
    html = render_template("studio/login.html", next=next_path, error=error,
                           login_token=value, static_url=static_url, me=None, csrf_token="")
    response = Response(html, status=status, mimetype="text/html")
    remember_login_form(response, value)
    return response


@blueprint.get("/login")
def login() -> Response:
    """The sign-in form: one field, "Token"."""
    return _login_page(page_args(LoginQuery)["next"])


@blueprint.post("/login")
def login_submit() -> Response:
    """Check the token, start a session, go where the person was heading."""
    check_login_form()
    data = LoginForm().load(request.form.to_dict())
    try:
        person = authenticate_token(data["token"].strip())
    except Unauthorized as refused:
        return _login_page(data["next"], refused.detail, 401)
    return _signed_in(start_session(services().store, person).token, data["next"])


@blueprint.get("/signin")
def signin_link() -> Response:
    """Redeem a one-time sign-in link and open the studio."""
    code = page_args(SigninQuery)["code"]
    try:
        token = limited(f"address:{client_address()}",
                        lambda: redeem_signin_link(services().store, code))
    except Unauthorized as refused:
        return _login_page("/", refused.detail, 401)
    return _signed_in(token.token, "/")


def _signed_in(token: str, next_path: str) -> Response:
    response = redirect(next_path, 303)
    set_session_cookie(response, token)
    return response


@blueprint.post("/logout")
@signed_in
def logout() -> Response:
    """End this browser's session (its token is revoked everywhere at once)."""
    if session_token() is not None:
        revoke_token(services().store, principal().token_id, actor_id=principal().user_id,
                     reason="signed out of the studio")
    response = redirect("/login", 303)
    clear_session_cookie(response)
    return response
