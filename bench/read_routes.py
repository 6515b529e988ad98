"""Every GET route of the API, timed over HTTP (Flask's test client, in process) against
a loaded history: the routes are taken from the app's route table, so a new GET route is
timed without touching this file; a route whose path names something this history
lacks says so instead of a figure. The synthetic history stores no image bytes, so the
image and export routes answer 404 (after authorising and finding the version).

bench/read.py calls :func:`time_routes` after loading; figures are printed, never
asserted.
"""

from __future__ import annotations

import re
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from app import create_app
from app.config import Settings
from commands.people import Principal, create_user
from commands.templates import create_template
from events.domain import stream_id
from events.jobs import JobRequested
from events.projects import MemberRoleSet
from events.store import ANY, EventStore, Metadata, StreamAppend
from projections.registry import make_runner

SKIPPED = {
    "/api/events/stream": "a Server-Sent Events stream: it answers for minutes, not once",
}
"""GET routes not timed, and why."""
QUERIES = {
    "/api/search": (("free text, one project", "?q={word}+{word2}&project={project_id}"
                     "&limit=20"),
                    ("free text, all my projects", "?q={word}+{word2}&limit=20")),
    "/api/audit": (("one asset", "?asset={asset_id}&limit=100"),),
    "/api/audit/export": (("one asset", "?asset={asset_id}"),),
    "/api/assets/<asset_id>": (("", ""), ("as_of", "?as_of={moment}")),
    "/api/assets/<asset_id>/review": (("", ""), ("as_of", "?as_of={moment}")),
}
"""(label, query string) a route is timed with, each its own row; others: none."""
PLACEHOLDER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(
        values) > 1 else (values[0] if values else 0.0)


def get_routes(app: Any) -> list[str]:  # noqa: ANN401 - a Flask app
    """The API's GET routes, from the route table."""
    return sorted({rule.rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and rule.rule.startswith("/api/")})


def add_callers(store: EventStore, ids: dict[str, Any]) -> dict[str, str]:
    """A member (admin of the loaded project, member of a few more) with a token, a job
    and a template in the project: the values route paths name."""
    member, token = create_user(store, "Bench Reader")
    projects = ids["projects"][:5]
    store.append_streams([StreamAppend(stream_id("project", project), "project", ANY,
                                       [MemberRoleSet(user_id=member.user_id, role="admin")])
                          for project in projects], Metadata(actor_id=member.user_id))
    job_id = str(uuid.uuid4())
    store.append(stream_id("job", job_id), ANY, [JobRequested(
        job_id=job_id, kind="generate", project_id=ids["project"], asset_id=ids["big_asset"],
        requested_by=member.user_id, recipe={"operation": "generate", "steps": 4},
        tier="draft")], Metadata(actor_id=member.user_id), stream_type="job")
    principal = Principal(user_id=member.user_id, name="Bench Reader", is_admin=False,
                          token_id="bench")
    template, _, _ = create_template(store, principal, Metadata(actor_id=member.user_id),
                                     ids["project"], name="bench", prompt="a red fox")
    return {"token": token.token, "user_id": member.user_id, "job_id": job_id,
            "template_id": template["template_id"], "project_id": ids["project"],
            "asset_id": ids["big_asset"], "version_id": ids["deep"]}


def time_routes(url: str, data_dir: Path, store: EventStore, ids: dict[str, Any],
                samples: int, moment: Callable[[], str], words: Callable[[], str]) -> None:
    """Print p50/p95 (ms) and the status of every GET route of the API."""
    values = add_callers(store, ids)
    app = create_app(Settings.from_env(database_url=url, data_dir=data_dir))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {values['token']}"}
    # Caught up beforehand, so every row times the route, not a catch-up.
    client.get(f"/api/projects/{values['project_id']}/assets?limit=1", headers=headers)
    make_runner(store.engine).catch_up()
    print(f"  {'GET route':<58} {'p50':>8} {'p95':>8}  status")
    for route in get_routes(app):
        if route in SKIPPED:
            print(f"  {route:<58} {'-':>8} {'-':>8}  not timed: {SKIPPED[route]}")
            continue
        for label, query in QUERIES.get(route, (("", ""),)):
            path = PLACEHOLDER.sub(lambda m: values.get(m.group(1), f"?{m.group(1)}"), route)
            if "/?" in path:
                print(f"  {route:<58} {'-':>8} {'-':>8}  not timed: no value for it")
                continue

            def target(path: str = path, query: str = query) -> str:
                return path + query.format(moment=quote(moment()), word=words(),
                                           word2=words(), **values)

            statuses = set()
            client.get(target(), headers=headers)  # warm caches
            times = []
            for _ in range(samples):
                address = target()
                t0 = time.perf_counter()
                response = client.get(address, headers=headers)
                response.get_data()
                times.append((time.perf_counter() - t0) * 1000)
                statuses.add(response.status_code)
            row = f"{route} ({label})" if label else route
            print(f"  {row:<58} {pct(times, 50):8.2f} {pct(times, 95):8.2f}  "
                  f"{','.join(map(str, sorted(statuses)))}")
