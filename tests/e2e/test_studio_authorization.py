"""Every studio route × every kind of caller, with the same answers as the API.

A studio route without a rule here fails ``test_every_studio_route_has_a_rule``. Callers
hold a browser session (signed in through ``/login`` with their token); people without
a valid session are sent to the sign-in page (303), members of another project get 404,
members below the needed role 403, and the weakest allowed role is served (or sent on
with a 303 after a form). Guest-link routes are opened by a link, not a session.
"""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from app import create_app
from app.config import Settings
from app.sessions import LOGIN_COOKIE, SESSION_COOKIE
from commands.signin import csrf_token
from commands.users import revoke_token
from tests.e2e.test_authorization_matrix import CALLERS, LADDER, World, world  # noqa: F401

STUDIO_CALLERS = tuple(c for c in CALLERS if c != "anonymous") + ("anonymous",)


@dataclasses.dataclass(frozen=True)
class PageRule:
    """``needs``: "public", "user" (any signed-in person), "link" (a guest link), or a
    project role. ``form``: fields a POST sends (its keys are added; a callable value
    is given the world)."""

    needs: str
    path: Callable[[World], str]
    form: dict[str, Any] | None = None
    ok: tuple[int, ...] = (200, 201, 202, 303)


def form(**fields: Any) -> dict[str, Any]:  # noqa: ANN401
    return fields


RULES: dict[tuple[str, str], PageRule] = {
    ("GET", "/static/<release>/<path:filename>"): PageRule(
        "public", lambda w: "/static/x/studio.css"),
    ("GET", "/login"): PageRule("public", lambda w: "/login"),
    ("POST", "/login"): PageRule("public", lambda w: "/login", form(token="lin_bad"),
                                 ok=(401, 403)),
    ("GET", "/signin"): PageRule("public", lambda w: "/signin?code=bad", ok=(401,)),
    ("POST", "/logout"): PageRule("user", lambda w: "/logout", form()),
    ("GET", "/"): PageRule("user", lambda w: "/"),
    ("GET", "/audit"): PageRule("viewer", lambda w: f"/audit?project={w.project}"),
    ("POST", "/projects"): PageRule("user", lambda w: "/projects", form(name="Studio P")),
    ("GET", "/projects/<project_id>"): PageRule("viewer", lambda w: f"/projects/{w.project}"),
    ("POST", "/projects/<project_id>/assets"): PageRule(
        "creator", lambda w: f"/projects/{w.project}/assets", form(name="Card", tags="a, b")),
    ("GET", "/projects/<project_id>/guest-links"): PageRule(
        "admin", lambda w: f"/projects/{w.project}/guest-links"),
    ("POST", "/projects/<project_id>/guest-links"): PageRule(
        "admin", lambda w: f"/projects/{w.project}/guest-links",
        form(asset_ids=lambda w: [w.asset], permission="view", expires_in_days="1")),
    ("POST", "/guest-links/<link_id>/revoke"): PageRule(
        "admin", lambda w: f"/guest-links/{w.guest_link}/revoke", form()),
    ("GET", "/assets/<asset_id>"): PageRule("viewer", lambda w: f"/assets/{w.asset}"),
    ("GET", "/assets/<asset_id>/compare"): PageRule(
        "viewer", lambda w: f"/assets/{w.asset}/compare?a={w.version}&b={w.version}"),
    ("POST", "/assets/<asset_id>/generations"): PageRule(
        "creator", lambda w: f"/assets/{w.asset}/generations",
        form(prompt="a kite", variations="1", size="64", steps="2")),
    ("POST", "/templates/<template_id>/generations"): PageRule(
        "creator", lambda w: f"/templates/{w.template}/generations",
        form(asset_id=lambda w: w.asset, **{"var.thing": "kite"}, variations="1", size="64",
             seed_mode="fixed", seed="4", steps="2")),
    ("GET", "/versions/<version_id>"): PageRule("viewer", lambda w: f"/versions/{w.version}"),
    ("POST", "/versions/<version_id>/rebuild"): PageRule(
        "creator", lambda w: f"/versions/{w.version}/rebuild", form()),
    ("POST", "/versions/<version_id>/comments"): PageRule(
        "creator", lambda w: f"/versions/{w.version}/comments", form(body="Warmer")),
    ("POST", "/comments/<comment_id>/resolve"): PageRule(
        "creator", lambda w: f"/comments/{w.comment}/resolve", form()),
    ("POST", "/versions/<version_id>/decisions"): PageRule(
        "reviewer", lambda w: f"/versions/{w.version}/decisions",
        form(decision="changes_requested", note="darker")),
    ("POST", "/decisions/<decision_id>/revoke"): PageRule(
        "reviewer", lambda w: f"/decisions/{w.decision}/revoke", form(reason="wrong crop")),
    ("POST", "/versions/<version_id>/pins"): PageRule(
        "creator", lambda w: f"/versions/{w.version}/pins", form(label="Tuesday")),
    ("POST", "/pins/<pin_id>/remove"): PageRule("creator", lambda w: f"/pins/{w.pin}/remove",
                                                form()),
    ("POST", "/jobs/<job_id>/cancel"): PageRule(
        "creator", lambda w: f"/jobs/{w.job}/cancel", form(), ok=(202, 303, 409)),
    ("POST", "/jobs/<job_id>/retry"): PageRule(
        "creator", lambda w: f"/jobs/{w.job}/retry", form(), ok=(409,)),
    ("POST", "/versions/<version_id>/promote"): PageRule(
        "creator", lambda w: f"/versions/{w.version}/promote", form(),
        ok=(202, 303, 409, 422)),
    ("POST", "/versions/<version_id>/edits"): PageRule(
        "creator", lambda w: f"/versions/{w.version}/edits",
        form(operation="adjust", brightness="1.2")),
    ("GET", "/projects/<project_id>/dashboard"): PageRule(
        "viewer", lambda w: f"/projects/{w.project}/dashboard?range=all"),
    ("GET", "/projects/<project_id>/dashboard.csv"): PageRule(
        "viewer", lambda w: f"/projects/{w.project}/dashboard.csv"),
    ("GET", "/projects/<project_id>/templates"): PageRule(
        "viewer", lambda w: f"/projects/{w.project}/templates"),
    ("POST", "/projects/<project_id>/templates"): PageRule(
        "creator", lambda w: f"/projects/{w.project}/templates",
        form(name="Poster", prompt="a {thing} poster", **{"parameters.steps": "4"})),
    ("POST", "/templates/<template_id>/revise"): PageRule(
        "creator", lambda w: f"/templates/{w.template}/revise",
        form(prompt="a {thing} at noon", negative_prompt="", **{"parameters.width": "128"})),
    ("GET", "/projects/<project_id>/settings"): PageRule(
        "admin", lambda w: f"/projects/{w.project}/settings"),
    ("POST", "/projects/<project_id>/members"): PageRule(
        "admin", lambda w: f"/projects/{w.project}/members",
        form(user_id=lambda w: w.callers["viewer"].user_id, role="viewer")),
    ("POST", "/projects/<project_id>/members/<user_id>"): PageRule(
        "admin", lambda w: f"/projects/{w.project}/members/{w.callers['creator'].user_id}",
        form(role="creator")),
    ("POST", "/projects/<project_id>/members/<user_id>/remove"): PageRule(
        "admin", lambda w: f"/projects/{w.project}/members/{w.callers['outsider'].user_id}"
        "/remove", form(), ok=(404,)),
    ("POST", "/projects/<project_id>/policies"): PageRule(
        "admin", lambda w: f"/projects/{w.project}/policies",
        form(final_render_cap="50", price_currency="eur")),
    ("POST", "/projects/<project_id>/channels"): PageRule(
        "admin", lambda w: f"/projects/{w.project}/channels",
        form(name="social", min_width="1080", min_height="1080")),
    ("POST", "/projects/<project_id>/channels/<name>/remove"): PageRule(
        "admin", lambda w: f"/projects/{w.project}/channels/never-set/remove", form(),
        ok=(404,)),
    ("GET", "/g/<code>"): PageRule("link", lambda w: "/g/0"),
    ("POST", "/g/<code>/join"): PageRule("link", lambda w: "/g/0/join", form(name="Gina")),
    ("GET", "/g/<code>/assets/<asset_id>"): PageRule(
        "link", lambda w: f"/g/0/assets/{w.asset}"),
    ("GET", "/g/<code>/versions/<version_id>/image"): PageRule(
        "link", lambda w: f"/g/0/versions/{w.version}/image"),
    ("POST", "/g/<code>/versions/<version_id>/comments"): PageRule(
        "link", lambda w: f"/g/0/versions/{w.version}/comments", form(body="Hi")),
}


def studio_routes() -> set[tuple[str, str]]:
    app = create_app(Settings.from_env(database_url="sqlite://"))
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            if not rule.rule.startswith("/api/")
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_studio_route_has_a_rule_and_every_rule_a_route():
    routes = studio_routes()
    assert sorted(routes - RULES.keys()) == [], "studio routes without an authorisation rule"
    assert sorted(RULES.keys() - routes) == [], "rules for routes that do not exist"


def sign_in(client: FlaskClient, token: str) -> str:
    """Sign ``client`` in through the sign-in form; returns the session cookie's token."""
    value = secrets.token_urlsafe(16)
    client.set_cookie(LOGIN_COOKIE, value)
    response = client.post("/login", data={"token": token, "csrf_token": value, "next": "/"})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    return cookie.value


@pytest.fixture
def sessions(world: World, app) -> dict[str, tuple[FlaskClient, str]]:  # noqa: F811
    """caller → (a client holding their browser session, its CSRF token)."""
    clients: dict[str, tuple[FlaskClient, str]] = {}
    for name in CALLERS:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.8.{len(clients)}.{uuid.uuid4().int % 250}"
        caller = world.callers[name]
        if name == "anonymous":
            clients[name] = (client, "")
            continue
        if name == "revoked":
            # A session whose token was revoked after sign-in (signed out elsewhere).
            session = sign_in(client, world.callers["admin"].token)
            revoke_token(world.api.store, session.split(".")[0].removeprefix("lin_"),
                         actor_id="test")
            clients[name] = (client, csrf_token(session))
            continue
        session = sign_in(client, caller.token)
        clients[name] = (client, csrf_token(session))
    return clients


def expected(rule: PageRule, caller: str) -> str:
    if rule.needs == "public":
        return "allowed"
    if caller in ("anonymous", "revoked"):
        return "login"
    if rule.needs == "user":
        return "allowed"
    if caller == "outsider":
        return "404"
    return "allowed" if LADDER.index(caller) >= LADDER.index(rule.needs) else "403"


SESSION_RULES = sorted(key for key, rule in RULES.items() if rule.needs != "link")


@pytest.mark.parametrize("route", SESSION_RULES, ids=lambda r: f"{r[0]} {r[1]}")
def test_studio_route_answers_each_caller_as_the_api_would(world: World, sessions, route):  # noqa: F811
    method, _ = route
    rule = RULES[route]
    first_allowed = True
    order = ("anonymous", "revoked", "outsider", *LADDER)
    for caller_name in order:
        client, token = sessions[caller_name]
        path = rule.path(world)
        if method == "GET":
            response = client.get(path)
        else:
            fields = {k: v(world) if callable(v) else v for k, v in (rule.form or {}).items()}
            data = {**fields, "csrf_token": token,
                    "idempotency_key": uuid.uuid4().hex}
            response = client.post(path, data=data)
        status = response.status_code
        where = f"{method} {path} as {caller_name}: {status} {response.get_data()[:300]!r}"
        outcome = expected(rule, caller_name)
        if outcome == "login":
            assert status == 303 and response.location.startswith("/login"), where
        elif outcome != "allowed":
            assert status == int(outcome), where
            assert response.mimetype == "text/html", where
        else:
            assert status < 500 and status not in (401, 403) or rule.needs == "public", where
            if first_allowed:
                assert status in rule.ok, where
                first_allowed = False
