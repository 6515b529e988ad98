"""People by name: "who approved this?" is answered in words wherever a person appears
(audit and its export, members, review state, versions), and members of a shared project
can look each other up; strangers cannot."""

from __future__ import annotations

import csv
import io

import pytest

from tests.e2e.conftest import assert_problem, png_bytes


@pytest.fixture
def scene(api):
    """Rita (reviewer) approved a version Carl (creator) commented on, then Ada (the
    project's admin) revoked it; Sam belongs to another project only."""
    project = api.project("Summer")
    rita = api.as_user("reviewer", project, name="Rita Reviewer")
    carl = api.as_user("creator", project, name="Carl Creator")
    ada = api.as_user("admin", project, name="Ada Admin")
    sam = api.as_user("admin", api.project("Elsewhere"), name="Sam Stranger")
    asset = api.asset(project)
    version = api.upload(asset, png_bytes(), caller=carl)["version_id"]
    assert carl.post(f"/api/versions/{version}/comments", json={"body": "warmer?"}
                     ).status_code == 201
    decision = rita.post(f"/api/versions/{version}/decisions", json={"decision": "approved"})
    revoked = ada.post(f"/api/decisions/{decision.get_json()['decision_id']}/revoke",
                       json={"reason": "wrong crop"})
    return {"project": project, "asset": asset, "version": version, "rita": rita,
            "carl": carl, "ada": ada, "sam": sam, "position": revoked.get_json()["position"]}


def test_the_audit_and_its_export_name_who_approved_with_their_role(scene):
    wait = f"min_position={scene['position']}"
    entries = scene["carl"].get(f"/api/audit?type=approved&{wait}").get_json()["items"]

    [approval] = entries
    assert (approval["actor_name"], approval["actor_role"]) == ("Rita Reviewer", "reviewer")
    assert approval["revoked_by_name"] == "Ada Admin"
    roles = scene["carl"].get(f"/api/audit?type=project.member_role_set&{wait}").get_json()
    assert "Carl Creator" in {e["subject_name"] for e in roles["items"]}
    exported = scene["carl"].get(f"/api/audit/export?format=csv&type=approved&{wait}")
    [row] = csv.DictReader(io.StringIO(exported.get_data(as_text=True)))
    assert (row["actor_name"], row["actor_role"], row["revoked_by_name"]) == (
        "Rita Reviewer", "reviewer", "Ada Admin")


def test_members_versions_and_review_state_show_names(scene):
    carl = scene["carl"]
    project = carl.get(f"/api/projects/{scene['project']}").get_json()
    assert {(m["name"], m["role"]) for m in project["members"]} >= {
        ("Rita Reviewer", "reviewer"), ("Carl Creator", "creator"), ("Ada Admin", "admin")}

    version = carl.get(f"/api/versions/{scene['version']}").get_json()
    assert version["author_name"] == "Carl Creator"
    assert version["comments"][0]["author_name"] == "Carl Creator"
    assert version["decisions"][0]["reviewer_name"] == "Rita Reviewer"
    assert version["decisions"][0]["revoked_by_name"] == "Ada Admin"
    review = carl.get(f"/api/assets/{scene['asset']}/review?min_position={scene['position']}")
    [entry] = review.get_json()["versions"]
    assert entry["decisions"][0]["reviewer_name"] == "Rita Reviewer"
    assert entry["comments"][0]["author_name"] == "Carl Creator"


def test_members_of_a_shared_project_look_each_other_up(scene):
    rita, carl, sam = scene["rita"], scene["carl"], scene["sam"]
    wait = f"min_position={scene['position']}"

    found = carl.get(f"/api/users/{rita.user_id}?{wait}")

    assert found.status_code == 200, found.get_json()
    assert found.get_json()["name"] == "Rita Reviewer"
    assert found.get_json()["projects"] == [
        {"project_id": scene["project"], "name": "Summer", "role": "reviewer"}]
    assert carl.get(f"/api/users/{carl.user_id}?{wait}").get_json()["name"] == "Carl Creator"
    assert_problem(sam.get(f"/api/users/{rita.user_id}?{wait}"), 404, "does not exist")
    assert_problem(rita.get(f"/api/users/{sam.user_id}?{wait}"), 404, "does not exist")
    assert_problem(rita.get("/api/users/not-a-user"), 404, "does not exist")
