"""The relay on SQLite and PostgreSQL: one message per request, checkpointed, no request
lost or sent twice by two relays, re-sends of unfinished jobs on start-up (but not of
jobs still running on a live worker, until their lease runs out)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from dramatiq.brokers.stub import StubBroker
from dramatiq.message import Message
from sqlalchemy import update

from commands.job_progress import write_progress
from commands.jobs import load_job, record_failure, record_start, retry_job
from events.domain import stream_id
from events.jobs import JobCompleted
from events.schema import job_progress
from events.store import Metadata
from tests.integration.jobs_support import new_project, request_job, tiny_recipe
from workers import relay as relay_module
from workers.broker import PublishFailed, all_queue_names, make_broker
from workers.relay import LEASE_SECONDS, Relay

PREFIX = "relaytest"


@pytest.fixture
def broker() -> StubBroker:
    broker = make_broker(None, set_global=False)
    for name in all_queue_names(PREFIX):
        broker.declare_queue(name)
    return broker


def queued(broker: StubBroker, tier: str = "draft") -> list[Message]:
    """The messages waiting on a tier's queue, in order (drained)."""
    queue = broker.queues[f"{PREFIX}.{tier}"]
    messages = []
    while not queue.empty():
        messages.append(Message.decode(queue.get_nowait()))
        queue.task_done()
    return messages


@pytest.fixture
def project(store):
    user = str(uuid.uuid4())
    project_id, asset_id = new_project(store, user)
    return user, project_id, asset_id


def test_each_request_is_sent_once_with_the_request_event_id_as_message_id(store, broker, project):
    user, project_id, asset_id = project
    jobs = [request_job(store, project_id, asset_id, user, tiny_recipe(seed=i)) for i in range(3)]
    final = request_job(store, project_id, asset_id, user, tiny_recipe(), tier="final")
    relay = Relay(store, broker, PREFIX)

    assert relay.relay_once() == 4
    assert relay.relay_once() == 0

    drafts = queued(broker, "draft")
    assert [m.args for m in drafts] == [(job,) for job in jobs]
    request_ids = [load_job(store, job)[2][0].event_id for job in jobs]
    assert [m.message_id for m in drafts] == request_ids
    assert [m.args for m in queued(broker, "final")] == [(final,)]
    assert relay.checkpoint() == store.head().position


def test_a_retry_request_is_sent_to_the_queue_of_the_jobs_tier(store, broker, project):
    user, project_id, asset_id = project
    job = request_job(store, project_id, asset_id, user, tiny_recipe(), tier="final")
    relay = Relay(store, broker, PREFIX)
    relay.relay_once()
    queued(broker, "final")
    record_failure(store, job, "input_missing", "mask not stored", retryable=False)
    retry = retry_job(store, job, Metadata(actor_id=user))

    assert relay.relay_once() == 1

    [message] = queued(broker, "final")
    assert (message.args, message.message_id) == ((job,), retry[0].event_id)


def test_two_relays_at_once_send_every_request_exactly_once(store, broker, project):
    user, project_id, asset_id = project
    jobs = [request_job(store, project_id, asset_id, user, tiny_recipe(seed=i)) for i in range(60)]
    relays = [Relay(store, broker, PREFIX, batch=7) for _ in range(2)]
    head = store.head().position

    def drain(relay: Relay) -> None:
        while relay.checkpoint() < head:
            relay.relay_once()

    threads = [threading.Thread(target=drain, args=(relay,)) for relay in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    sent = [m.args[0] for m in queued(broker)]
    assert sorted(sent) == sorted(jobs)


class FlakyBroker(StubBroker):
    """A broker that refuses every message after the first ``accept`` (an outage)."""

    def __init__(self, accept: int) -> None:
        super().__init__()
        self.accept = accept

    def enqueue(self, message, *, delay=None):  # noqa: ANN001, ANN201
        if self.accept <= 0:
            raise ConnectionError("broker unreachable")
        self.accept -= 1
        return super().enqueue(message, delay=delay)


def test_an_outage_mid_batch_loses_and_doubles_nothing(store, project):
    user, project_id, asset_id = project
    jobs = [request_job(store, project_id, asset_id, user, tiny_recipe(seed=i)) for i in range(5)]
    broker = FlakyBroker(accept=2)
    for name in all_queue_names(PREFIX):
        broker.declare_queue(name)
    relay = Relay(store, broker, PREFIX)

    with pytest.raises(PublishFailed):
        relay.relay_once()
    assert relay.checkpoint() == load_job(store, jobs[1])[2][0].position
    broker.accept = 100
    assert relay.relay_once() == 3

    assert [m.args[0] for m in queued(broker)] == jobs


def test_on_start_up_unfinished_jobs_are_sent_again(store, broker, project):
    user, project_id, asset_id = project
    done, running, waiting = (
        request_job(store, project_id, asset_id, user, tiny_recipe(seed=i)) for i in range(3)
    )
    relay = Relay(store, broker, PREFIX)
    relay.relay_once()
    queued(broker)  # the in-process broker of a server that then crashed
    store.append(
        stream_id("job", done), -1, [JobCompleted(job_id=done, cost_seconds=0.1)], stream_type="job"
    )

    restarted = Relay(store, broker, PREFIX)
    assert restarted.resend_unfinished() == 2

    messages = queued(broker)
    assert [m.args[0] for m in messages] == [running, waiting]
    assert messages[0].message_id == load_job(store, running)[2][0].event_id


def test_a_request_with_an_unknown_tier_does_not_block_the_ones_after_it(store, broker, project):
    user, project_id, asset_id = project
    odd = request_job(store, project_id, asset_id, user, tiny_recipe(), tier="preview")
    normal = request_job(store, project_id, asset_id, user, tiny_recipe())

    assert Relay(store, broker, PREFIX).relay_once() == 2

    assert [m.args[0] for m in queued(broker, "draft")] == [odd, normal]


def started(store, job_id: str, worker: str) -> str:
    """Record an attempt of ``job_id`` on ``worker``; returns the worker."""
    state, version, _ = load_job(store, job_id)
    record_start(store, state, version, worker)
    return worker


def heartbeat(store, job_id: str, worker: str, at: datetime) -> None:
    """The worker's progress row for the job, as last written at ``at``."""
    write_progress(store.engine, job_id, 3, 10, worker)
    stored = at if store.engine.dialect.name == "postgresql" else at.replace(tzinfo=None)
    with store.engine.begin() as conn:
        conn.execute(update(job_progress).where(job_progress.c.job_id == job_id)
                     .values(updated_at=stored))


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_a_restarted_relay_leaves_running_jobs_alone_until_their_lease_runs_out(
        store, broker, project):
    user, project_id, asset_id = project
    alive, silent, finishing = (
        request_job(store, project_id, asset_id, user, tiny_recipe(seed=i)) for i in range(3))
    Relay(store, broker, PREFIX).relay_once()
    queued(broker)  # delivered to workers on other machines, which started them:
    for job_id in (alive, silent, finishing):
        started(store, job_id, f"gpu-{job_id[:4]}:4000:Thread-1")
    clock = Clock(datetime.now(UTC) + timedelta(seconds=LEASE_SECONDS + 30))
    heartbeat(store, alive, f"gpu-{alive[:4]}:4000:Thread-1", clock.now - timedelta(seconds=5))
    heartbeat(store, finishing, f"gpu-{finishing[:4]}:4000:Thread-1", clock.now)
    heartbeat(store, silent, "gpu-elsewhere:1:Thread-1", clock.now)  # an older attempt's row

    restarted = Relay(store, broker, PREFIX, clock=clock)
    assert restarted.resend_unfinished() == 1
    assert [m.args[0] for m in queued(broker)] == [silent]

    # Later: one job finished, the other's worker died (no sign of life for a lease).
    store.append(stream_id("job", finishing), -1,
                 [JobCompleted(job_id=finishing, cost_seconds=1.0)], stream_type="job")
    clock.now += timedelta(seconds=LEASE_SECONDS / 2)
    assert restarted.resend_expired() == 0
    clock.now += timedelta(seconds=LEASE_SECONDS)
    assert restarted.resend_expired() == 1

    [message] = queued(broker)
    assert message.args[0] == alive
    assert message.message_id == load_job(store, alive)[2][0].event_id
    assert restarted.resend_expired() == 0  # sent once; the workers take it from here
    assert queued(broker) == []


def test_a_restarted_server_resends_at_once_the_jobs_its_dead_process_was_running(
        store, broker, project, monkeypatch):
    user, project_id, asset_id = project
    earlier, same_pid, alive = (
        request_job(store, project_id, asset_id, user, tiny_recipe(seed=i)) for i in range(3))
    Relay(store, broker, PREFIX).relay_once()
    queued(broker)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    host = socket.gethostname()
    started(store, earlier, f"{host}:{gone.stdout.strip()}:Thread-2")
    started(store, same_pid, f"{host}:{os.getpid()}:Thread-1")  # before this process began
    monkeypatch.setattr(relay_module, "PROCESS_STARTED", datetime.now(UTC))
    started(store, alive, f"{host}:{os.getpid()}:Thread-2")  # this process's own worker

    assert Relay(store, broker, PREFIX).resend_unfinished() == 2

    assert [m.args[0] for m in queued(broker)] == [earlier, same_pid]
