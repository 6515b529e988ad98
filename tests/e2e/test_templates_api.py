"""Templates and generations from them over HTTP."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import assert_problem


@pytest.fixture
def scene(api):
    project = api.project()
    creator = api.as_user("creator", project)
    response = creator.post(f"/api/projects/{project}/templates", json={
        "name": "Product shot", "prompt": "a {product} on a {surface}, studio light",
        "negative_prompt": "text", "parameters": {"width": 512, "height": 512, "steps": 8}})
    assert response.status_code == 201, response.get_json()
    return project, api.asset(project), creator, response.get_json()


def test_template_is_created_read_and_revised_as_new_versions(api, scene):
    _, _, creator, template = scene
    assert template["variables"] == ["product", "surface"] and template["version"] == 1

    url = f"/api/templates/{template['template_id']}"
    created = {k: v for k, v in template.items() if k != "position"}
    assert creator.get(url).get_json() == created
    revised = creator.patch(url, json={"prompt": "a {product} on marble"},
                            headers={"If-Match": '"1"'})
    assert revised.status_code == 200
    assert revised.get_json()["version"] == 2
    assert revised.get_json()["variables"] == ["product"]
    head = api.head()
    assert_problem(creator.patch(url, json={"prompt": "x"}, headers={"If-Match": '"1"'}), 409,
                   "is at version")
    assert_problem(creator.patch(url, json={}), 422, "at least one")
    assert api.head() == head


def test_generation_from_a_template_records_its_id_and_version(api, scene):
    _, asset, creator, template = scene

    response = creator.post(f"/api/templates/{template['template_id']}/generations", json={
        "asset_id": asset, "variables": {"product": "teapot", "surface": "oak table"},
        "seed": 5, "variations": 2, "width": 768})

    assert response.status_code == 202
    recipe = response.get_json()["jobs"][1]["recipe"]
    assert recipe == {"operation": "generate", "tier": "draft",
                      "prompt": "a teapot on a oak table, studio light",
                      "negative_prompt": "text", "seed": 6, "width": 768, "height": 512,
                      "steps": 8, "template_id": template["template_id"],
                      "template_version": 1}


def test_template_refusals_append_nothing(api, scene):
    project, asset, creator, template = scene
    foreign_asset = api.asset(api.project("other"))
    viewer = api.as_user("viewer", project)
    url = f"/api/templates/{template['template_id']}/generations"
    head = api.head()

    assert_problem(creator.post(url, json={"asset_id": asset, "variables": {"product": "x"}}),
                   422, "missing variables: surface")
    assert_problem(creator.post(url, json={"asset_id": asset, "variables": {
        "product": "x", "surface": "y", "mood": "z"}}), 422, "unknown variables: mood")
    assert_problem(creator.post(url, json={"asset_id": foreign_asset, "variables": {
        "product": "x", "surface": "y"}}), 404, f"asset {foreign_asset} does not exist")
    assert_problem(creator.post(url, json={"asset_id": "nope"}), 422, "asset_id")
    assert_problem(creator.post(url, json={"asset_id": asset, "variables": {
        "product": "x" * 1999, "surface": "y"}}), 422, "filled-in prompt")
    assert_problem(viewer.post(url, json={"asset_id": asset}), 403, "creator")
    assert_problem(creator.post(f"/api/projects/{project}/templates", json={
        "name": "t", "prompt": "a {bad name}"}), 422, "stray")
    assert_problem(creator.post(f"/api/projects/{project}/templates", json={
        "name": "t", "prompt": "ok", "parameters": {"width": 100}}), 422, "multiple of 8")
    assert_problem(creator.post(f"/api/projects/{project}/templates", json={
        "name": "t", "prompt": ""}), 422, "must not be empty")
    assert_problem(viewer.post(f"/api/projects/{project}/templates", json={
        "name": "t", "prompt": "x"}), 403, "creator")
    assert_problem(api.user("stranger").get(f"/api/templates/{template['template_id']}"),
                   404, "does not exist")
    assert api.head() == head + 2  # only the stranger's registration


def test_a_template_generation_without_a_size_anywhere_is_refused(api):
    project = api.project()
    asset = api.asset(project)
    template = api.admin.post(f"/api/projects/{project}/templates",
                              json={"name": "t", "prompt": "a fox"}).get_json()
    head = api.head()

    assert_problem(api.admin.post(f"/api/templates/{template['template_id']}/generations",
                                  json={"asset_id": asset}), 422, "width and height are needed")
    assert api.head() == head


def test_project_templates_are_listed_by_name_with_their_revisions(api, scene):
    project, _, creator, template = scene
    viewer = api.as_user("viewer", project)
    second = creator.post(f"/api/projects/{project}/templates", json={
        "name": "Banner", "prompt": "a {season} banner"}).get_json()
    url = f"/api/templates/{template['template_id']}"
    revised = creator.patch(url, json={"prompt": "a {product} on marble"})
    position = revised.get_json()["position"]

    listed = viewer.get(f"/api/projects/{project}/templates?min_position={position}")
    assert listed.status_code == 200
    items = listed.get_json()["items"]
    assert [item["name"] for item in items] == ["Banner", "Product shot"]
    assert items[1]["version"] == 2 and items[1]["variables"] == ["product"]
    assert items[0]["template_id"] == second["template_id"]

    first_page = viewer.get(f"/api/projects/{project}/templates?limit=1").get_json()
    assert [item["name"] for item in first_page["items"]] == ["Banner"]
    rest = viewer.get(f"/api/projects/{project}/templates", query_string={
        "limit": 1, "cursor": first_page["next_cursor"]}).get_json()
    assert [item["name"] for item in rest["items"]] == ["Product shot"]
    assert rest["next_cursor"] is None

    revisions = viewer.get(f"{url}/revisions").get_json()["items"]
    assert [r["version"] for r in revisions] == [2, 1]
    assert revisions[1]["prompt"] == "a {product} on a {surface}, studio light"
    assert revisions[0]["author_id"] == creator.user_id


def test_template_lists_refuse_strangers_and_bad_queries(api, scene):
    project, _, _, template = scene
    stranger = api.user("stranger")
    assert_problem(stranger.get(f"/api/projects/{project}/templates"), 404, "does not exist")
    assert_problem(stranger.get(f"/api/templates/{template['template_id']}/revisions"), 404,
                   "does not exist")
    member = api.as_user("viewer", project)
    assert_problem(member.get(f"/api/projects/{project}/templates?limit=0"), 422, "limit")
    assert_problem(member.get(f"/api/projects/{project}/templates?cursor=forged"), 422,
                   "cursor")
    assert_problem(member.get(f"/api/projects/{project}/templates?colour=red"), 422, "colour")
