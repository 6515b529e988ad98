"""A chain made over HTTP with its jobs run in-process on the built-in tiny model
(64x64, 2 steps): generate → inpaint (a region) → adjust. Shared by the rebuild,
re-bake and promotion tests through the ``story`` fixture (tests/e2e/conftest.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

from tests.e2e.conftest import Api, Caller
from workers import actors as _registers_every_job_kind  # noqa: F401
from workers.job_runner import COMPLETED, JobContext, run_job

PROMPT = "a model in a red jacket"


@dataclasses.dataclass
class Story:
    api: Api
    creator: Caller
    project_id: str
    asset_id: str
    ids: list[str]

    def run(self, response: Any) -> dict[str, Any]:  # noqa: ANN401
        """Run the job a 202 answer names, in-process; its status document."""
        assert response.status_code == 202, response.get_json()
        body = response.get_json()
        job_id = body["job_id"] if "job_id" in body else body["jobs"][0]["job_id"]
        context = JobContext(self.api.services.store, self.api.services.blobs)
        assert run_job(context, job_id, worker="e2e") == COMPLETED
        status = self.creator.get(f"/api/jobs/{job_id}")
        assert status.status_code == 200
        return status.get_json()


def make_story(api: Api) -> Story:
    """generate → inpaint (a region) → adjust, requested over HTTP by a creator, each
    job run in-process (LINEAGE_DATA_DIR must hold the built-in models)."""
    project_id = api.project()
    creator = api.as_user("creator", project_id, name="Carla")
    asset_id = api.asset(project_id)
    story = Story(api, creator, project_id, asset_id, [])
    done = story.run(creator.post(f"/api/assets/{asset_id}/generations", json={
        "prompt": PROMPT, "seed": 3, "steps": 2, "width": 64, "height": 64}))
    story.ids.append(done["version_ids"][0])
    done = story.run(creator.post(f"/api/versions/{story.ids[-1]}/edits", json={
        "operation": "inpaint", "region": {"x": 0.25, "y": 0.25, "w": 0.5, "h": 0.5},
        "seed": 7, "steps": 2}))
    story.ids.append(done["version_ids"][0])
    done = story.run(creator.post(f"/api/versions/{story.ids[-1]}/edits", json={
        "operation": "adjust", "adjustments": {"brightness": 1.1}}))
    story.ids.append(done["version_ids"][0])
    return story
