"""Stop RabbitMQ for 30 s while jobs keep being requested (issue 7).

Two relays (as two servers run them: one checkpoint, taken in turns) send the requests
from the event log to RabbitMQ, and two worker threads run them. While the broker is
down requests are still accepted (the log is the outbox), a job that was running when it
went away finishes but cannot be acknowledged, and the relays and the workers' consumer
fail to connect. Once it is back they must carry on by themselves, and every job end
with exactly one result.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter

import pika
import pytest

from commands.jobs import load_job
from events.db import make_engine
from events.jobs import JobCompleted, JobFailed
from events.store import EventStore
from tests.integration.jobs_support import (
    job_history,
    rabbitmq_stopped,
    request_job,
    running_relay,
    tiny_recipe,
    versions_of,
    wait_finished,
)
from workers.broker import queue_name

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres, pytest.mark.slow]

OUTAGE_SECONDS = 30.0
REQUEST_EVERY_SECONDS = 0.25
LOAD_AFTER_OUTAGE_SECONDS = 3.0
LONG_RECIPE = tiny_recipe(seed=100_000, steps=200, width=384, height=384)
"""About 10 s of work: still running when the broker has been stopped."""


class SteadyRequests:
    """A thread requesting one tiny job every REQUEST_EVERY_SECONDS until :meth:`stop`;
    the job ids in request order and any request that was refused."""

    def __init__(self, store: EventStore, project: tuple[str, str, str]) -> None:
        self.store = store
        self.user, self.project_id, self.asset_id = project
        self.job_ids: list[str] = []
        self.refused: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="steady-requests")

    def _run(self) -> None:
        seed = 0
        while not self._stop.wait(REQUEST_EVERY_SECONDS):
            try:
                self.job_ids.append(self.request(tiny_recipe(seed=seed)))
            except Exception as exc:  # noqa: BLE001 - the test reports every refusal
                self.refused.append(exc)
            seed += 1

    def request(self, recipe: dict) -> str:
        return request_job(self.store, self.project_id, self.asset_id, self.user, recipe)

    def start(self) -> SteadyRequests:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


@pytest.fixture
def two_relays(pg_url, rabbitmq_url, prefix):
    """Two relays, each with its own database engine and broker connection."""
    with contextlib.ExitStack() as stack:
        relays = []
        for _ in range(2):
            engine = make_engine(pg_url)
            stack.callback(engine.dispose)
            relays.append(stack.enter_context(
                running_relay(EventStore(engine), rabbitmq_url, prefix)))
        yield relays


def wait_started(store: EventStore, job_id: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while load_job(store, job_id)[0].status == "requested":
        assert time.monotonic() < deadline, f"job {job_id} never started"
        time.sleep(0.05)


def draft_consumers(rabbitmq_url: str, prefix: str) -> int:
    """How many consumers RabbitMQ has on the draft queue."""
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_url))
    try:
        queue = connection.channel().queue_declare(queue_name(prefix, "draft"), passive=True)
        return queue.method.consumer_count
    finally:
        connection.close()


def test_jobs_requested_around_a_30_s_rabbitmq_outage_each_complete_once(
    context, rabbitmq_url, prefix, two_relays, workers, project
):
    store = context.store
    load = SteadyRequests(store, project).start()
    try:
        time.sleep(1.0)
        long_job = load.request(LONG_RECIPE)
        wait_started(store, long_job)
        with rabbitmq_stopped():
            assert load_job(store, long_job)[0].status == "started", (
                "the long job ended before RabbitMQ stopped: it is no longer mid-flight")
            first_while_down = len(load.job_ids)
            time.sleep(OUTAGE_SECONDS)
            requested_while_down = load.job_ids[first_while_down:]
            # Accepted, and nothing could send them anywhere.
            assert {load_job(store, j)[0].status for j in requested_while_down} == {"requested"}
        first_after = len(load.job_ids)
        time.sleep(LOAD_AFTER_OUTAGE_SECONDS)
    finally:
        load.stop()
    job_ids = [long_job, *load.job_ids]

    states = wait_finished(store, job_ids, timeout=180)

    assert load.refused == []
    assert len(requested_while_down) >= OUTAGE_SECONDS / REQUEST_EVERY_SECONDS / 2
    assert len(load.job_ids) > first_after  # the load went on after the outage
    unfinished = {j: s.status for j, s in states.items() if s.status != "completed"}
    assert unfinished == {}
    for job_id in job_ids:
        history = job_history(store, job_id)
        assert sum(isinstance(e, JobCompleted) for e in history) == 1, job_id
        assert not any(isinstance(e, JobFailed) for e in history), job_id
    _, _, asset_id = project
    versions = Counter(v.job_id for v in versions_of(store, asset_id))
    assert versions == Counter(job_ids)  # one version per job, none for anything else
    # The worker threads the test started once (and never restarted) consume again.
    assert draft_consumers(rabbitmq_url, prefix) == 1
