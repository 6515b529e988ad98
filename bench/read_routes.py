"""Every GET route of the Flask app, timed through its test client.

The routes come from ``app.url_map`` (a route added tomorrow is timed tomorrow, and one
this module cannot fill is reported, not skipped). Path parameters are filled with ids
of the seeded store (bench/read_store.py): the asset with 200 versions, the version at
depth 50 of its lineage, the first project (200 projects share the log at 1M events),
the bench's admin, and the guest link, template, job and uploaded image made through the
API. A few routes get query strings they need (compare's two versions) or that name the
cases the issue sets targets for (free-text search within a project and across all of
a person's projects).

Each request carries both the API's bearer token and a studio session cookie, so every
route answers as for a signed-in person: authorisation, read-side queries, rendering.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from werkzeug.routing import Rule

from app.sessions import LOGIN_COOKIE
from app.studio.guest_views import GUEST_COOKIE
from app.studio.static_files import digest
from bench.read_explain import explain
from bench.stats import percentile

READ_TARGET_MS = 20.0
SEARCH_PROJECT_TARGET_MS = 50.0
SEARCH_ALL_TARGET_MS = 100.0

# Path parameter → key of the seeded ids.
PARAMETERS = {"asset_id": "big_asset", "version_id": "deep", "project_id": "project",
              "user_id": "user", "job_id": "job", "template_id": "template",
              "code": "guest_code"}
# Endpoint → parameters that need another id than the default.
OVERRIDES = {"versions.get_image": {"version_id": "upload"},
             "studio_guest.guest_image": {"version_id": "upload"},
             "lineage_tools.export_version": {"version_id": "upload"}}

TEXT = "fox river"
BUDGET_S = 20.0
MIN_SAMPLES = 3
"""A route slower than BUDGET_S / samples is timed fewer times (the table says how many)."""


@dataclass(frozen=True)
class Case:
    """One request to time: a label, its path and query, its p95 target, and whether it
    is free text (the one kind allowed to grow with the log)."""

    label: str
    path: str
    target_ms: float = READ_TARGET_MS
    free_text: bool = False
    expected: tuple[int, ...] = ()  # (): any answer below 400


@dataclass(frozen=True)
class Timing:
    case: Case
    status: int
    p50: float
    p95: float
    samples: int = 0
    sql: tuple[str, ...] = ()
    """Where one more request's time went (bench/read_explain.py)."""


def variants(endpoint: str, rule: str, path: str, ids: dict) -> list[Case]:
    """The requests one route is timed with (most routes: the path alone), labelled by
    the rule."""
    project, versions = ids["project"], ids["versions"]
    if endpoint == "search.search":
        return [
            Case(f"{rule} (newest first)", f"{path}?limit=20"),
            Case(f"{rule} (tag + project)", f"{path}?tag=campaign/summer-26&project={project}"
                                           "&limit=20"),
            Case(f"{rule} (free text, one project)", f"{path}?q={TEXT}&project={project}"
                                                    "&limit=20", SEARCH_PROJECT_TARGET_MS, True),
            Case(f"{rule} (free text, all my projects)", f"{path}?q={TEXT}&limit=20",
                 SEARCH_ALL_TARGET_MS, True)]
    if rule == "/api/users":  # people search needs its query (2-100 characters)
        return [Case(f"{rule} (people search)", f"{path}?q=bench")]
    if endpoint == "studio_compare.compare":
        return [Case(rule, f"{path}?a={versions[0]}&b={versions[-1]}")]
    if endpoint == "stream.event_stream":  # the feed's opening: it ends at once
        return [Case(f"{rule} (opening)", f"{path}?project={project}&max_seconds=0")]
    if endpoint == "studio_signin.signin_link":  # redeeming a code is a write: refused one
        return [Case(f"{rule} (unknown code)", f"{path}?code=bench-unknown",
                     expected=(401, 429))]  # 429 once the sign-in rate limit is reached
    if endpoint == "audit.export":  # a bulk download: unscoped, it is the whole log's audit
        return [Case(f"{rule} (one project)", f"{path}?project={project}"),
                Case(f"{rule} (one asset)", f"{path}?project={project}&asset={ids['big_asset']}")]
    if endpoint in ("audit.audit", "studio_audit.audit_page"):
        return [Case(rule, path), Case(f"{rule} (one asset)",
                                       f"{path}?project={project}&asset={ids['big_asset']}")]
    if endpoint in ("assets.get_asset", "studio_asset.asset_page",
                    "review_state.asset_review", "trees.asset_tree"):
        return [Case(rule, path), Case(f"{rule} (as_of)", f"{path}?as_of=2100-01-01T00:00:00Z")]
    return [Case(rule, path)]


def cases(app: Flask, ids: dict) -> list[tuple[Rule, list[Case]]]:
    """Every GET rule of ``app`` with the requests it is timed with."""
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods:
            continue
        values = {}
        for name in rule.arguments:
            if name == "release":
                values[name] = digest()
            elif name == "filename":
                values[name] = "studio.css"
            else:
                key = OVERRIDES.get(rule.endpoint, {}).get(name, PARAMETERS.get(name))
                values[name] = ids[key] if key else f"<{name}?>"
        path = rule.rule
        for name, value in values.items():
            path = path.replace(f"<path:{name}>", value).replace(f"<{name}>", value)
        found.append((rule, variants(rule.endpoint, rule.rule, path, ids)))
    return found


def signed_in(app: Flask, token: str) -> FlaskClient:
    """A test client with the bearer token and a studio session (as a browser has)."""
    client = app.test_client()
    value = secrets.token_urlsafe(12)
    client.set_cookie(LOGIN_COOKIE, value)
    response = client.post("/login", data={"token": token, "csrf_token": value})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def as_guest(client: FlaskClient, ids: dict) -> FlaskClient:
    """``client`` also carries the cookie of the guest who joined the seeded link."""
    client.set_cookie(GUEST_COOKIE, ids["guest"], path=f"/g/{ids['guest_code']}")
    return client


def time_case(client: FlaskClient, case: Case, samples: int, engine: Engine) -> Timing:
    """p50/p95 in ms of ``samples`` requests after one warm-up (status of the warm-up),
    fewer (at least MIN_SAMPLES) for a route slow enough to pass BUDGET_S, and where one
    more request's time goes."""
    status = client.get(case.path).status_code
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < samples and (len(times) < MIN_SAMPLES
                                    or time.perf_counter() - started < BUDGET_S):
        t0 = time.perf_counter()
        response = client.get(case.path)
        response.get_data()
        times.append((time.perf_counter() - t0) * 1000)
        response.close()
    return Timing(case, status, percentile(times, 0.5), percentile(times, 0.95), len(times),
                  tuple(explain(engine, client, case.label, case.path)))


def time_routes(app: Flask, engine: Engine, ids: dict, samples: int,
                only: tuple[str, ...] = ()) -> list[Timing]:
    """Every route's cases, or those whose label contains one of ``only`` (``=label``:
    that label exactly)."""
    client = as_guest(signed_in(app, ids["token"]), ids)
    return [time_case(client, case, samples, engine)
            for _, route_cases in cases(app, ids) for case in route_cases
            if not only or any(case.label == part[1:] if part.startswith("=") else
                               part in case.label for part in only)]
