"""Helpers for job tests: a project with an asset, job requests appended straight to the
store (as the HTTP write side does), waiting for jobs to finish, a relay thread on
RabbitMQ, and stopping RabbitMQ for a while."""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pika

from commands.jobs import JobState, load_job
from events.assets import AssetCreated, JobsRequested, VersionCreated
from events.domain import stream_id
from events.jobs import JobRequested
from events.projects import MemberRoleSet, ProjectCreated
from events.store import NO_STREAM, EventStore, Metadata, StreamAppend
from tests.conftest import service_missing
from workers.broker import all_queue_names, make_broker
from workers.relay import Relay
from workers.runtime import RelayThread


def delete_queues(rabbitmq_url: str, prefix: str) -> None:
    """Delete every queue (with its delay and dead-letter queues) of ``prefix``."""
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_url))
    channel = connection.channel()
    for name in all_queue_names(prefix):
        for queue in (name, f"{name}.DQ", f"{name}.XQ"):
            channel.queue_delete(queue)
    connection.close()


def tiny_recipe(seed: int = 1, **overrides: Any) -> dict[str, Any]:
    """A 64x64, 2-step generation: fast on any machine."""
    return {
        "operation": "generate",
        "prompt": "a red fox",
        "seed": seed,
        "steps": 2,
        "width": 64,
        "height": 64,
        **overrides,
    }


def new_project(store: EventStore, user_id: str, role: str = "admin") -> tuple[str, str]:
    """(project id, asset id): a project where ``user_id`` has ``role``, with one asset."""
    project_id, asset_id = str(uuid.uuid4()), str(uuid.uuid4())
    store.append_streams(
        [
            StreamAppend(
                stream_id("project", project_id),
                "project",
                NO_STREAM,
                [
                    ProjectCreated(project_id=project_id, name="Spring campaign"),
                    MemberRoleSet(user_id=user_id, role=role),
                ],
            ),
            StreamAppend(
                stream_id("asset", asset_id),
                "asset",
                NO_STREAM,
                [AssetCreated(asset_id=asset_id, project_id=project_id, name="Hero banner")],
            ),
        ],
        Metadata(actor_id=user_id),
    )
    return project_id, asset_id


def request_job(
    store: EventStore,
    project_id: str,
    asset_id: str,
    user_id: str,
    recipe: dict[str, Any],
    *,
    tier: str = "draft",
    kind: str = "generate",
    input_version_id: str | None = None,
    mask_hash: str | None = None,
) -> str:
    """Append a JobRequested (and the asset's JobsRequested) like the API does; job id."""
    job_id = str(uuid.uuid4())
    store.append_streams(
        [
            StreamAppend(
                stream_id("job", job_id),
                "job",
                NO_STREAM,
                [
                    JobRequested(
                        job_id=job_id,
                        kind=kind,
                        project_id=project_id,
                        asset_id=asset_id,
                        requested_by=user_id,
                        recipe=recipe,
                        input_version_id=input_version_id,
                        mask_hash=mask_hash,
                        tier=tier,
                    )
                ],
            ),
            StreamAppend(
                stream_id("asset", asset_id),
                "asset",
                -1,
                [
                    JobsRequested(
                        job_ids=[job_id], operation=recipe.get("operation", "generate"), tier=tier
                    )
                ],
            ),
        ],
        Metadata(actor_id=user_id),
    )
    return job_id


def wait_finished(
    store: EventStore,
    job_ids: list[str],
    timeout: float = 120.0,
) -> dict[str, JobState]:
    """Poll until every job is completed or failed; their states. AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    states: dict[str, JobState] = {}
    while True:
        states = {job_id: load_job(store, job_id)[0] for job_id in job_ids}
        if all(state.finished for state in states.values()):
            return states
        if time.monotonic() > deadline:
            waiting = {j: s.status for j, s in states.items() if not s.finished}
            raise AssertionError(f"jobs not finished in {timeout} s: {waiting}")
        time.sleep(0.05)


def versions_of(store: EventStore, asset_id: str) -> list[VersionCreated]:
    return [
        r.event
        for r in store.read_stream(stream_id("asset", asset_id))
        if isinstance(r.event, VersionCreated)
    ]


def job_history(store: EventStore, job_id: str) -> list:
    """The events of one job's stream, oldest first."""
    return [r.event for r in store.read_stream(stream_id("job", job_id))]


@contextlib.contextmanager
def running_relay(store: EventStore, rabbitmq_url: str, prefix: str) -> Iterator[RelayThread]:
    """A relay thread from ``store`` to RabbitMQ (its own broker connection) for the block."""
    broker = make_broker(rabbitmq_url, confirm_delivery=True, set_global=False)
    thread = RelayThread(Relay(store, broker, prefix), poll_seconds=0.1).start()
    try:
        yield thread
    finally:
        thread.stop()
        broker.close()


def rabbitmqctl(*args: str) -> None:
    subprocess.run(
        ["rabbitmqctl", *args],
        check=True,
        timeout=120,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def rabbitmq_stopped() -> Iterator[None]:
    """RabbitMQ's app stopped (``rabbitmqctl stop_app``: every connection closes, the
    port refuses new ones, durable queues keep their messages) for the block, and
    started again afterwards whatever happens. Where it cannot be stopped the test fails
    in CI and is skipped elsewhere."""
    try:
        rabbitmqctl("stop_app")
    except (OSError, subprocess.SubprocessError) as exc:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            rabbitmqctl("start_app")  # a stop that timed out half-way
        service_missing("rabbitmqctl stop_app", exc)
    try:
        yield
    finally:
        rabbitmqctl("start_app")
