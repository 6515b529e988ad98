"""Every route × every kind of caller, generated from the app's route table.

A route without a rule here fails ``test_every_route_has_a_rule``: adding an endpoint
means deciding who may call it. The expectations follow the role ladder
viewer < creator < reviewer < admin: callers without a valid token get 401, members of
another project get 404 (existence is never leaked), members below the needed role get
403, and the weakest allowed role succeeds.
"""

from __future__ import annotations

import dataclasses
import io
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from app import create_app
from app.config import Settings
from projections.registry import make_runner
from tests.e2e.conftest import Api, Caller, png_bytes

LADDER = ("viewer", "creator", "reviewer", "admin")
CALLERS = ("anonymous", "revoked", "outsider", *LADDER)


@dataclasses.dataclass(frozen=True)
class Rule:
    """``needs``: "public", "user" (any valid token), "global_admin", "token_owner" (the
    token's user or a global admin; for anyone else the token does not exist), or a
    project role.
    ``ok``: statuses the weakest allowed caller may get (a request may be well-formed yet
    refused by the domain, e.g. retrying a job that has not failed)."""

    needs: str
    request: Callable[[World], tuple[str, dict[str, Any]]]
    ok: tuple[int, ...] = (200, 201, 202, 204)


@dataclasses.dataclass
class World:
    """One project with a member at every role, an outsider, and one of everything."""

    api: Api
    project: str
    asset: str
    version: str
    comment: str
    decision: str
    pin: str
    template: str
    job: str
    callers: dict[str, Caller | None]
    spare_member: str
    spare_token: str
    guest_link: str


def body(json: dict | None = None, **kwargs: Any) -> dict[str, Any]:  # noqa: ANN401
    return {"json": json if json is not None else {}, **kwargs} if "data" not in kwargs else kwargs


RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/api/health"): Rule("public", lambda w: ("/api/health", {})),
    ("GET", "/api/openapi.json"): Rule("public", lambda w: ("/api/openapi.json", {})),
    ("GET", "/api/docs"): Rule("public", lambda w: ("/api/docs", {})),
    ("POST", "/api/users"): Rule("global_admin", lambda w: (
        "/api/users", body({"name": f"new-{uuid.uuid4().hex[:6]}"}))),
    # Members of a shared project look each other up; strangers learn nothing.
    ("GET", "/api/users/<user_id>"): Rule("viewer", lambda w: (
        f"/api/users/{w.spare_member}", {})),
    ("GET", "/api/users"): Rule("user", lambda w: ("/api/users?q=adm", {})),
    ("GET", "/api/users/me"): Rule("user", lambda w: ("/api/users/me", {})),
    ("GET", "/api/models"): Rule("user", lambda w: ("/api/models", {})),
    ("POST", "/api/tokens"): Rule("user", lambda w: ("/api/tokens", body({"label": "ci"}))),
    ("DELETE", "/api/tokens/<token_id>"): Rule("token_owner", lambda w: (
        f"/api/tokens/{w.spare_token}", {})),
    ("POST", "/api/projects"): Rule("user", lambda w: ("/api/projects", body({"name": "P2"}))),
    ("GET", "/api/projects"): Rule("user", lambda w: ("/api/projects", {})),
    ("GET", "/api/projects/<project_id>"): Rule("viewer", lambda w: (
        f"/api/projects/{w.project}", {})),
    ("PATCH", "/api/projects/<project_id>/policies"): Rule("admin", lambda w: (
        f"/api/projects/{w.project}/policies", body({"final_render_cap": 9}))),
    ("PUT", "/api/projects/<project_id>/channels/<name>"): Rule("admin", lambda w: (
        f"/api/projects/{w.project}/channels/social", body({"min_width": 64,
                                                           "min_height": 64}))),
    ("DELETE", "/api/projects/<project_id>/channels/<name>"): Rule("admin", lambda w: (
        _spare_channel(w), {})),
    ("PUT", "/api/projects/<project_id>/members/<user_id>"): Rule("admin", lambda w: (
        f"/api/projects/{w.project}/members/{w.spare_member}", body({"role": "viewer"}))),
    ("DELETE", "/api/projects/<project_id>/members/<user_id>"): Rule("admin", lambda w: (
        f"/api/projects/{w.project}/members/{w.spare_member}", {})),
    ("POST", "/api/projects/<project_id>/assets"): Rule("creator", lambda w: (
        f"/api/projects/{w.project}/assets", body({"name": "Banner"}))),
    ("GET", "/api/projects/<project_id>/assets"): Rule("viewer", lambda w: (
        f"/api/projects/{w.project}/assets", {})),
    ("GET", "/api/projects/<project_id>/metrics"): Rule("viewer", lambda w: (
        f"/api/projects/{w.project}/metrics", {})),
    ("GET", "/api/projects/<project_id>/taxonomy"): Rule("viewer", lambda w: (
        f"/api/projects/{w.project}/taxonomy", {})),
    ("POST", "/api/projects/<project_id>/templates"): Rule("creator", lambda w: (
        f"/api/projects/{w.project}/templates",
        body({"name": "Hero", "prompt": "a {thing} at dusk"}))),
    ("GET", "/api/projects/<project_id>/templates"): Rule("viewer", lambda w: (
        f"/api/projects/{w.project}/templates", {})),
    ("GET", "/api/templates/<template_id>"): Rule("viewer", lambda w: (
        f"/api/templates/{w.template}", {})),
    ("GET", "/api/templates/<template_id>/revisions"): Rule("viewer", lambda w: (
        f"/api/templates/{w.template}/revisions", {})),
    ("PATCH", "/api/templates/<template_id>"): Rule("creator", lambda w: (
        f"/api/templates/{w.template}", body({"prompt": "a {thing} at dawn"}))),
    ("POST", "/api/templates/<template_id>/generations"): Rule("creator", lambda w: (
        f"/api/templates/{w.template}/generations",
        body({"asset_id": w.asset, "variables": {"thing": "kite"}, "width": 64,
              "height": 64, "steps": 2}))),
    ("GET", "/api/assets/<asset_id>"): Rule("viewer", lambda w: (f"/api/assets/{w.asset}", {})),
    ("GET", "/api/assets/<asset_id>/versions"): Rule("viewer", lambda w: (
        f"/api/assets/{w.asset}/versions", {})),
    ("GET", "/api/assets/<asset_id>/tree"): Rule("viewer", lambda w: (
        f"/api/assets/{w.asset}/tree", {})),
    ("GET", "/api/assets/<asset_id>/review"): Rule("viewer", lambda w: (
        f"/api/assets/{w.asset}/review", {})),
    ("POST", "/api/assets/<asset_id>/tags"): Rule("creator", lambda w: (
        f"/api/assets/{w.asset}/tags", body({"tag": "campaign/summer"}))),
    ("DELETE", "/api/assets/<asset_id>/tags/<path:tag>"): Rule("creator", lambda w: (
        f"/api/assets/{w.asset}/tags/hero", {})),
    ("POST", "/api/assets/<asset_id>/generations"): Rule("creator", lambda w: (
        f"/api/assets/{w.asset}/generations",
        body({"prompt": "a kite", "width": 64, "height": 64, "steps": 2}))),
    ("POST", "/api/assets/<asset_id>/uploads"): Rule("creator", lambda w: (
        f"/api/assets/{w.asset}/uploads",
        {"data": {"image": (io.BytesIO(png_bytes(color=(1, 2, 3))), "retouch.png")},
         "content_type": "multipart/form-data"})),
    ("GET", "/api/versions/<version_id>"): Rule("viewer", lambda w: (
        f"/api/versions/{w.version}", {})),
    ("GET", "/api/versions/<version_id>/image"): Rule("viewer", lambda w: (
        f"/api/versions/{w.version}/image", {})),
    ("GET", "/api/versions/<version_id>/lineage"): Rule("viewer", lambda w: (
        f"/api/versions/{w.version}/lineage", {})),
    ("GET", "/api/versions/<version_id>/provenance"): Rule("viewer", lambda w: (
        f"/api/versions/{w.version}/provenance", {})),
    ("GET", "/api/versions/<version_id>/export"): Rule("viewer", lambda w: (
        f"/api/versions/{w.version}/export?format=png", {})),
    ("POST", "/api/versions/<version_id>/edits"): Rule("creator", lambda w: (
        f"/api/versions/{w.version}/edits",
        body({"operation": "adjust", "adjustments": {"brightness": 1.2}}))),
    ("POST", "/api/versions/<version_id>/promote"): Rule("creator", lambda w: (
        f"/api/versions/{w.version}/promote", body({})), ok=(202, 409, 422)),
    ("POST", "/api/versions/<version_id>/rebuild"): Rule("creator", lambda w: (
        f"/api/versions/{w.version}/rebuild", body({}))),
    ("POST", "/api/versions/<version_id>/rebake"): Rule("creator", lambda w: (
        f"/api/versions/{w.version}/rebake",
        body({"overrides": {w.version: {"prompt": "navy"}}})), ok=(202, 409, 422)),
    ("POST", "/api/versions/<version_id>/comments"): Rule("creator", lambda w: (
        f"/api/versions/{w.version}/comments", body({"body": "Warmer, please"}))),
    ("POST", "/api/comments/<comment_id>/resolve"): Rule("creator", lambda w: (
        f"/api/comments/{w.comment}/resolve", body({}))),
    ("POST", "/api/versions/<version_id>/decisions"): Rule("reviewer", lambda w: (
        f"/api/versions/{w.version}/decisions", body({"decision": "changes_requested"}))),
    ("POST", "/api/decisions/<decision_id>/revoke"): Rule("reviewer", lambda w: (
        f"/api/decisions/{w.decision}/revoke", body({"reason": "wrong crop"}))),
    ("POST", "/api/versions/<version_id>/pins"): Rule("creator", lambda w: (
        f"/api/versions/{w.version}/pins", body({"label": "Tuesday's review"}))),
    ("DELETE", "/api/pins/<pin_id>"): Rule("creator", lambda w: (f"/api/pins/{w.pin}", {})),
    ("GET", "/api/jobs/<job_id>"): Rule("viewer", lambda w: (f"/api/jobs/{w.job}", {})),
    ("POST", "/api/jobs/<job_id>/retry"): Rule("creator", lambda w: (
        f"/api/jobs/{w.job}/retry", body({})), ok=(409,)),
    ("POST", "/api/jobs/<job_id>/cancel"): Rule("creator", lambda w: (
        f"/api/jobs/{w.job}/cancel", body({})), ok=(202, 409)),
    ("GET", "/api/assets/<asset_id>/jobs"): Rule("viewer", lambda w: (
        f"/api/assets/{w.asset}/jobs?status=requested,started", {})),
    ("GET", "/api/projects/<project_id>/jobs"): Rule("viewer", lambda w: (
        f"/api/projects/{w.project}/jobs", {})),
    ("GET", "/api/users/me/jobs"): Rule("user", lambda w: ("/api/users/me/jobs", {})),
    ("GET", "/api/search"): Rule("viewer", lambda w: (f"/api/search?project={w.project}", {})),
    ("GET", "/api/audit"): Rule("viewer", lambda w: (f"/api/audit?project={w.project}", {})),
    ("GET", "/api/audit/export"): Rule("viewer", lambda w: (
        f"/api/audit/export?project={w.project}&format=json", {})),
    ("GET", "/api/events/stream"): Rule("viewer", lambda w: (
        f"/api/events/stream?project={w.project}&max_seconds=0&after=0", {})),
    ("POST", "/api/projects/<project_id>/guest-links"): Rule("admin", lambda w: (
        f"/api/projects/{w.project}/guest-links",
        body({"asset_ids": [w.asset], "permission": "comment"})), ok=(201,)),
    ("GET", "/api/projects/<project_id>/guest-links"): Rule("admin", lambda w: (
        f"/api/projects/{w.project}/guest-links", {})),
    ("DELETE", "/api/guest-links/<link_id>"): Rule("admin", lambda w: (
        f"/api/guest-links/{w.guest_link}", {}), ok=(204,)),
}


def api_routes() -> set[tuple[str, str]]:
    app = create_app(Settings.from_env(database_url="sqlite://"))
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/api/")
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_has_a_rule_and_every_rule_a_route():
    routes = api_routes()
    assert sorted(routes - RULES.keys()) == [], "routes without an authorisation rule"
    assert sorted(RULES.keys() - routes) == [], "rules for routes that do not exist"


@pytest.fixture
def world(api: Api) -> World:
    project = api.project("Matrix")
    callers: dict[str, Caller | None] = {"anonymous": None}
    for role in LADDER:
        callers[role] = api.as_user(role, project)
    revoked = api.as_user("admin", project, name="revoked")
    assert revoked.delete(f"/api/tokens/{revoked.token_id}").status_code in (200, 204)
    callers["revoked"] = revoked
    callers["outsider"] = api.as_user("admin", api.project("Elsewhere"), name="outsider")
    asset = api.asset(project, tags=["hero"])
    version = api.upload(asset, png_bytes())["version_id"]
    admin = api.admin
    comment = admin.post(f"/api/versions/{version}/comments", json={"body": "Hi"})
    decision = admin.post(f"/api/versions/{version}/decisions", json={"decision": "approved"})
    pin = admin.post(f"/api/versions/{version}/pins", json={"label": "agreed"})
    template = admin.post(f"/api/projects/{project}/templates",
                          json={"name": "T", "prompt": "a {thing}"})
    generation = admin.post(f"/api/assets/{asset}/generations",
                            json={"prompt": "a kite", "width": 64, "height": 64, "steps": 2})
    spare = api.as_user("viewer", project, name="spare")
    link = admin.post(f"/api/projects/{project}/guest-links", json={"asset_ids": [asset]})
    for response in (comment, decision, pin, template, generation, link):
        assert response.status_code in (201, 202), response.get_json()
    make_runner(api.services.engine).catch_up()  # the read side has seen all of it
    return World(
        api=api, project=project, asset=asset, version=version,
        comment=comment.get_json()["comment_id"], decision=decision.get_json()["decision_id"],
        pin=pin.get_json()["pin_id"], template=template.get_json()["template_id"],
        job=generation.get_json()["jobs"][0]["job_id"], callers=callers,
        spare_member=spare.user_id, spare_token=spare.token_id,
        guest_link=link.get_json()["link_id"],
    )


def expected(rule: Rule, caller: str) -> str:
    """"401", "403", "404" or "allowed" for this caller under this rule."""
    if rule.needs == "public":
        return "allowed"
    if caller in ("anonymous", "revoked"):
        return "401"
    if rule.needs == "user":
        return "allowed"
    if rule.needs == "global_admin":
        return "403"
    if rule.needs == "token_owner":
        return "404"
    if caller == "outsider":
        return "404"
    return "allowed" if LADDER.index(caller) >= LADDER.index(rule.needs) else "403"


def _spare_channel(world: World) -> str:
    """The path of a channel that exists when the request is made (set again each time:
    the first allowed caller removes it)."""
    path = f"/api/projects/{world.project}/channels/spare"
    response = world.api.admin.put(path, json={"min_width": 8, "min_height": 8})
    assert response.status_code == 200, response.get_json()
    return path


@pytest.mark.parametrize("route", sorted(RULES), ids=lambda r: f"{r[0]} {r[1]}")
def test_route_answers_each_caller_as_its_rule_says(world: World, route):
    method, _ = route
    rule = RULES[route]
    first_allowed = True
    for caller_name in CALLERS:
        path, kwargs = rule.request(world)
        caller = world.callers[caller_name]
        if caller is None:
            response = world.api.client.open(path, method=method, **kwargs)
        else:
            response = caller.request(method, path, **kwargs)
        outcome = expected(rule, caller_name)
        status = response.status_code
        where = f"{method} {path} as {caller_name}: {status} {response.get_data()[:300]!r}"
        if outcome != "allowed":
            assert status == int(outcome), where
            assert response.mimetype == "application/problem+json", where
            continue
        assert status < 500 and status not in (401, 403), where
        if first_allowed:
            assert status in rule.ok, where
            first_allowed = False
