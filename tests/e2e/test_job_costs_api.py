"""Every job's compute is counted, finished or not: a job that fails part way costs what
it computed, in the job's cost, the project's compute used (and so its budget) and the
metrics. Jobs run in-process on the built-in model; SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.e2e.chain_support import Story
from tests.e2e.conftest import assert_problem
from workers.job_runner import FAILED, JobContext, run_job


def compute_used(story: Story) -> float:
    return story.creator.get(f"/api/projects/{story.project_id}").get_json()[
        "compute_used_seconds"]


def test_a_promotion_that_fails_part_way_costs_the_steps_it_ran_and_leaves_nothing(
        story: Story) -> None:
    generate, inpaint, adjust = story.ids
    used_before = compute_used(story)
    inpaint_recipe = story.creator.get(f"/api/versions/{inpaint}").get_json()["recipe"]
    response = story.creator.post(f"/api/versions/{adjust}/promote", json={})
    assert response.status_code == 202
    job_id = response.get_json()["jobs"][0]["job_id"]
    # The mask went missing: the generation runs, then the inpaint cannot start.
    story.api.services.blobs.path(inpaint_recipe["mask_hash"]).unlink()
    blobs_before = sorted(p.name for p in story.api.services.blobs.root.rglob("*") if p.is_file())

    context = JobContext(story.api.services.store, story.api.services.blobs)
    assert run_job(context, job_id, worker="e2e") == FAILED

    job = story.creator.get(f"/api/jobs/{job_id}").get_json()
    assert (job["status"], job["error"]["kind"], job["version_ids"]) == (
        "failed", "input_missing", [])
    assert "mask" in job["error"]["message"]
    assert job["cost_seconds"] > 0
    assert compute_used(story) == pytest.approx(used_before + job["cost_seconds"], abs=1e-6)
    # Nothing of the step that ran was kept: no version, no image.
    versions = story.creator.get(f"/api/assets/{story.asset_id}/versions").get_json()["items"]
    assert [v["version_id"] for v in versions] == story.ids
    assert sorted(p.name for p in story.api.services.blobs.root.rglob("*")
                  if p.is_file()) == blobs_before
    position = story.api.head()
    metrics = story.creator.get(f"/api/projects/{story.project_id}/metrics"
                                f"?min_position={position}").get_json()
    assert metrics["overall"]["compute_seconds_total"] == round(compute_used(story), 3)


def test_compute_spent_by_failed_jobs_counts_against_the_budget(story: Story) -> None:
    response = story.creator.post(f"/api/versions/{story.ids[-1]}/promote", json={})
    job_id = response.get_json()["jobs"][0]["job_id"]
    mask = story.creator.get(f"/api/versions/{story.ids[1]}").get_json()["recipe"]["mask_hash"]
    story.api.services.blobs.path(mask).unlink()
    run_job(JobContext(story.api.services.store, story.api.services.blobs), job_id)
    used = compute_used(story)
    admin = story.api.admin
    assert admin.patch(f"/api/projects/{story.project_id}/policies",
                       json={"compute_budget_seconds": used}).status_code == 200

    problem = assert_problem(story.creator.post(
        f"/api/assets/{story.asset_id}/generations",
        json={"prompt": "a kite", "width": 64, "height": 64, "steps": 2}), 409,
        "an admin must raise the budget")
    assert problem["used_seconds"] == used
