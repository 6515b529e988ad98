"""The studio the load driver plays in: people, their roles per project, and the assets.

Each project gets an equal share of the users: the first is its lead (the project's
admin, who creates it), then about half creators, three in ten reviewers, the rest
viewers. Everyone is also a viewer of the next project, so search has to filter by
membership. Everything is created through the HTTP API (phase ``setup``).
"""

from __future__ import annotations

import dataclasses
import random
import threading
from typing import TYPE_CHECKING, Any

from bench.studio_http import Client, Recorder

if TYPE_CHECKING:
    from bench.studio_day import Plan

RANK = {"viewer": 0, "creator": 1, "reviewer": 2, "admin": 3}
ROLES_BY_KIND = {"drafts": "creator", "edits": "creator", "comments": "creator",
                 "decisions": "reviewer", "searches": "viewer", "tree_reads": "viewer",
                 "other_reads": "viewer"}
TAGS = ("campaign/summer-26/social", "campaign/summer-26/print", "hero", "product",
        "banner", "key-visual")


@dataclasses.dataclass
class Member:
    name: str
    user_id: str
    token: str
    roles: dict[str, str] = dataclasses.field(default_factory=dict)
    """project id → role"""

    def projects_for(self, minimum: str) -> list[str]:
        """Projects where this person's role is at least ``minimum``."""
        return [p for p, role in self.roles.items() if RANK[role] >= RANK[minimum]]


@dataclasses.dataclass
class Studio:
    members: list[Member]
    projects: list[str]
    assets: dict[str, list[str]]
    """project id → its asset ids"""


def role_for(index: int, team_size: int) -> str:
    """The role of the ``index``-th person of a project team."""
    if index == 0:
        return "admin"
    share = index / team_size
    if share <= 0.5:
        return "creator"
    if share <= 0.8:
        return "reviewer"
    return "viewer"


def setup_studio(host: str, port: int, admin_token: str, plan: Plan, recorder: Recorder,
                 rng: random.Random) -> Studio:
    """Create users, projects, channels, memberships and assets; raises RuntimeError."""
    admin = Client(host, port, recorder, token=admin_token, name="admin")
    members = []
    for index in range(plan.users):
        reply = admin.write("POST", "/api/users", "POST /api/users",
                            {"name": f"studio-user-{index:02d}"})
        _require(reply, "create a user")
        members.append(Member(f"u{index:02d}", reply.body["user_id"], reply.body["token"]))
    admin.close()
    teams = [members[p::plan.projects] for p in range(plan.projects)]
    projects: list[str | None] = [None] * plan.projects
    assets: dict[int, list[str]] = {}
    errors: list[str] = []
    per_project = [plan.assets // plan.projects + (1 if p < plan.assets % plan.projects else 0)
                   for p in range(plan.projects)]

    def build(p: int) -> None:
        try:
            projects[p], assets[p] = _build_project(
                host, port, recorder, p, teams[p], teams[(p + 1) % plan.projects],
                per_project[p], random.Random(rng.random()))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(f"project {p}: {exc}")

    threads = [threading.Thread(target=build, args=(p,)) for p in range(plan.projects)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError("studio setup failed: " + "; ".join(errors))
    ids = [p for p in projects if p]
    return Studio(members, ids, {ids[p]: assets[p] for p in range(plan.projects)})


def _build_project(host: str, port: int, recorder: Recorder, number: int, team: list[Member],
                   neighbours: list[Member], asset_count: int, rng: random.Random,
                   ) -> tuple[str, list[str]]:
    lead = team[0]
    client = Client(host, port, recorder, token=lead.token, user_id=lead.user_id,
                    name=lead.name)
    reply = client.write("POST", "/api/projects", "POST /api/projects",
                         {"name": f"Campaign {number + 1}", "description": "studio day"})
    _require(reply, "create a project")
    project = reply.body["project_id"]
    lead.roles[project] = "admin"
    _require(client.write("PUT", f"/api/projects/{project}/channels/social",
                          "PUT /api/projects/{id}/channels/{name}",
                          {"min_width": 64, "min_height": 64}), "add a channel")
    wanted = {m.user_id: (m, role_for(i, len(team))) for i, m in enumerate(team) if i}
    for member in neighbours:
        if member.user_id != lead.user_id:
            wanted.setdefault(member.user_id, (member, "viewer"))
    for user_id, (member, role) in wanted.items():
        _require(client.write("PUT", f"/api/projects/{project}/members/{user_id}",
                              "PUT /api/projects/{id}/members/{user_id}", {"role": role}),
                 "set a member")
        member.roles[project] = role
    asset_ids = []
    for index in range(asset_count):
        body: dict[str, Any] = {"name": f"asset {number + 1}.{index + 1}",
                                "brief": "studio day deliverable",
                                "tags": rng.sample(TAGS, 2)}
        reply = client.write("POST", f"/api/projects/{project}/assets",
                             "POST /api/projects/{id}/assets", body)
        _require(reply, "create an asset")
        asset_ids.append(reply.body["asset_id"])
    client.close()
    return project, asset_ids


def _require(reply: Any, what: str) -> Any:  # noqa: ANN401
    if not reply.ok:
        raise RuntimeError(f"could not {what}: HTTP {reply.status} {reply.body}")
    return reply
