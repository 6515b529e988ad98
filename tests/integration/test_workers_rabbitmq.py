"""Jobs over RabbitMQ and PostgreSQL: worker threads and `lineage worker` processes.

The fixtures (queues of the test's own, a relay thread, worker threads) are in
tests/integration/conftest.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from commands.job_progress import read_progress
from commands.jobs import load_job
from events.jobs import JobCompleted, JobStarted
from tests.conftest import RABBITMQ_URL
from tests.integration.jobs_support import (
    job_history,
    rabbitmq_stopped,
    request_job,
    tiny_recipe,
    versions_of,
    wait_finished,
)
from workers.broker import ping_broker
from workers.relay import job_message, unfinished_jobs

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]


def test_sixteen_variations_over_rabbitmq_give_sixteen_versions(context, relay, workers, project):
    user, project_id, asset_id = project
    job_ids = [
        request_job(context.store, project_id, asset_id, user, tiny_recipe(seed=i))
        for i in range(16)
    ]

    states = wait_finished(context.store, job_ids)

    assert {s.status for s in states.values()} == {"completed"}
    versions = versions_of(context.store, asset_id)
    assert sorted(v.recipe["seed"] for v in versions) == list(range(16))
    for version in versions:
        assert context.blobs.get(version.content_hash)[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_duplicate_delivery_over_rabbitmq_gives_one_version(context, relay, workers, project):
    user, project_id, asset_id = project
    job_id = request_job(context.store, project_id, asset_id, user, tiny_recipe(seed=1))
    wait_finished(context.store, [job_id])
    [pending] = unfinished_jobs(load_job(context.store, job_id)[2][:1])

    for _ in range(2):
        workers.broker.enqueue(job_message(workers.prefix, pending))
    deadline = time.monotonic() + 60
    while sum(isinstance(e, JobStarted) for e in job_history(context.store, job_id)) < 1:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    workers.broker.join(f"{workers.prefix}.draft", min_successes=5, timeout=60_000)

    assert len(versions_of(context.store, asset_id)) == 1
    assert sum(isinstance(e, JobCompleted) for e in job_history(context.store, job_id)) == 1


def start_worker_process(pg_url: str, data_dir: Path, prefix: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "LINEAGE_DATABASE_URL": pg_url,
        "LINEAGE_BROKER_URL": RABBITMQ_URL,
        "LINEAGE_QUEUE_PREFIX": prefix,
        "LINEAGE_DATA_DIR": str(data_dir),
    }
    code = "import sys; from app.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen(
        [sys.executable, "-c", code, "worker", "--threads", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_a_worker_killed_mid_job_leaves_it_to_another_which_completes_it_once(
    context, relay, project, pg_url, data_dir, prefix
):
    user, project_id, asset_id = project
    job_id = request_job(context.store, project_id, asset_id, user, tiny_recipe(seed=11, steps=200))
    first = start_worker_process(pg_url, data_dir, prefix)
    second = None
    try:
        deadline = time.monotonic() + 120
        while (progress := read_progress(context.engine, job_id)) is None or progress.step < 2:
            assert time.monotonic() < deadline, "the first worker never got going"
            assert first.poll() is None, "the first worker exited"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert load_job(context.store, job_id)[0].status == "started"

        second = start_worker_process(pg_url, data_dir, prefix)
        state = wait_finished(context.store, [job_id], timeout=180)[job_id]
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(30)

    assert state.status == "completed", state.error
    history = job_history(context.store, job_id)
    workers_started = [e.worker for e in history if isinstance(e, JobStarted)]
    assert len(workers_started) == 2 and workers_started[0] != workers_started[1]
    assert sum(isinstance(e, JobCompleted) for e in history) == 1
    assert len(versions_of(context.store, asset_id)) == 1
    assert read_progress(context.engine, job_id) is None  # the dead attempt's row is gone


@pytest.mark.slow
def test_requests_made_while_rabbitmq_is_stopped_complete_after_it_restarts(
    context, relay, workers, project
):
    user, project_id, asset_id = project
    with rabbitmq_stopped():
        job_ids = [
            request_job(context.store, project_id, asset_id, user, tiny_recipe(seed=i))
            for i in range(4)
        ]
        time.sleep(1.5)  # the relay tries, and fails, to send them
        assert {load_job(context.store, j)[0].status for j in job_ids} == {"requested"}

    states = wait_finished(context.store, job_ids, timeout=180)

    assert {s.status for s in states.values()} == {"completed"}
    versions = versions_of(context.store, asset_id)
    assert sorted(v.job_id for v in versions) == sorted(job_ids)
    for job_id in job_ids:
        assert sum(isinstance(e, JobCompleted) for e in job_history(context.store, job_id)) == 1


def test_ping_broker_tells_a_reachable_rabbitmq_from_an_unreachable_one(rabbitmq_url):
    ok, detail = ping_broker(rabbitmq_url)
    assert ok and detail.startswith("RabbitMQ")

    ok, detail = ping_broker("amqp://guest:guest@127.0.0.1:1/%2F")
    assert not ok and detail
