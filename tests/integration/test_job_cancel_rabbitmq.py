"""Cancelling jobs on the production topology: PostgreSQL, RabbitMQ, a relay thread and
worker threads of their own queues (fixtures in tests/integration/conftest.py).

A job cancelled while its message waits in RabbitMQ is acknowledged and never started;
a running one stops at its next step, keeps nothing and has its compute counted."""

from __future__ import annotations

import time

import pytest

from commands.job_cancel import cancel_job
from commands.job_progress import read_progress
from commands.jobs import load_job
from events.domain import stream_id
from events.jobs import JobCancelled, JobCancelRequested, JobStarted
from events.projects import ComputeUsed
from events.store import Metadata
from tests.integration.jobs_support import (
    job_history,
    request_job,
    tiny_recipe,
    versions_of,
    wait_finished,
)
from workers.broker import make_broker
from workers.runtime import JobWorkers

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres]


def test_a_job_cancelled_while_queued_in_rabbitmq_never_starts(
        context, relay, rabbitmq_url, prefix, project):
    user, project_id, asset_id = project
    job_id = request_job(context.store, project_id, asset_id, user, tiny_recipe(seed=3))
    # The relay sends it; no worker is consuming yet, so it waits in the queue.
    deadline = time.monotonic() + 60
    while relay.relay.checkpoint() < context.store.head().position:
        assert time.monotonic() < deadline, "the relay did not send the job"
        time.sleep(0.05)

    cancel_job(context.store, job_id, Metadata(actor_id=user))

    broker = make_broker(rabbitmq_url, set_global=False)
    workers = JobWorkers(broker, context, prefix, threads=1).start()
    try:
        broker.join(f"{prefix}.draft", min_successes=1, timeout=60_000)
    finally:
        workers.stop()
        broker.close()
    assert [type(e).__name__ for e in job_history(context.store, job_id)] == [
        "JobRequested", "JobCancelled"]
    assert versions_of(context.store, asset_id) == []


def test_a_running_job_cancelled_stops_keeps_nothing_and_counts_its_compute(
        context, relay, workers, project):
    user, project_id, asset_id = project
    job_id = request_job(context.store, project_id, asset_id, user,
                         tiny_recipe(seed=5, steps=200, width=256, height=256))
    deadline = time.monotonic() + 120
    while (progress := read_progress(context.engine, job_id)) is None or progress.step < 1:
        assert time.monotonic() < deadline, "the job did not start reporting steps"
        time.sleep(0.05)

    cancel_job(context.store, job_id, Metadata(actor_id=user))

    state = wait_finished(context.store, [job_id])[job_id]
    history = job_history(context.store, job_id)
    assert state.status == "cancelled" and state.version_ids == ()
    assert [type(e) for e in history][-2:] == [JobCancelRequested, JobCancelled]
    assert sum(isinstance(e, JobStarted) for e in history) == 1
    assert state.cost_seconds > 0
    used = [r.event.seconds for r in context.store.read_stream(stream_id("project", project_id))
            if isinstance(r.event, ComputeUsed) and r.event.job_id == job_id]
    assert used == [state.cost_seconds]
    assert versions_of(context.store, asset_id) == []
    assert read_progress(context.engine, job_id) is None
    assert load_job(context.store, job_id)[0].finished
