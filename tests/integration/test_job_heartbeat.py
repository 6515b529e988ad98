"""A running job keeps showing signs of life even inside one long step, so the relay's
lease (workers/relay.py) never takes a slow job on a live worker for a dead one."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from commands.job_progress import read_progress
from commands.jobs import load_job, retry_job
from events.store import Metadata
from imaging.blobs import BlobStore
from tests.integration.jobs_support import new_project, request_job, tiny_recipe
from workers import heartbeat, job_runner
from workers.job_runner import COMPLETED, SKIPPED, JobContext, JobOutput, run_job


def test_a_long_step_without_progress_still_refreshes_its_progress_row(
        store, tmp_path, monkeypatch):
    user = str(uuid.uuid4())
    project_id, asset_id = new_project(store, user)
    job_id = request_job(store, project_id, asset_id, user, tiny_recipe(), kind="rebuild")
    beats = []

    def one_long_silent_step(context, state, progress):  # noqa: ANN001, ANN202
        deadline = time.monotonic() + 10
        while len(beats) < 2:  # two heartbeats, each a fresh row of this attempt
            assert time.monotonic() < deadline, "no heartbeat"
            row = read_progress(context.engine, job_id)
            if row is not None and (not beats or row.updated_at > beats[-1].updated_at):
                beats.append(row)
            time.sleep(0.01)
        return JobOutput([], 0.1, {"steps": []})

    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", 0.05)
    monkeypatch.setitem(job_runner.KIND_RUNNERS, "rebuild", one_long_silent_step)

    assert run_job(JobContext(store, BlobStore(tmp_path / "blobs")), job_id) == COMPLETED

    state, _, _ = load_job(store, job_id)
    assert {row.worker for row in beats} == {state.worker}
    assert read_progress(store.engine, job_id) is None  # the beat stopped before the clear


@pytest.fixture
def quick_watchdog(monkeypatch):
    """Beats every 50 ms; a job stalls after 3 times its slowest step (at least 0.3 s)."""
    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", 0.05)
    monkeypatch.setattr(job_runner, "STALL_FACTOR", 3.0)
    monkeypatch.setattr(job_runner, "STALL_FLOOR_SECONDS", 0.3)


def _job(store) -> tuple[str, str]:  # noqa: ANN001
    user = str(uuid.uuid4())
    project_id, asset_id = new_project(store, user)
    return user, request_job(store, project_id, asset_id, user, tiny_recipe(), kind="rebuild")


def test_a_step_that_blocks_is_recorded_as_stalled_and_offered_for_retry(
        store, tmp_path, monkeypatch, quick_watchdog):
    """The heartbeat thread keeps beating whatever the job does; it must stop for a job
    whose step no longer advances, and the job must end as failed (retryable) instead of
    being held for ever by a hung worker."""
    user, job_id = _job(store)
    release = threading.Event()

    def two_steps_then_hangs(context, state, progress):  # noqa: ANN001, ANN202
        progress(1, 4)
        time.sleep(0.05)
        progress(2, 4)
        release.wait(60)  # a step that blocks (a deadlocked driver, a lost GPU)
        return JobOutput([], 0.1, {"steps": []})

    monkeypatch.setitem(job_runner.KIND_RUNNERS, "rebuild", two_steps_then_hangs)
    outcome: list[str] = []
    worker = threading.Thread(target=lambda: outcome.append(
        run_job(JobContext(store, BlobStore(tmp_path / "blobs")), job_id)))
    worker.start()
    try:
        deadline = time.monotonic() + 30
        state, _, _ = load_job(store, job_id)
        while state.status != "failed":
            assert time.monotonic() < deadline, f"never recorded as stalled: {state.status}"
            time.sleep(0.02)
            state, _, _ = load_job(store, job_id)
    finally:
        release.set()
        worker.join(30)

    assert state.error.kind == "stalled" and state.error.retryable is True
    assert "no progress" in state.error.message and "step 2 of 4" in state.error.message
    assert outcome == [SKIPPED]  # the hung attempt, once it returns, records nothing
    retry_job(store, job_id, Metadata(actor_id=user, command_id=f"retry-{job_id}"))
    assert load_job(store, job_id)[0].status == "requested"


def test_a_slow_job_that_keeps_advancing_is_not_stalled(
        store, tmp_path, monkeypatch, quick_watchdog):
    _, job_id = _job(store)

    def slow_steps(context, state, progress):  # noqa: ANN001, ANN202
        for step in range(1, 9):  # 0.8 s in all: past the 0.3 s floor, each step within it
            time.sleep(0.1)
            progress(step, 8)
        return JobOutput([], 0.8, {"steps": []})

    monkeypatch.setitem(job_runner.KIND_RUNNERS, "rebuild", slow_steps)

    assert run_job(JobContext(store, BlobStore(tmp_path / "blobs")), job_id) == COMPLETED
