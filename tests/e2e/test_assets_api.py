"""Assets, tags, versions lists and ``?as_of=`` over HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
import urllib.parse
import uuid
from datetime import UTC, datetime

from tests.e2e.conftest import assert_problem, png_bytes


def test_creators_create_assets_and_viewers_may_not(api):
    project = api.project()
    creator = api.as_user("creator", project)
    viewer = api.as_user("viewer", project)
    stranger = api.user("stranger")

    response = creator.post(f"/api/projects/{project}/assets",
                            json={"name": "Hero", "brief": "spring", "tags": ["red", "red"]})
    assert response.status_code == 201
    asset = response.get_json()
    assert asset["tags"] == ["red"] and asset["project_id"] == project
    assert asset["versions"] == [] and asset["counts"]["draft"] == 0
    head = api.head()
    problem = assert_problem(viewer.post(f"/api/projects/{project}/assets", json={"name": "X"}),
                             403, "needs the creator role")
    assert problem["required_role"] == "creator"
    assert_problem(stranger.post(f"/api/projects/{project}/assets", json={"name": "X"}), 404,
                   "does not exist")
    assert_problem(creator.post(f"/api/projects/{project}/assets",
                                json={"name": "X", "tags": "red"}), 422, "tags")
    assert_problem(creator.post(f"/api/projects/{project}/assets",
                                json={"name": "X", "tags": ["x" * 65]}), 422, "tags")
    assert api.head() == head


def test_assets_of_another_project_are_not_found(api):
    mine, theirs = api.project("mine"), api.project("theirs")
    creator = api.as_user("creator", mine)
    foreign_asset = api.asset(theirs)
    head = api.head()

    assert_problem(creator.get(f"/api/assets/{foreign_asset}"), 404,
                   f"asset {foreign_asset} does not exist")
    assert_problem(creator.post(f"/api/assets/{foreign_asset}/tags", json={"tag": "x"}), 404,
                   "does not exist")
    assert_problem(creator.get(f"/api/assets/{uuid.uuid4()}"), 404, "does not exist")
    assert api.head() == head


def test_tags_are_added_and_removed_with_if_match(api):
    project = api.project()
    creator = api.as_user("creator", project)
    asset = api.asset(project)
    etag = creator.get(f"/api/assets/{asset}").headers["ETag"]

    added = creator.post(f"/api/assets/{asset}/tags", json={"tag": "hero"},
                         headers={"If-Match": etag})
    assert added.status_code == 200 and added.get_json()["tags"] == ["hero"]
    again = creator.post(f"/api/assets/{asset}/tags", json={"tag": "hero"})
    assert again.status_code == 200 and again.get_json()["tags"] == ["hero"]
    head = api.head()
    assert_problem(creator.post(f"/api/assets/{asset}/tags", json={"tag": "late"},
                                headers={"If-Match": etag}), 409, "is at version")
    assert_problem(creator.delete(f"/api/assets/{asset}/tags/nope"), 404, "has no tag 'nope'")
    assert api.head() == head
    removed = creator.delete(f"/api/assets/{asset}/tags/hero")
    assert removed.status_code == 200 and removed.get_json()["tags"] == []


def test_hierarchical_tags_are_removed_by_their_own_path(api):
    project = api.project()
    creator = api.as_user("creator", project)
    asset = api.asset(project)
    for tag in ("char/villain", "campaign/summer-26/hero", "plain"):
        assert creator.post(f"/api/assets/{asset}/tags", json={"tag": tag}).status_code == 200

    removed = creator.delete(f"/api/assets/{asset}/tags/char/villain")
    encoded = creator.delete(f"/api/assets/{asset}/tags/campaign%2Fsummer-26%2Fhero")

    assert removed.status_code == 200, removed.get_json()
    assert removed.get_json()["tags"] == ["campaign/summer-26/hero", "plain"]
    assert encoded.status_code == 200 and encoded.get_json()["tags"] == ["plain"]
    assert_problem(creator.delete(f"/api/assets/{asset}/tags/char/villain"), 404,
                   "has no tag 'char/villain'")


def test_as_of_shows_the_asset_exactly_as_it_was(api):
    project = api.project()
    asset = api.asset(project)
    first = api.upload(asset, png_bytes(64, 64))
    time.sleep(0.05)
    between = datetime.now(UTC)
    time.sleep(0.05)
    api.upload(asset, png_bytes(64, 64, (1, 2, 3)), parent_version_id=first["version_id"])
    api.admin.post(f"/api/assets/{asset}/tags", json={"tag": "later"})

    then = api.admin.get(f"/api/assets/{asset}?as_of={urllib.parse.quote(between.isoformat())}")
    now = api.admin.get(f"/api/assets/{asset}")

    assert then.status_code == 200
    assert [v["version_id"] for v in then.get_json()["versions"]] == [first["version_id"]]
    assert then.get_json()["tags"] == [] and then.get_json()["heads"] == [first["version_id"]]
    assert len(now.get_json()["versions"]) == 2 and now.get_json()["tags"] == ["later"]
    assert now.get_json()["versions"][1]["parent_ids"] == [first["version_id"]]
    naive = between.replace(tzinfo=None).isoformat()
    assert api.admin.get(f"/api/assets/{asset}?as_of={naive}").get_json() == then.get_json()
    assert_problem(api.admin.get(f"/api/assets/{asset}?as_of=2001-01-01T00:00:00Z"), 404,
                   "does not exist at 2001")
    assert_problem(api.admin.get(f"/api/assets/{asset}?as_of=yesterday"), 422, "as_of")


def test_versions_and_assets_are_listed_in_pages(api):
    project = api.project()
    asset = api.asset(project, "A")
    api.asset(project, "B")
    api.asset(api.project("other"), "C")
    made = [api.upload(asset, png_bytes(64, 64, (i, i, i)))["version_id"] for i in range(3)]

    first = api.admin.get(f"/api/assets/{asset}/versions?limit=2").get_json()
    rest = api.admin.get(
        f"/api/assets/{asset}/versions?limit=2&cursor={first['next_cursor']}").get_json()
    assert [v["version_id"] for v in first["items"] + rest["items"]] == made
    assert rest["next_cursor"] is None
    # Read from the version tree's table, the list says what the asset's fold says.
    assert first["items"] + rest["items"] == api.admin.get(
        f"/api/assets/{asset}").get_json()["versions"]

    page = api.admin.get(f"/api/projects/{project}/assets?limit=1").get_json()
    more = api.admin.get(
        f"/api/projects/{project}/assets?limit=1&cursor={page['next_cursor']}").get_json()
    assert [a["name"] for a in page["items"] + more["items"]] == ["A", "B"]
    assert more["next_cursor"] is None
    forged = "eyJpbmRleCI6LTF9"  # {"index":-1}
    assert_problem(api.admin.get(f"/api/assets/{asset}/versions?cursor={forged}"), 422, "cursor")


def test_lists_are_hidden_from_strangers(api):
    project = api.project()
    asset = api.asset(project)
    stranger = api.user("stranger")

    assert_problem(stranger.get(f"/api/projects/{project}/assets"), 404, "does not exist")
    assert_problem(stranger.get(f"/api/assets/{asset}/versions"), 404, "does not exist")
    assert_problem(api.admin.get(f"/api/projects/{project}/assets?limit=101"), 422, "limit")
    assert [p["project_id"] for p in api.admin.get("/api/projects").get_json()["items"]] == [
        project]
