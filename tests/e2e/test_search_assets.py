"""GET /api/search?kind=asset over HTTP on SQLite and PostgreSQL: assets are found by
their own name and brief (with no versions yet), by tag, through their versions, never
in another project, and not ``as_of`` before they existed."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from tests.e2e.conftest import assert_problem, png_bytes


def tick() -> str:
    time.sleep(0.002)
    moment = datetime.now(UTC).isoformat()
    time.sleep(0.002)
    return moment


def create_asset(caller, project: str, **fields) -> tuple[str, int]:
    """(asset id, position of its creation)."""
    response = caller.post(f"/api/projects/{project}/assets", json=fields)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return body["asset_id"], body["position"]


def found(caller, query: str, position: int) -> list[str]:
    response = caller.get(f"/api/search?kind=asset&min_position={position}&{query}")
    assert response.status_code == 200, response.get_json()
    return [r["asset_id"] for r in response.get_json()["items"]]


def test_an_asset_without_versions_is_found_by_its_brief_and_tag(api):
    project = api.project()
    creator = api.as_user("creator", project)
    before = tick()
    asset, position = create_asset(
        creator, project, name="Summer hero", brief="A lighthouse at dusk, warm tones",
        tags=["campaign/summer-26/social"])
    after = tick()

    answer = creator.get(f"/api/search?kind=asset&q=lighthouse&min_position={position}")
    (result,) = answer.get_json()["items"]
    assert result["asset_id"] == asset and result["name"] == "Summer hero"
    assert result["brief"] == "A lighthouse at dusk, warm tones"
    assert result["tags"] == ["campaign/summer-26/social"]
    assert result["version_count"] == 0 and result["score"] > 0
    assert found(creator, "tag=campaign/summer-26", position) == [asset]
    assert found(creator, "tag=campaign/winter", position) == []
    assert found(creator, f"q=lighthouse&as_of={before}", position) == []
    assert found(creator, f"q=lighthouse&as_of={after}", position) == [asset]
    # The default stays a version search: the asset has none.
    versions = creator.get(f"/api/search?q=lighthouse&min_position={position}")
    assert versions.get_json()["total"] == 0


def test_members_of_another_project_never_see_the_asset(api):
    project, elsewhere = api.project("mine"), api.project("theirs")
    creator = api.as_user("creator", project)
    stranger = api.as_user("admin", elsewhere)
    mine, _ = create_asset(creator, project, name="Lighthouse poster")
    theirs, position = create_asset(stranger, elsewhere, name="Lighthouse teaser")

    assert found(stranger, "q=lighthouse", position) == [theirs]
    assert found(creator, "q=lighthouse", position) == [mine]
    assert set(found(api.admin, "q=lighthouse", position)) == {theirs, mine}
    assert_problem(stranger.get(f"/api/search?kind=asset&project={project}"), 404)


def test_version_words_and_filters_reach_the_asset_through_its_versions(api):
    project = api.project()
    reviewer = api.as_user("reviewer", project)
    named, _ = create_asset(reviewer, project, name="Fox banner")
    drawn, _ = create_asset(reviewer, project, name="Winter banner")
    version = api.upload(drawn, png_bytes(), note="a fox in the snow")
    decided = reviewer.post(f"/api/versions/{version['version_id']}/decisions",
                            json={"decision": "approved"})
    assert decided.status_code == 201, decided.get_json()
    position = decided.get_json()["position"]

    # Its own name ranks an asset above one whose version mentions the word.
    assert found(reviewer, "q=fox", position) == [named, drawn]
    assert found(reviewer, "approved=true", position) == [drawn]
    assert found(reviewer, "approved=false", position) == []
    assert found(reviewer, "operation=upload&q=banner", position) == [drawn]
    assert found(reviewer, "operation=inpaint", position) == []
    results = reviewer.get(f"/api/search?kind=asset&facets=true&min_position={position}")
    assert results.get_json()["total"] == 2
    assert results.get_json()["items"][0]["version_count"] == 1


def test_collapse_by_seed_is_refused_for_assets(api):
    caller = api.as_user("viewer")
    assert_problem(caller.get("/api/search?kind=asset&collapse=seed"), 422, "kind=asset")
    assert_problem(caller.get("/api/search?kind=project"), 422, "kind")
