"""POST /api/jobs/{id}/cancel at each stage of a job: queued (it never starts), running
(it stops at its next step, keeps nothing and its compute is counted), finished (409);
asking twice, a worker re-sent a job that was asked to stop, and who may cancel.
SQLite and PostgreSQL, with embedded workers where a job has to run."""

from __future__ import annotations

import time

import pytest

from commands.job_progress import read_progress
from commands.jobs import load_job, record_start
from events.jobs import JobCancelled, JobCancelRequested, JobStarted
from tests.e2e.conftest import assert_problem
from tests.integration.jobs_support import job_history, wait_finished
from workers.job_runner import CANCELLED, SKIPPED, run_job
from workers.runtime import job_context

LONG = {"prompt": "a slow lighthouse", "width": 256, "height": 256, "steps": 200, "seed": 4}


@pytest.fixture
def scene(api):
    project = api.project()
    asset = api.asset(project)
    return project, asset, api.as_user("creator", project)


def request(creator, asset: str, **params) -> str:
    response = creator.post(f"/api/assets/{asset}/generations",
                            json={"prompt": "a kite", "width": 64, "height": 64, "steps": 2,
                                  **params})
    assert response.status_code == 202, response.get_json()
    return response.get_json()["jobs"][0]["job_id"]


def test_a_queued_job_cancelled_never_starts(api, scene, models_dir, monkeypatch):
    monkeypatch.setenv("LINEAGE_DATA_DIR", str(models_dir))
    project, asset, creator = scene
    job_id = request(creator, asset)

    response = creator.post(f"/api/jobs/{job_id}/cancel")

    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert (body["status"], body["cost_seconds"], body["finished_at"] is not None) == (
        "cancelled", 0.0, True)
    # Its message still reaches a worker (or the relay re-sends it): it is skipped.
    assert run_job(job_context(api.services), job_id) == SKIPPED
    assert [type(e) for e in job_history(api.store, job_id)][1:] == [JobCancelled]
    versions = creator.get(f"/api/assets/{asset}/versions").get_json()["items"]
    assert versions == []
    assert_problem(creator.post(f"/api/jobs/{job_id}/retry"), 409, "only a failed job")


def test_cancelling_twice_or_with_the_same_key_appends_nothing_more(api, scene):
    _, asset, creator = scene
    job_id = request(creator, asset)
    first = creator.post(f"/api/jobs/{job_id}/cancel", headers={"Idempotency-Key": "stop-1"})
    head = api.head()

    again = creator.post(f"/api/jobs/{job_id}/cancel", headers={"Idempotency-Key": "stop-1"})
    other = creator.post(f"/api/jobs/{job_id}/cancel")

    assert first.status_code == again.status_code == other.status_code == 202
    assert again.get_json()["status"] == other.get_json()["status"] == "cancelled"
    assert api.head() == head


def test_a_running_job_stops_at_its_next_step_and_keeps_nothing(api, scene, workers):
    project, asset, creator = scene
    used_before = creator.get(f"/api/projects/{project}").get_json()["compute_used_seconds"]
    job_id = request(creator, asset, **LONG)
    running = wait_until_running(creator, job_id)

    response = creator.post(f"/api/jobs/{job_id}/cancel")

    assert response.status_code == 202, response.get_json()
    assert response.get_json()["cancel_requested"] is True
    state = wait_finished(api.store, [job_id])[job_id]
    body = creator.get(f"/api/jobs/{job_id}").get_json()
    assert (body["status"], body["version_ids"], body["error"]) == ("cancelled", [], None)
    assert body["cost_seconds"] == state.cost_seconds > 0
    kinds = [type(e) for e in job_history(api.store, job_id)]
    assert kinds[-2:] == [JobCancelRequested, JobCancelled] and JobStarted in kinds
    assert job_history(api.store, job_id)[-1].attempt == 1
    # It stopped part way: the worker had reported steps of the 200, and ran no more.
    assert running["progress"]["total"] == 200
    assert read_progress(api.services.engine, job_id) is None
    assert creator.get(f"/api/assets/{asset}/versions").get_json()["items"] == []
    assert [p for p in api.services.blobs.root.rglob("*") if p.is_file()] == []
    used = creator.get(f"/api/projects/{project}").get_json()["compute_used_seconds"]
    assert used == pytest.approx(used_before + body["cost_seconds"], abs=1e-6)
    again = creator.post(f"/api/jobs/{job_id}/cancel")
    assert (again.status_code, again.get_json()["status"]) == (202, "cancelled")


def wait_until_running(creator, job_id: str, timeout: float = 120.0) -> dict:
    """Poll the job until its worker has reported steps; its status document."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = creator.get(f"/api/jobs/{job_id}").get_json()
        if body["status"] == "started" and (body["progress"] or {}).get("step"):
            return body
        assert body["status"] in ("requested", "started"), body
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not start reporting steps in {timeout} s")


def test_a_finished_job_cannot_be_cancelled(api, scene, workers):
    _, asset, creator = scene
    job_id = request(creator, asset)
    wait_finished(api.store, [job_id])
    head = api.head()

    assert_problem(creator.post(f"/api/jobs/{job_id}/cancel"), 409, "already completed")
    assert creator.get(f"/api/jobs/{job_id}").get_json()["status"] == "completed"
    assert api.head() == head


def test_a_job_asked_to_stop_whose_worker_died_ends_cancelled_when_re_sent(api, scene):
    _, asset, creator = scene
    job_id = request(creator, asset)
    state, version, _ = load_job(api.store, job_id)
    record_start(api.store, state, version, "elsewhere:1:dead")

    response = creator.post(f"/api/jobs/{job_id}/cancel")
    assert response.get_json()["status"] == "started"
    # The relay re-sends the job once the dead worker's lease runs out.
    assert run_job(job_context(api.services), job_id) == SKIPPED

    body = creator.get(f"/api/jobs/{job_id}").get_json()
    assert (body["status"], body["cost_seconds"], body["version_ids"]) == ("cancelled", 0.0, [])


def test_a_result_finished_after_the_request_to_stop_is_not_kept(api, scene, models_dir,
                                                                 monkeypatch):
    monkeypatch.setenv("LINEAGE_DATA_DIR", str(models_dir))
    _, asset, creator = scene
    job_id = request(creator, asset)
    context = job_context(api.services)
    stop = {}

    def cancel_while_saving(seconds: float) -> None:
        # Called when the pipeline's last step is done, before the result is recorded.
        if not stop:
            stop["response"] = creator.post(f"/api/jobs/{job_id}/cancel")

    monkeypatch.setattr("workers.attempt.AttemptProgress.computed",
                        lambda self, seconds: (self.meter.add(seconds),
                                               cancel_while_saving(seconds)))

    assert run_job(context, job_id) == CANCELLED

    assert stop["response"].get_json()["cancel_requested"] is True
    body = creator.get(f"/api/jobs/{job_id}").get_json()
    assert (body["status"], body["version_ids"]) == ("cancelled", [])
    assert body["cost_seconds"] > 0
    assert creator.get(f"/api/assets/{asset}/versions").get_json()["items"] == []
    assert [p for p in context.blobs.root.rglob("*") if p.is_file()] == []  # no image kept


def test_only_creators_of_the_jobs_project_cancel_it(api, scene):
    project, asset, creator = scene
    job_id = request(creator, asset)
    viewer = api.as_user("viewer", project)
    stranger = api.as_user("admin")
    head = api.head()

    assert_problem(viewer.post(f"/api/jobs/{job_id}/cancel"), 403, "creator")
    assert_problem(stranger.post(f"/api/jobs/{job_id}/cancel"), 404, "does not exist")
    assert_problem(api.client.post(f"/api/jobs/{job_id}/cancel"), 401)
    assert_problem(creator.post("/api/jobs/00000000-0000-4000-8000-000000000000/cancel"), 404)
    assert api.head() == head
    assert load_job(api.store, job_id)[0].status == "requested"
