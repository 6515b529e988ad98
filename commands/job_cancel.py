"""Cancelling a job: the request (POST /api/jobs/{id}/cancel) and the worker's end of it.

A queued job is cancelled at once (JobCancelled, attempt 0): when its message reaches a
worker the job is finished and skipped, so it never starts. A running job is asked to
stop (JobCancelRequested); its worker looks for that between denoising steps, stops at
the next one and records JobCancelled with the seconds it computed (counted like any
job's, on the project stream). A result finished after the request is not kept: the
completion is refused and the job ends cancelled. Asking again appends nothing; a
finished job cannot be cancelled (Conflict).

Everything but the handlers at the bottom is pure.
"""

from __future__ import annotations

import dataclasses

from commands.jobs import (
    CANCELLED,
    REQUESTED,
    JobState,
    load_job,
    outcome_appends,
    pin_job_stream,
)
from commands.state import execute
from events.domain import stream_id
from events.errors import Conflict, NotFound
from events.jobs import JobCancelled, JobCancelRequested
from events.store import EventStore, Metadata, Recorded, StreamAppend
from events.types import Event


def decide_cancel(state: JobState, requested_by: str) -> list[Event]:
    """JobCancelled for a queued job, JobCancelRequested for a running one, [] when it is
    cancelled or asked to stop already. Raises Conflict for a completed or failed job."""
    job_id = state.job_id
    if state.status == CANCELLED or state.cancel_requested:
        return []
    if state.finished:
        raise Conflict(
            f"job {job_id} is already {state.status}; only a queued or running job can be "
            "cancelled",
            status=state.status,
        )
    if state.status == REQUESTED:
        return [JobCancelled(job_id=job_id, requested_by=requested_by)]
    return [JobCancelRequested(job_id=job_id, requested_by=requested_by)]


def decide_stopped(state: JobState, cost_seconds: float) -> list[StreamAppend]:
    """The worker's JobCancelled for an attempt it stopped (and the compute it spent, on
    the project stream); [] when the job is finished already. Raises Conflict when
    nobody asked the job to stop."""
    job = state.request
    if job is None:
        raise NotFound("job does not exist")
    if state.finished:
        return []
    if state.cancel_requested_by is None:
        raise Conflict(f"job {job.job_id} was not asked to stop")
    cancelled = JobCancelled(
        job_id=job.job_id,
        requested_by=state.cancel_requested_by,
        attempt=max(state.attempts, 1),
        cost_seconds=round(cost_seconds, 6),
    )
    return outcome_appends(job, cancelled, cancelled.cost_seconds)


# -- handlers -------------------------------------------------------------------------------


def cancel_job(store: EventStore, job_id: str, meta: Metadata) -> list[Recorded]:
    """Cancel ``job_id`` as ``meta.actor_id`` (see :func:`decide_cancel`); the events
    appended ([] when there was nothing to do). A worker starting the job meanwhile makes
    the decision again (it becomes a request to stop). Raises NotFound, Conflict."""

    def plan() -> list[StreamAppend]:
        state, version, _ = load_job(store, job_id)
        events = decide_cancel(state, meta.actor_id or "")
        return [StreamAppend(stream_id("job", job_id), "job", version, events)]

    return execute(store, dataclasses.replace(meta, correlation_id=job_id), plan)


def record_stopped(store: EventStore, job_id: str, cost_seconds: float) -> list[Recorded]:
    """The worker's side: record that it stopped the job, once per request."""
    state, _, _ = load_job(store, job_id)
    assert state.request is not None
    meta = Metadata(
        actor_id=state.request.requested_by,
        correlation_id=job_id,
        command_id=f"job:{job_id}:cancelled:{state.requests}",
    )

    def plan() -> list[StreamAppend]:
        current, version, _ = load_job(store, job_id)
        return pin_job_stream(job_id, version, decide_stopped(current, cost_seconds))

    return execute(store, meta, plan)


def stop_asked(store: EventStore, job_id: str, after_version: int) -> bool:
    """Whether the job's stream holds a request to stop (or its cancellation) after
    ``after_version``: the worker's cheap look between steps (only the newer events)."""
    later = store.read_stream(stream_id("job", job_id), from_version=after_version + 1)
    return any(isinstance(r.event, JobCancelRequested | JobCancelled) for r in later)
