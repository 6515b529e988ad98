"""Idempotency-Key over HTTP: a repeat of the same request answers the first answer and
appends nothing; the same key with a different request (body, path, file) is 409
problem+json naming the request that first used the key, on every write route."""

from __future__ import annotations

import io
import json

import pytest

from tests.e2e.conftest import assert_problem, png_bytes


@pytest.fixture
def scene(api):
    """A project with a social channel, an uploaded version, a creator and a reviewer."""
    project = api.project()
    api.admin.put(f"/api/projects/{project}/channels/social",
                  json={"min_width": 64, "min_height": 64})
    asset = api.asset(project)
    version = api.upload(asset, png_bytes(64, 64))["version_id"]
    return {"project": project, "asset": asset, "version": version,
            "creator": api.as_user("creator", project),
            "reviewer": api.as_user("reviewer", project)}


def _refused_as_reused(response, first_route: str) -> None:  # noqa: ANN001
    problem = assert_problem(response, 409, "already used for a different request")
    assert problem["first_request"] == first_route
    assert first_route in problem["detail"]


def test_a_rejection_with_the_approvals_key_is_409_not_the_approval(api, scene):
    reviewer, version = scene["reviewer"], scene["version"]
    url = f"/api/versions/{version}/decisions"
    key = {"Idempotency-Key": "decide-1"}

    approved = reviewer.post(url, json={"decision": "approved", "channel": "social"},
                             headers=key)
    head = api.head()
    rejected = reviewer.post(url, json={"decision": "rejected", "channel": "social"},
                             headers=key)

    assert approved.status_code == 201
    _refused_as_reused(rejected, f"POST {url}")
    assert api.head() == head
    review = reviewer.get(f"/api/assets/{scene['asset']}/review?min_position={head}")
    [entry] = review.get_json()["versions"]
    assert [d["decision"] for d in entry["decisions"]] == ["approved"]


def test_the_same_request_repeated_answers_the_first_answer_whatever_its_key_order(api, scene):
    creator, version = scene["creator"], scene["version"]
    url = f"/api/versions/{version}/comments"
    key = {"Idempotency-Key": "comment-1", "Content-Type": "application/json"}

    first = creator.post(url, data='{"body": "sky", "region": {"x": 0, "y": 0, "w": 1, '
                                   '"h": 1}}', headers=key)
    head = api.head()
    again = creator.post(url, data=json.dumps({"region": {"h": 1, "w": 1, "y": 0, "x": 0},
                                                "body": "sky"}, indent=2), headers=key)

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert api.head() == head


def _write_routes(scene) -> list[tuple[str, str, dict, dict]]:  # noqa: ANN001
    """(method, url, first request's kwargs, a different request's kwargs) per write."""
    project, asset, version = scene["project"], scene["asset"], scene["version"]
    generation = {"prompt": "a fox", "width": 64, "height": 64, "steps": 2}
    return [
        ("POST", f"/api/projects/{project}/assets", {"json": {"name": "Poster"}},
         {"json": {"name": "Banner"}}),
        ("POST", f"/api/versions/{version}/comments", {"json": {"body": "one"}},
         {"json": {"body": "two"}}),
        ("POST", f"/api/assets/{asset}/generations", {"json": {**generation, "seed": 1}},
         {"json": {**generation, "seed": 2}}),
        ("POST", f"/api/versions/{version}/edits",
         {"json": {"operation": "adjust", "adjustments": {"brightness": 1.2}}},
         {"json": {"operation": "adjust", "adjustments": {"brightness": 0.8}}}),
        ("POST", f"/api/assets/{asset}/tags", {"json": {"tag": "hero"}},
         {"json": {"tag": "villain"}}),
        ("POST", f"/api/versions/{version}/pins", {"json": {"label": "Tuesday"}},
         {"json": {"label": "Friday"}}),
        ("PATCH", f"/api/projects/{project}/policies", {"json": {"final_render_cap": 2}},
         {"json": {"final_render_cap": 3}}),
        ("POST", f"/api/assets/{asset}/uploads",
         {"data": {"image": (io.BytesIO(png_bytes(color=(1, 2, 3))), "a.png")},
          "content_type": "multipart/form-data"},
         {"data": {"image": (io.BytesIO(png_bytes(color=(9, 8, 7))), "a.png")},
          "content_type": "multipart/form-data"}),
    ]


def test_every_write_route_refuses_its_key_with_a_different_request(api, scene):
    creator = api.admin
    for index, (method, url, first, different) in enumerate(_write_routes(scene)):
        key = {"Idempotency-Key": f"route-{index}"}
        answer = creator.request(method, url, headers=key, **first)
        assert answer.status_code < 300, (url, answer.get_json())
        head = api.head()

        _refused_as_reused(creator.request(method, url, headers=key, **different),
                           f"{method} {url}")
        assert api.head() == head, url


def test_a_key_reused_on_another_path_names_the_first_route(api, scene):
    reviewer, version = scene["reviewer"], scene["version"]
    other = api.upload(scene["asset"], png_bytes(color=(0, 90, 0)))["version_id"]
    key = {"Idempotency-Key": "decide-2"}
    body = {"decision": "approved", "channel": "social"}

    reviewer.post(f"/api/versions/{version}/decisions", json=body, headers=key)
    head = api.head()

    _refused_as_reused(reviewer.post(f"/api/versions/{other}/decisions", json=body,
                                     headers=key),
                       f"POST /api/versions/{version}/decisions")
    assert api.head() == head
