"""Which jobs the relay re-sends on start-up: requested and not finished, and not
running on a live worker (see test_relay.py for the lease)."""

from __future__ import annotations

from datetime import UTC, datetime

from events.jobs import (
    JobCancelled,
    JobCancelRequested,
    JobCompleted,
    JobFailed,
    JobRequested,
    JobRetryRequested,
    JobStarted,
)
from events.store import Recorded
from workers.relay import presumed_dead, unfinished_jobs

_position = 0


def recorded(event, event_id: str) -> Recorded:
    global _position
    _position += 1
    now = datetime.now(UTC)
    return Recorded(
        _position,
        event_id,
        f"job-{event.job_id}",
        "job",
        1,
        event.type_name,
        1,
        event,
        None,
        None,
        None,
        None,
        now,
        now,
        "0" * 64,
        "0" * 64,
    )


def requested(job_id: str, tier: str = "draft") -> JobRequested:
    return JobRequested(
        job_id=job_id, kind="generate", project_id="p", asset_id="a", requested_by="u", tier=tier
    )


def failed(job_id: str, retryable: bool) -> JobFailed:
    return JobFailed(job_id=job_id, error_kind="k", message="m", retryable=retryable)


def test_only_jobs_without_an_outcome_after_their_latest_request_are_resent():
    log = [
        recorded(requested("open", "final"), "e-open"),
        recorded(requested("done"), "e-done"),
        recorded(JobCompleted(job_id="done", cost_seconds=1), "e-done-2"),
        recorded(requested("broken"), "e-broken"),
        recorded(failed("broken", retryable=False), "e-broken-2"),
        recorded(requested("outage"), "e-outage"),
        recorded(failed("outage", retryable=True), "e-outage-2"),
        recorded(requested("retried", "final"), "e-retried"),
        recorded(failed("retried", retryable=False), "e-retried-2"),
        recorded(JobRetryRequested(job_id="retried", requested_by="u"), "e-retried-3"),
    ]

    pending = unfinished_jobs(log)

    assert [(p.job_id, p.tier, p.request_event_id) for p in pending] == [
        ("open", "final", "e-open"),
        ("outage", "draft", "e-outage"),
        ("retried", "final", "e-retried-3"),
    ]


def test_a_retried_job_that_completed_is_not_resent():
    log = [
        recorded(requested("j"), "e-1"),
        recorded(failed("j", retryable=False), "e-2"),
        recorded(JobRetryRequested(job_id="j", requested_by="u"), "e-3"),
        recorded(JobCompleted(job_id="j", cost_seconds=1), "e-4"),
    ]

    assert unfinished_jobs(log) == []


def test_an_attempt_counts_as_running_until_a_retryable_failure_or_a_new_request_ends_it():
    def start(job_id: str, worker: str) -> JobStarted:
        return JobStarted(job_id=job_id, worker=worker, attempt=1)

    log = [
        recorded(requested("running"), "e-1"),
        recorded(start("running", "gpu-1:7:t"), "e-2"),
        recorded(requested("outage"), "e-3"),
        recorded(start("outage", "gpu-1:8:t"), "e-4"),
        recorded(failed("outage", retryable=True), "e-5"),
        recorded(requested("retried"), "e-6"),
        recorded(start("retried", "gpu-1:9:t"), "e-7"),
        recorded(failed("retried", retryable=False), "e-8"),
        recorded(JobRetryRequested(job_id="retried", requested_by="u"), "e-9"),
    ]

    pending = unfinished_jobs(log)

    assert [(p.job_id, p.worker) for p in pending] == [
        ("running", "gpu-1:7:t"), ("outage", ""), ("retried", "")]
    now = pending[0].started_at
    assert [presumed_dead(p, {}, now) for p in pending] == [False, True, True]


def test_a_cancelled_job_is_not_resent_but_one_only_asked_to_stop_is():
    log = [
        recorded(requested("queued"), "e-1"),
        recorded(JobCancelled(job_id="queued", requested_by="u"), "e-2"),
        recorded(requested("running"), "e-3"),
        recorded(JobStarted(job_id="running", worker="h:1:t", attempt=1), "e-4"),
        recorded(JobCancelRequested(job_id="running", requested_by="u"), "e-5"),
    ]

    # A job asked to stop is still running until its worker records the cancellation;
    # if that worker died, the job must reach another one, which records it.
    assert [p.job_id for p in unfinished_jobs(log)] == ["running"]
