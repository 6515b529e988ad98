"""Projects, members, policies and channels over HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid

from tests.e2e.conftest import assert_problem


def test_creating_a_project_makes_the_creator_its_admin(api):
    alice = api.user("alice")

    response = alice.post("/api/projects", json={"name": " Spring launch ",
                                                  "description": "hero images"})

    assert response.status_code == 201
    project = response.get_json()
    assert project["name"] == "Spring launch" and project["your_role"] == "admin"
    assert project["members"] == [{"user_id": alice.user_id, "role": "admin", "name": "alice"}]
    assert response.headers["Location"] == f"/api/projects/{project['project_id']}"
    assert response.headers["ETag"] == '"2"'
    fetched = alice.get(f"/api/projects/{project['project_id']}")
    assert fetched.status_code == 200 and fetched.get_json()["name"] == "Spring launch"


def test_bad_project_bodies_answer_problems_and_append_nothing(api):
    alice = api.user("alice")
    head = api.head()
    cases = [
        ({"json": ["a list"]}, "must be a JSON object"),
        ({"json": {"name": "x", "colour": "red"}}, "colour"),
        ({"json": {"name": 5}}, "Not a valid string"),
        ({"json": {"name": "   "}}, "name"),
        ({"json": {"name": "a\u0000b"}}, "NUL"),
        ({"json": {}}, "Missing data for required field"),
        ({"data": '{"name": "a\\ud800b"}', "content_type": "application/json"},
         "lone surrogate"),
        ({"json": {"name": "ok"}, "headers": {"X-Request-Id": "a\x00b"}}, "X-Request-Id"),
    ]
    for kwargs, detail in cases:
        response = alice.post("/api/projects", **kwargs)
        assert_problem(response, 422, detail)
    # Not JSON at all is a malformed request (400); JSON that is not a valid request, 422.
    for data, detail in (("{not json", "not valid JSON: Expecting property name"),
                         ("[" * 100_000, "nested too deeply"), (b"\xff\xfe", "not valid JSON")):
        assert_problem(alice.post("/api/projects", data=data, content_type="application/json"),
                       400, detail)
    assert_problem(alice.post("/api/projects", data="name=x",
                              content_type="application/x-www-form-urlencoded"),
                   415, "Content-Type: application/json")
    assert api.head() == head


def test_idempotency_key_returns_the_first_answer_and_appends_once(api):
    alice = api.user("alice")
    headers = {"Idempotency-Key": "create-spring"}

    first = alice.post("/api/projects", json={"name": "Spring"}, headers=headers)
    head = api.head()
    again = alice.post("/api/projects", json={"name": "Spring"}, headers=headers)

    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert api.head() == head
    other_user = api.user("bob").post("/api/projects", json={"name": "Spring"}, headers=headers)
    assert other_user.get_json()["project_id"] != first.get_json()["project_id"]


def test_strangers_get_404_and_weaker_members_get_403_naming_the_role(api):
    project = api.project()
    viewer = api.as_user("viewer", project)
    stranger = api.user("stranger")
    head = api.head()

    assert_problem(stranger.get(f"/api/projects/{project}"), 404, "does not exist")
    assert_problem(api.admin.get(f"/api/projects/{uuid.uuid4()}"), 404, "does not exist")
    assert_problem(api.admin.get("/api/projects/not-a-uuid"), 404, "does not exist")
    problem = assert_problem(
        viewer.patch(f"/api/projects/{project}/policies", json={"final_render_cap": 2}), 403,
        "needs the admin role")
    assert problem["required_role"] == "admin" and problem["your_role"] == "viewer"
    assert_problem(stranger.patch(f"/api/projects/{project}/policies",
                                  json={"final_render_cap": 2}), 404, "does not exist")
    assert api.head() == head


def test_missing_or_revoked_token_is_401(api, client):
    project = api.project()
    alice = api.as_user("viewer", project)
    head = api.head()

    assert_problem(client.get(f"/api/projects/{project}"), 401, "Bearer")
    assert_problem(client.get(f"/api/projects/{project}",
                              headers={"Authorization": "Bearer lin_nope"}), 401, "malformed")
    assert alice.delete(f"/api/tokens/{alice.token_id}").status_code == 204
    head = api.head()
    assert_problem(alice.get(f"/api/projects/{project}"), 401, "revoked")
    assert_problem(alice.post("/api/projects", json={"name": "x"}), 401, "revoked")
    assert api.head() == head


def test_members_roles_can_be_set_changed_and_removed(api):
    project = api.project()
    bob = api.user("bob")

    added = api.admin.put(f"/api/projects/{project}/members/{bob.user_id}",
                          json={"role": "reviewer"})
    assert added.status_code == 200
    assert {"user_id": bob.user_id, "role": "reviewer",
            "name": "bob"} in added.get_json()["members"]
    assert bob.get(f"/api/projects/{project}").get_json()["your_role"] == "reviewer"

    removed = api.admin.delete(f"/api/projects/{project}/members/{bob.user_id}")
    assert removed.status_code == 200
    assert bob.user_id not in [m["user_id"] for m in removed.get_json()["members"]]
    assert_problem(bob.get(f"/api/projects/{project}"), 404, "does not exist")


def test_member_errors(api):
    project = api.project()
    admin = api.as_user("admin", project)
    head = api.head()

    assert_problem(api.admin.put(f"/api/projects/{project}/members/{uuid.uuid4()}",
                                 json={"role": "viewer"}), 404, "user")
    assert_problem(api.admin.put(f"/api/projects/{project}/members/{admin.user_id}",
                                 json={"role": "owner"}), 422, "role")
    assert_problem(api.admin.delete(f"/api/projects/{project}/members/{uuid.uuid4()}"), 404,
                   "not a member")
    assert api.head() == head


def test_the_last_admin_cannot_leave(api):
    alice = api.user("alice")
    project = alice.post("/api/projects", json={"name": "Mine"}).get_json()["project_id"]
    head = api.head()

    assert_problem(alice.delete(f"/api/projects/{project}/members/{alice.user_id}"), 409,
                   "at least one admin")
    assert_problem(alice.put(f"/api/projects/{project}/members/{alice.user_id}",
                             json={"role": "viewer"}), 409, "at least one admin")
    assert api.head() == head


def test_policies_patch_merges_and_a_stale_if_match_is_409(api):
    project = api.project()
    current = api.admin.get(f"/api/projects/{project}")
    etag = current.headers["ETag"]

    response = api.admin.patch(f"/api/projects/{project}/policies",
                               json={"min_drafts_before_final": 3, "final_render_cap": 2},
                               headers={"If-Match": etag})
    assert response.status_code == 200
    assert response.get_json()["policies"] == {"min_drafts_before_final": 3,
                                               "final_render_cap": 2,
                                               "compute_budget_seconds": None,
                                               "draft_price_per_compute_second": None,
                                               "final_price_per_compute_second": None,
                                               "price_currency": None}
    response = api.admin.patch(f"/api/projects/{project}/policies",
                               json={"final_render_cap": None})
    assert response.get_json()["policies"]["final_render_cap"] is None
    assert response.get_json()["policies"]["min_drafts_before_final"] == 3

    head = api.head()
    problem = assert_problem(
        api.admin.patch(f"/api/projects/{project}/policies", json={"final_render_cap": 9},
                        headers={"If-Match": etag}), 409, "is at version")
    assert problem["expected_version"] == int(etag.strip('"'))
    assert_problem(api.admin.patch(f"/api/projects/{project}/policies", json={}), 422,
                   "at least one")
    assert_problem(api.admin.patch(f"/api/projects/{project}/policies",
                                   json={"final_render_cap": -1}), 422, "final_render_cap")
    assert_problem(api.admin.patch(f"/api/projects/{project}/policies",
                                   json={"final_render_cap": "2"}), 422, "Not a valid integer")
    assert_problem(api.admin.patch(f"/api/projects/{project}/policies",
                                   json={"final_render_cap": 2}, headers={"If-Match": "abc"}),
                   422, "If-Match")
    assert api.head() == head


def test_channels_are_set_and_validated(api):
    project = api.project()

    response = api.admin.put(f"/api/projects/{project}/channels/social",
                             json={"min_width": 1080, "min_height": 1080})
    assert response.status_code == 200
    assert response.get_json()["channels"] == [
        {"name": "social", "min_width": 1080, "min_height": 1080}]
    head = api.head()
    assert_problem(api.admin.put(f"/api/projects/{project}/channels/Bad Name!",
                                 json={"min_width": 1, "min_height": 1}), 422, "channel name")
    assert_problem(api.admin.put(f"/api/projects/{project}/channels/print",
                                 json={"min_width": 0, "min_height": 1}), 422, "min_width")
    assert api.head() == head


def test_project_list_shows_only_the_callers_projects_in_pages(api):
    alice = api.user("alice")
    mine = [alice.post("/api/projects", json={"name": f"P{i}"}).get_json()["project_id"]
            for i in range(3)]
    api.project("not alice's")

    first = alice.get("/api/projects?limit=2").get_json()
    second = alice.get(f"/api/projects?limit=2&cursor={first['next_cursor']}").get_json()

    assert [p["project_id"] for p in first["items"] + second["items"]] == mine
    assert first["items"][0] == {"project_id": mine[0], "name": "P0", "your_role": "admin"}
    assert second["next_cursor"] is None
    assert_problem(alice.get("/api/projects?cursor=%%%"), 422, "cursor")
    assert_problem(alice.get("/api/projects?limit=0"), 422, "limit")
    assert_problem(alice.get("/api/projects?sort=name"), 422, "sort")


def test_an_admin_may_leave_when_another_admin_remains(api):
    alice, bob = api.user("alice"), api.user("bob")
    project = alice.post("/api/projects", json={"name": "Shared"}).get_json()["project_id"]
    alice.put(f"/api/projects/{project}/members/{bob.user_id}", json={"role": "admin"})

    response = alice.delete(f"/api/projects/{project}/members/{alice.user_id}")

    assert response.status_code == 200
    assert response.get_json()["your_role"] == "none"
    assert response.get_json()["members"] == [{"user_id": bob.user_id, "role": "admin",
                                               "name": "bob"}]
    assert_problem(alice.get(f"/api/projects/{project}"), 404, "does not exist")
