"""Studio sessions over HTTP: one-time sign-in links, the session cookie's flags, CSRF on
every change (pages and the JSON API alike when a cookie authenticates), sign-out,
page headers and the static files' caching."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from app.sessions import LOGIN_COOKIE, SESSION_COOKIE
from app.studio.static_files import digest
from commands.signin import csrf_token, issue_signin_link, redeem_signin_link
from events.errors import Unauthorized
from tests.e2e.conftest import png_bytes


def sign_in(client, token: str) -> str:  # noqa: ANN001
    value = secrets.token_urlsafe(16)
    client.set_cookie(LOGIN_COOKIE, value)
    response = client.post("/login", data={"token": token, "csrf_token": value, "next": "/"})
    assert response.status_code == 303, response.get_data(as_text=True)[:400]
    return client.get_cookie(SESSION_COOKIE).value


def test_a_sign_in_link_opens_the_studio_once_and_never_holds_the_token(api, client):
    person = api.user("Nia")
    code = issue_signin_link(api.store, person.user_id, actor_id=person.user_id)
    assert person.token not in code

    response = client.get(f"/signin?code={code}")

    assert response.status_code == 303 and response.location == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http here; https requests get Secure
    session = client.get_cookie(SESSION_COOKIE).value
    assert session != person.token
    assert client.get("/").status_code == 200
    again = api.client.application.test_client().get(f"/signin?code={code}")
    assert again.status_code == 401 and "already used" in again.get_data(as_text=True)


def test_the_session_cookie_is_secure_over_https(api, client):
    person = api.user("Sol")
    code = issue_signin_link(api.store, person.user_id, actor_id=person.user_id)
    response = client.get(f"/signin?code={code}", base_url="https://lineage.test")
    assert "Secure" in response.headers["Set-Cookie"]


def test_an_expired_or_forged_link_is_refused(api):
    person = api.user("Ola")
    past = datetime.now(UTC) - timedelta(hours=2)
    code = issue_signin_link(api.store, person.user_id, actor_id="test", minutes=30, now=past)
    with pytest.raises(Unauthorized):
        redeem_signin_link(api.store, code)
    fresh = issue_signin_link(api.store, person.user_id, actor_id="test")
    with pytest.raises(Unauthorized):
        redeem_signin_link(api.store, fresh.split(".")[0] + ".x" * 12)
    assert redeem_signin_link(api.store, fresh).user_id == person.user_id


def test_changes_need_the_sessions_csrf_token_and_this_origin(api, client):
    project = api.project("CSRF")
    admin = api.admin
    session = sign_in(client, admin.token)
    token = csrf_token(session)
    head = api.head()

    missing = client.post("/projects", data={"name": "Forged"})
    wrong = client.post("/projects", data={"name": "Forged", "csrf_token": "0" * 64})
    other_site = client.post("/projects", data={"name": "Forged", "csrf_token": token},
                             headers={"Origin": "https://evil.example"})
    cross = client.post("/projects", data={"name": "Forged", "csrf_token": token},
                        headers={"Sec-Fetch-Site": "cross-site"})
    for response in (missing, wrong, other_site, cross):
        assert response.status_code == 403, response.get_data(as_text=True)[:300]
    assert api.head() == head  # nothing was written

    good = client.post("/projects", data={"name": "Real", "csrf_token": token})
    assert good.status_code == 303
    # The JSON API with the cookie instead of a bearer token: reads need nothing more,
    # changes need the CSRF header.
    assert client.get(f"/api/projects/{project}").status_code == 200
    refused = client.post("/api/projects", json={"name": "Via cookie"})
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    accepted = client.post("/api/projects", json={"name": "Via cookie"},
                           headers={"X-CSRF-Token": token})
    assert accepted.status_code == 201


def test_the_sign_in_form_refuses_a_post_without_its_own_cookie(api, client):
    response = client.post("/login", data={"token": api.admin.token, "csrf_token": "x"})
    assert response.status_code == 403
    assert client.get_cookie(SESSION_COOKIE) is None


def test_a_wrong_token_is_refused_on_the_form(api, client):
    value = secrets.token_urlsafe(16)
    client.set_cookie(LOGIN_COOKIE, value)
    response = client.post("/login", data={"token": "lin_nope", "csrf_token": value})
    assert response.status_code == 401
    assert "malformed" in response.get_data(as_text=True)


def test_signing_out_revokes_the_session_everywhere(api, client, app):
    session = sign_in(client, api.admin.token)
    copy = app.test_client()
    copy.set_cookie(SESSION_COOKIE, session)
    assert copy.get("/").status_code == 200

    response = client.post("/logout", data={"csrf_token": csrf_token(session)})

    assert response.status_code == 303 and response.location == "/login"
    assert "lineage_session=;" in response.headers["Set-Cookie"]
    stolen = copy.get("/")
    assert stolen.status_code == 303 and stolen.location.startswith("/login")


def test_an_api_token_in_the_cookie_is_not_a_session(api, app):
    client = app.test_client()
    client.set_cookie(SESSION_COOKIE, api.admin.token)
    response = client.get("/")
    assert response.status_code == 303 and response.location.startswith("/login")


def test_pages_forbid_inline_script_and_framing_and_are_not_cached(api, client):
    sign_in(client, api.admin.token)
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    html = response.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert " style=" not in html and "<style" not in html
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", re.sub(r'"[^"]*"', '""', html)), "handler"


def test_static_files_are_immutable_for_the_current_release_only(client):
    current = client.get(f"/static/{digest()}/studio.js")
    assert current.status_code == 200 and current.mimetype == "text/javascript"
    assert "immutable" in current.headers["Cache-Control"]
    stale = client.get("/static/000000000000/studio.css")
    assert stale.status_code == 200 and "immutable" not in stale.headers["Cache-Control"]
    assert client.get(f"/static/{digest()}/../sessions.py").status_code == 404
    assert client.get(f"/static/{digest()}/nope.js").status_code == 404


def test_previews_are_made_once_per_content_hash_and_cached_for_good(api, services):
    project = api.project()
    asset = api.asset(project)
    data = png_bytes(640, 320, (10, 120, 200))
    first = api.upload(asset, data)["version_id"]
    second = api.upload(api.asset(project, name="Twin"), data)["version_id"]

    response = api.admin.get(f"/api/versions/{first}/image?size=256")

    assert response.status_code == 200 and response.mimetype == "image/webp"
    assert "immutable" in response.headers["Cache-Control"]
    content_hash = response.headers["ETag"].strip('"').removesuffix("-256")
    cached = services.thumbnails.path(content_hash, "256.webp")
    assert cached.read_bytes() == response.data
    cached.write_bytes(b"not remade")  # the twin's preview is read, not made again
    twin = api.admin.get(f"/api/versions/{second}/image?size=256")
    assert twin.data == b"not remade"
    again = api.admin.get(f"/api/versions/{first}/image?size=256",
                          headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
