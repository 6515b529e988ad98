"""Comments, decisions (with the role held and the exact content hash), revocations and
pins over HTTP."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import assert_problem, png_bytes


@pytest.fixture
def scene(api):
    """A project with a social channel, an uploaded 64x64 version and one user per role."""
    project = api.project()
    api.admin.put(f"/api/projects/{project}/channels/social",
                  json={"min_width": 64, "min_height": 64})
    api.admin.put(f"/api/projects/{project}/channels/print",
                  json={"min_width": 4096, "min_height": 4096})
    asset = api.asset(project)
    version = api.upload(asset, png_bytes(64, 64))
    roles = {role: api.as_user(role, project) for role in ("viewer", "creator", "reviewer")}
    return project, asset, version, roles


def test_comment_reply_and_resolve(api, scene):
    _, _, version, roles = scene
    creator = roles["creator"]
    vid = version["version_id"]

    first = creator.post(f"/api/versions/{vid}/comments",
                         json={"body": "sky too dark", "region": {"x": 0.1, "y": 0, "w": 0.5,
                                                                  "h": 0.25}})
    assert first.status_code == 201
    comment = first.get_json()
    assert comment["author_id"] == creator.user_id and comment["resolved"] is False
    reply = creator.post(f"/api/versions/{vid}/comments",
                         json={"body": "agreed", "parent_comment_id": comment["comment_id"]})
    assert reply.get_json()["parent_comment_id"] == comment["comment_id"]

    resolved = creator.post(f"/api/comments/{comment['comment_id']}/resolve")
    assert resolved.status_code == 200 and resolved.get_json()["resolved"] is True
    again = creator.post(f"/api/comments/{comment['comment_id']}/resolve")
    assert again.status_code == 200 and again.get_json()["resolved"] is True
    detail = creator.get(f"/api/versions/{vid}").get_json()
    assert [c["body"] for c in detail["comments"]] == ["sky too dark", "agreed"]


def test_comment_refusals_append_nothing(api, scene):
    _, _, version, roles = scene
    vid = version["version_id"]
    other_version = api.upload(api.asset(api.project("other")), png_bytes())["version_id"]
    head = api.head()

    url = f"/api/versions/{vid}/comments"
    assert_problem(roles["viewer"].post(url, json={"body": "x"}), 403, "needs the creator role")
    assert_problem(roles["creator"].post(url, json={"body": ""}), 422, "body")
    assert_problem(roles["creator"].post(url, json={"body": "x", "region": {"x": 2, "y": 0,
                                                                            "w": 1, "h": 1}}),
                   422, "region")
    assert_problem(roles["creator"].post(url, json={"body": "x", "author_id": "someone"}), 422,
                   "author_id")
    assert_problem(roles["creator"].post(url, json={
        "body": "x", "parent_comment_id": "7d6b4a53-1b77-4c7e-9f57-8f7d7d7e7e7e"}), 404,
        "comment 7d6b4a53-1b77-4c7e-9f57-8f7d7d7e7e7e does not exist")
    assert_problem(roles["creator"].post(f"/api/versions/{other_version}/comments",
                                         json={"body": "x"}), 404, "does not exist")
    assert_problem(roles["creator"].post(
        "/api/comments/7d6b4a53-1b77-4c7e-9f57-8f7d7d7e7e7e/resolve"), 404, "does not exist")
    assert api.head() == head


def test_reviewers_approve_the_exact_pixels_with_their_role_recorded(api, scene):
    _, asset, version, roles = scene
    reviewer = roles["reviewer"]

    response = reviewer.post(f"/api/versions/{version['version_id']}/decisions",
                             json={"decision": "approved", "channel": "social",
                                   "note": "ship it"})

    assert response.status_code == 201
    decision = response.get_json()
    assert decision["content_hash"] == version["content_hash"]
    assert (decision["reviewer_id"], decision["role"]) == (reviewer.user_id, "reviewer")
    assert decision["channel"] == "social" and decision["revoked"] is False
    asset_body = reviewer.get(f"/api/assets/{asset}").get_json()
    assert [d["decision_id"] for d in asset_body["decisions"]] == [decision["decision_id"]]

    revoked = reviewer.post(f"/api/decisions/{decision['decision_id']}/revoke",
                            json={"reason": "wrong crop"})
    assert revoked.status_code == 200
    assert revoked.get_json()["revoked"] is True
    assert revoked.get_json()["revoked_by"] == reviewer.user_id
    head = api.head()
    assert_problem(reviewer.post(f"/api/decisions/{decision['decision_id']}/revoke",
                                 json={"reason": "again"}), 409, "already revoked")
    assert api.head() == head


def test_decision_refusals_append_nothing(api, scene):
    _, _, version, roles = scene
    url = f"/api/versions/{version['version_id']}/decisions"
    head = api.head()

    problem = assert_problem(roles["creator"].post(url, json={"decision": "approved"}), 403,
                             "needs the reviewer role")
    assert problem["required_role"] == "reviewer"
    reviewer = roles["reviewer"]
    assert_problem(reviewer.post(url, json={"decision": "approved", "channel": "print"}), 422,
                   "is 64x64; channel 'print' needs at least 4096x4096")
    assert_problem(reviewer.post(url, json={"decision": "approved", "channel": "tv"}), 422,
                   "unknown channel 'tv'")
    assert_problem(reviewer.post(url, json={"decision": "love it"}), 422, "decision")
    assert_problem(reviewer.post(url, json={"decision": "approved", "role": "admin"}), 422,
                   "role")
    assert_problem(reviewer.post("/api/decisions/7d6b4a53-1b77-4c7e-9f57-8f7d7d7e7e7e/revoke",
                                 json={"reason": "x"}), 404, "does not exist")
    assert api.head() == head
    rejected = reviewer.post(url, json={"decision": "rejected", "channel": "print"})
    assert rejected.status_code == 201
    head = api.head()
    assert_problem(roles["creator"].post(
        f"/api/decisions/{rejected.get_json()['decision_id']}/revoke", json={"reason": "x"}),
        403, "reviewer")
    assert_problem(reviewer.post(
        f"/api/decisions/{rejected.get_json()['decision_id']}/revoke", json={"reason": ""}),
        422, "reason")
    assert api.head() == head


def test_pins_are_added_listed_and_removed(api, scene):
    _, asset, version, roles = scene
    creator = roles["creator"]

    pinned = creator.post(f"/api/versions/{version['version_id']}/pins",
                          json={"label": "agreed in Tuesday's review"})
    assert pinned.status_code == 201
    pin = pinned.get_json()
    assert pin.pop("position") == int(pinned.headers["Lineage-Position"])
    assert pin["pinned_by"] == creator.user_id
    assert creator.get(f"/api/assets/{asset}").get_json()["pins"] == [pin]

    head = api.head()
    assert_problem(roles["viewer"].delete(f"/api/pins/{pin['pin_id']}"), 403, "creator")
    assert_problem(creator.post(f"/api/versions/{version['version_id']}/pins",
                                json={"label": ""}), 422, "label")
    assert api.head() == head
    assert creator.delete(f"/api/pins/{pin['pin_id']}").status_code == 204
    assert creator.get(f"/api/assets/{asset}").get_json()["pins"] == []
    assert_problem(creator.delete(f"/api/pins/{pin['pin_id']}"), 404, "it was removed")


def test_stale_if_match_on_review_writes_is_409(api, scene):
    _, asset, version, roles = scene
    etag = roles["creator"].get(f"/api/assets/{asset}").headers["ETag"]
    roles["creator"].post(f"/api/versions/{version['version_id']}/pins", json={"label": "a"})
    head = api.head()

    assert_problem(roles["reviewer"].post(f"/api/versions/{version['version_id']}/decisions",
                                          json={"decision": "approved"},
                                          headers={"If-Match": etag}), 409, "is at version")
    assert_problem(roles["creator"].post(f"/api/versions/{version['version_id']}/comments",
                                         json={"body": "x"}, headers={"If-Match": etag}),
                   409, "is at version")
    assert api.head() == head


def test_idempotent_comment_returns_the_first_comment(api, scene):
    _, _, version, roles = scene
    headers = {"Idempotency-Key": "c-1"}
    url = f"/api/versions/{version['version_id']}/comments"

    first = roles["creator"].post(url, json={"body": "one"}, headers=headers)
    head = api.head()
    again = roles["creator"].post(url, json={"body": "one"}, headers=headers)

    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert api.head() == head
