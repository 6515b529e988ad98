"""The tiered workflow over HTTP with a hosted final model: a draft made locally, promoted
to a final made by the hosted model (a local server speaking the OpenAI-compatible images
API), the final's recipe and the job's report showing what the provider answered, and a
rebuild of the final saying the hosted step is not re-renderable. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.chain_support import Story
from tests.hosted_stub import USAGE, StubImagesServer

KEY = "sk-proj-e2e-NeverShown-42"


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubImagesServer]:
    with StubImagesServer() as server:
        monkeypatch.setenv("LINEAGE_HOSTED_BASE_URL", server.base_url)
        monkeypatch.setenv("LINEAGE_HOSTED_API_KEY", KEY)
        monkeypatch.setenv("LINEAGE_MODEL_FINAL", "hosted:openai:gpt-image-1")
        yield server


def test_a_local_draft_promoted_to_a_hosted_final_records_the_providers_answer(
        api, chain_models, stub: StubImagesServer) -> None:
    project_id = api.project()
    creator = api.as_user("creator", project_id, name="Carla")
    asset_id = api.asset(project_id)
    story = Story(api, creator, project_id, asset_id, [])
    draft = story.run(creator.post(f"/api/assets/{asset_id}/generations", json={
        "prompt": "a lighthouse at dusk", "seed": 3, "steps": 2, "width": 64,
        "height": 64}))["version_ids"][0]
    assert stub.seen == []  # the draft tier stays local

    status = story.run(creator.post(f"/api/versions/{draft}/promote", json={}))

    [final_id] = status["version_ids"]
    final = creator.get(f"/api/versions/{final_id}").get_json()
    assert final["tier"] == "final"
    assert final["recipe"]["model_id"] == "hosted:openai:gpt-image-1"
    assert final["recipe"]["hosted"]["response_ids"]["x-request-id"] == "req_stub_1"
    assert stub.seen[0].json["prompt"] == "a lighthouse at dusk"
    assert status["report"]["steps"][0]["hosted"]["usage"] == USAGE

    rebuilt = story.run(creator.post(f"/api/versions/{final_id}/rebuild", json={}))

    step = rebuilt["report"]["steps"][-1]
    assert step["note"] == "hosted: not re-renderable; bytes verified by hash"
    assert len(stub.seen) == 1
    for path in (f"/api/versions/{final_id}", f"/api/jobs/{status['job_id']}",
                 f"/api/versions/{final_id}/provenance"):
        assert KEY not in creator.get(path).get_data(as_text=True)
