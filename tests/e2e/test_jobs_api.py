"""Jobs over HTTP, with embedded workers: a generation requested over the API ends as
versions whose images are served; job status, progress, failures, retry and access."""

from __future__ import annotations

import hashlib

import pytest

from commands.job_progress import write_progress
from commands.jobs import load_job, record_start
from tests.e2e.conftest import assert_problem
from tests.integration.jobs_support import request_job, tiny_recipe, wait_finished
from workers.job_runner import run_job
from workers.runtime import job_context


@pytest.fixture
def studio(api):
    project = api.project()
    asset = api.asset(project)
    return project, asset, api.as_user("creator", project)


def test_a_generation_requested_over_http_ends_as_versions_with_images(api, studio, workers):
    project, asset, creator = studio
    response = creator.post(
        f"/api/assets/{asset}/generations",
        json={
            "prompt": "a lighthouse at dusk",
            "width": 64,
            "height": 64,
            "steps": 2,
            "seed": 500,
            "variations": 3,
        },
    )
    assert response.status_code == 202, response.get_json()
    job_ids = [job["job_id"] for job in response.get_json()["jobs"]]

    wait_finished(api.store, job_ids)

    seeds = set()
    for job_id in job_ids:
        job = creator.get(f"/api/jobs/{job_id}")
        assert job.status_code == 200
        body = job.get_json()
        assert (body["status"], body["attempts"], body["error"]) == ("completed", 1, None)
        assert body["cost_seconds"] > 0 and body["finished_at"] >= body["requested_at"]
        [version_id] = body["version_ids"]
        version = creator.get(f"/api/versions/{version_id}").get_json()
        image = creator.get(f"/api/versions/{version_id}/image")
        assert image.status_code == 200 and image.mimetype == "image/png"
        assert hashlib.sha256(image.data).hexdigest() == version["content_hash"]
        seeds.add(version["recipe"]["seed"])
        assert version["recipe"]["model_weights_hash"]
    assert seeds == {500, 501, 502}


def failed_job(api, project, asset, user_id) -> str:
    job_id = request_job(api.store, project, asset, user_id, tiny_recipe(operation="img2img"))
    run_job(job_context(api.services), job_id)
    assert load_job(api.store, job_id)[0].status == "failed"
    return job_id


def test_a_failed_job_shows_a_readable_reason_and_a_creator_can_retry_it(api, studio):
    project, asset, creator = studio
    job_id = failed_job(api, project, asset, creator.user_id)

    body = creator.get(f"/api/jobs/{job_id}").get_json()
    assert body["status"] == "failed"
    assert body["error"]["retryable"] is False
    assert "img2img needs an input image" in body["error"]["message"]

    retried = creator.post(f"/api/jobs/{job_id}/retry", headers={"Idempotency-Key": "r-1"})
    assert retried.status_code == 202, retried.get_json()
    assert (retried.get_json()["status"], retried.get_json()["requests"]) == ("requested", 2)
    again = creator.post(f"/api/jobs/{job_id}/retry", headers={"Idempotency-Key": "r-1"})
    assert again.status_code == 202
    assert load_job(api.store, job_id)[0].requests == 2
    assert_problem(creator.post(f"/api/jobs/{job_id}/retry"), 409, "only a failed job")


def test_only_the_jobs_project_members_see_it_and_creators_retry_it(api, studio):
    project, asset, creator = studio
    job_id = failed_job(api, project, asset, creator.user_id)
    viewer = api.as_user("viewer", project)
    stranger = api.as_user("admin")  # admin of another project

    assert viewer.get(f"/api/jobs/{job_id}").status_code == 200
    assert_problem(viewer.post(f"/api/jobs/{job_id}/retry"), 403, "creator")
    assert_problem(stranger.get(f"/api/jobs/{job_id}"), 404)
    assert_problem(stranger.post(f"/api/jobs/{job_id}/retry"), 404)
    assert_problem(api.client.get(f"/api/jobs/{job_id}"), 401)
    assert_problem(creator.get("/api/jobs/not-a-uuid"), 404)
    assert_problem(creator.get("/api/jobs/00000000-0000-4000-8000-000000000000"), 404)
    assert load_job(api.store, job_id)[0].status == "failed"


def test_a_running_job_shows_its_progress(api, studio):
    project, asset, creator = studio
    job_id = request_job(api.store, project, asset, creator.user_id, tiny_recipe())
    state, version, _ = load_job(api.store, job_id)
    record_start(api.store, state, version, "host:7:worker-1")
    write_progress(api.services.engine, job_id, 3, 20, "host:7:worker-1")

    body = creator.get(f"/api/jobs/{job_id}").get_json()

    assert (body["status"], body["attempts"], body["worker"]) == ("started", 1, "host:7:worker-1")
    assert (body["progress"]["step"], body["progress"]["total"]) == (3, 20)

    # A heartbeat before the first step (a long silent step) shows life, not "0 of 0".
    write_progress(api.services.engine, job_id, 0, 0, "host:7:worker-1")
    progress = creator.get(f"/api/jobs/{job_id}").get_json()["progress"]
    assert (progress["step"], progress["total"], progress["worker"]) == (
        None, None, "host:7:worker-1")

    # A second worker takes over from a dead one: the dead one's row is not shown.
    state, version, _ = load_job(api.store, job_id)
    record_start(api.store, state, version, "host:8:worker-2")
    assert creator.get(f"/api/jobs/{job_id}").get_json()["progress"] is None


EDITS = {
    "img2img": {"strength": 0.5, "steps": 4},
    "inpaint": {"region": {"x": 0.25, "y": 0.25, "w": 0.5, "h": 0.5}, "steps": 2},
    "outpaint": {"margins": {"left": 16, "right": 16}, "steps": 2},
    "upscale": {"scale": 2, "steps": 2},
    "adjust": {"adjustments": {"brightness": 1.3, "rotate": 90}},
}


def test_every_edit_requested_over_http_ends_as_a_child_version(api, studio, workers):
    project, asset, creator = studio
    response = creator.post(
        f"/api/assets/{asset}/generations",
        json={"prompt": "a kite over dunes", "width": 64, "height": 64, "steps": 2, "seed": 7},
    )
    generated = response.get_json()["jobs"][0]["job_id"]
    [source] = wait_finished(api.store, [generated])[generated].version_ids

    job_ids = {}
    for operation, fields in EDITS.items():
        edit = creator.post(
            f"/api/versions/{source}/edits", json={"operation": operation, **fields}
        )
        assert edit.status_code == 202, (operation, edit.get_json())
        job_ids[operation] = edit.get_json()["jobs"][0]["job_id"]
    states = wait_finished(api.store, list(job_ids.values()))

    sizes = {
        "img2img": [64, 64],
        "inpaint": [64, 64],
        "outpaint": [96, 64],
        "upscale": [128, 128],
        "adjust": [64, 64],
    }
    for operation, job_id in job_ids.items():
        assert states[job_id].status == "completed", (operation, states[job_id].error)
        [version_id] = states[job_id].version_ids
        version = creator.get(f"/api/versions/{version_id}").get_json()
        assert version["operation"] == operation
        assert version["parent_ids"] == [source]
        assert [version["width"], version["height"]] == sizes[operation], operation
        image = creator.get(f"/api/versions/{version_id}/image")
        assert hashlib.sha256(image.data).hexdigest() == version["content_hash"]
