"""A running job keeps showing signs of life even inside one long step, so the relay's
lease (workers/relay.py) never takes a slow job on a live worker for a dead one."""

from __future__ import annotations

import time
import uuid

from commands.job_progress import read_progress
from commands.jobs import load_job
from tests.integration.jobs_support import new_project, request_job, tiny_recipe
from workers import heartbeat, job_runner
from workers.blobs import BlobStore
from workers.job_runner import COMPLETED, JobContext, JobOutput, run_job


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
