"""Browser sessions over HTTP: the studio's session cookie and its CSRF check.

The cookie holds a studio session token (commands/signin.py): HttpOnly, SameSite=Lax,
Secure when the request came over https. A request authenticated by the cookie rather
than a bearer header must, unless it only reads (GET, HEAD, OPTIONS), carry the
session's CSRF token in the ``X-CSRF-Token`` header or the ``csrf_token`` form field,
and must not come from another origin.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Response, g, request

from app.context import services
from commands.signin import SESSION_HOURS, csrf_token, session_principal
from commands.users import Principal
from events.errors import Forbidden

SESSION_COOKIE = "lineage_session"
LOGIN_COOKIE = "lineage_login"
"""A random value the sign-in form echoes (login CSRF: nobody can sign you in as them)."""
SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))


def session_token() -> str | None:
    """The session token the request's cookie carries (not yet checked)."""
    value = request.cookies.get(SESSION_COOKIE)
    return value if value else None


def cookie_principal() -> Principal | None:
    """The signed-in person of this request's session cookie, or None without one.

    Raises Unauthorized for a cookie that is no (longer a) valid session, and Forbidden
    for a change without the session's CSRF token or from another origin."""
    if "cookie_principal" in g:
        return g.cookie_principal
    token = session_token()
    if token is None:
        return None
    principal = session_principal(services().store, token)
    if request.method not in SAFE_METHODS:
        check_csrf(csrf_token(token))
    g.cookie_principal = principal
    return principal


def check_csrf(expected: str) -> None:
    """Forbidden unless the request sends ``expected`` (header or form field) and, when
    the browser names an origin, it is this server's."""
    origin = request.headers.get("Origin")
    site = request.headers.get("Sec-Fetch-Site")
    if (origin and origin != request.host_url.rstrip("/")) or site in ("cross-site",
                                                                      "same-site"):
        raise Forbidden("this request came from another site")
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden("the form's CSRF token is missing or wrong; reload the page and "
                        "try again")


def page_csrf_token() -> str:
    """The CSRF token of this request's session ('' without one)."""
    token = session_token()
    return csrf_token(token) if token else ""


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_HOURS * 3600, path="/",
                        httponly=True, samesite="Lax", secure=request.is_secure)


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Lax",
                           secure=request.is_secure)


def login_form_token() -> str:
    """The sign-in form's anti-forgery value: the request's cookie's, or a new one (which
    :func:`remember_login_form` then sets)."""
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)


def remember_login_form(response: Response, value: str) -> None:
    if request.cookies.get(LOGIN_COOKIE) != value:
        response.set_cookie(LOGIN_COOKIE, value, max_age=3600, path="/", httponly=True,
                            samesite="Lax", secure=request.is_secure)


def check_login_form() -> None:
    """Forbidden unless the sign-in form echoes its cookie's value."""
    expected = request.cookies.get(LOGIN_COOKIE)
    if not expected:
        raise Forbidden("the sign-in form expired; reload the page and try again")
    check_csrf(expected)

