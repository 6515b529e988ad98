"""Job lifecycle decisions, Given events / When command / Then events (no database)."""

from __future__ import annotations

import pytest

from commands.job_cancel import decide_cancel, decide_stopped
from commands.jobs import (
    CANCELLED,
    COMPLETED,
    FAILED,
    REQUESTED,
    decide_complete,
    decide_fail,
    decide_retry,
    decide_start,
    fold_job,
    output_version_id,
)
from events.assets import VersionCreated
from events.errors import Conflict, NotFound
from events.jobs import (
    JobCancelled,
    JobCancelRequested,
    JobCompleted,
    JobFailed,
    JobRequested,
    JobRetryRequested,
    JobStarted,
)
from events.projects import ComputeUsed
from events.types import decode

JOB, PROJECT, ASSET, USER = "job-1", "project-1", "asset-1", "user-1"
REQUEST = JobRequested(
    job_id=JOB,
    kind="generate",
    project_id=PROJECT,
    asset_id=ASSET,
    requested_by=USER,
    recipe={"operation": "generate", "seed": 7},
)


def version(job_id: str = JOB) -> VersionCreated:
    return VersionCreated(
        version_id=output_version_id(job_id),
        asset_id=ASSET,
        author_id=USER,
        operation="generate",
        tier="draft",
        content_hash="ab" * 32,
        width=64,
        height=64,
        recipe={"seed": 7},
        job_id=job_id,
    )


def started(attempt: int, worker: str = "host:1:t") -> JobStarted:
    return JobStarted(job_id=JOB, worker=worker, attempt=attempt)


def test_given_requested_job_when_started_then_first_attempt():
    state = fold_job([REQUEST])

    assert decide_start(state, "host:1:t") == [started(1)]


def test_given_attempt_whose_worker_died_when_started_again_then_second_attempt():
    state = fold_job([REQUEST, started(1, "host:1:a")])

    assert decide_start(state, "host:2:b") == [started(2, "host:2:b")]


def test_given_completed_job_when_started_then_nothing_happens():
    state = fold_job([REQUEST, started(1), JobCompleted(job_id=JOB, cost_seconds=1.0)])

    assert decide_start(state, "host:1:t") == []


def test_given_no_request_when_started_then_not_found():
    with pytest.raises(NotFound):
        decide_start(fold_job([]), "host:1:t")


def test_given_started_job_when_completed_then_version_job_and_compute_in_one_append():
    state = fold_job([REQUEST, started(1)])

    appends = decide_complete(state, [version()], 0.5)

    by_type = {a.stream_type: a for a in appends}
    assert by_type["asset"].stream_id == f"asset-{ASSET}"
    assert by_type["asset"].events == [version()]
    assert list(by_type["asset"].entity_ids) == [output_version_id(JOB)]
    assert by_type["job"].events == [
        JobCompleted(job_id=JOB, cost_seconds=0.5, version_ids=[output_version_id(JOB)])
    ]
    assert by_type["project"].stream_id == f"project-{PROJECT}"
    assert by_type["project"].events == [ComputeUsed(job_id=JOB, asset_id=ASSET, seconds=0.5)]


def test_given_completed_job_when_completed_again_then_conflict():
    state = fold_job([REQUEST, started(1), JobCompleted(job_id=JOB, cost_seconds=1.0)])

    with pytest.raises(Conflict):
        decide_complete(state, [version()], 0.5)


def test_given_started_job_when_failed_then_failure_names_kind_and_attempt():
    state = fold_job([REQUEST, started(1), started(2)])

    [append] = decide_fail(state, "model_unavailable", "no such model", False)

    assert append.stream_id == f"job-{JOB}" and append.events == [
        JobFailed(
            job_id=JOB,
            error_kind="model_unavailable",
            message="no such model",
            retryable=False,
            attempt=2,
        )
    ]


def test_given_attempt_that_computed_when_failed_then_its_compute_is_counted():
    state = fold_job([REQUEST, started(1)])

    job, project = decide_fail(state, "time_limit", "ran out of time", True, 12.3456789)

    assert job.events[0].cost_seconds == 12.345679
    assert (project.stream_id, project.events) == (
        f"project-{PROJECT}",
        [ComputeUsed(job_id=JOB, asset_id=ASSET, seconds=12.345679)],
    )
    after = fold_job(job.events, state)
    assert (after.status, after.cost_seconds) == (FAILED, 12.345679)


def test_a_failure_recorded_before_schema_2_reads_as_costing_nothing():
    old = decode("job.failed", 1, {"job_id": JOB, "error_kind": "x", "message": "y",
                                   "retryable": False, "attempt": 1})

    assert old == JobFailed(job_id=JOB, error_kind="x", message="y", retryable=False)
    assert fold_job([REQUEST, started(1), old]).cost_seconds == 0.0


def test_given_failed_job_when_failed_again_then_nothing_happens():
    failed = JobFailed(job_id=JOB, error_kind="x", message="y", retryable=False)
    state = fold_job([REQUEST, started(1), failed])

    assert state.status == FAILED
    assert decide_fail(state, "x", "y", False) == []


def test_given_failed_job_when_retried_then_requested_again():
    failed = JobFailed(job_id=JOB, error_kind="input_missing", message="mask", retryable=False)
    state = fold_job([REQUEST, started(1), failed])

    events = decide_retry(state, "user-2")

    assert events == [JobRetryRequested(job_id=JOB, requested_by="user-2")]
    after = fold_job(events, state)
    assert (after.status, after.requests, after.error) == (REQUESTED, 2, None)
    assert decide_start(after, "host:1:t") == [started(2, "host:1:t")]


@pytest.mark.parametrize(
    "history",
    [
        [REQUEST],
        [REQUEST, started(1)],
        [REQUEST, started(1), JobCompleted(job_id=JOB, cost_seconds=1.0)],
    ],
)
def test_given_job_not_failed_when_retried_then_conflict(history):
    with pytest.raises(Conflict):
        decide_retry(fold_job(history), USER)


def test_completed_job_state_keeps_versions_cost_and_attempts():
    state = fold_job(
        [
            REQUEST,
            started(1),
            started(2),
            JobCompleted(job_id=JOB, cost_seconds=1.25, version_ids=["v-1"]),
        ]
    )

    assert (state.status, state.attempts, state.version_ids, state.cost_seconds) == (
        COMPLETED,
        2,
        ("v-1",),
        1.25,
    )


def test_output_version_ids_are_stable_per_job_and_distinct_between_jobs():
    assert output_version_id("job-a") == output_version_id("job-a")
    assert output_version_id("job-a") != output_version_id("job-b")
    assert output_version_id("job-a", 0) != output_version_id("job-a", 1)


def test_given_queued_job_when_cancelled_then_it_is_finished_without_starting():
    state = fold_job([REQUEST])

    events = decide_cancel(state, "user-2")

    assert events == [JobCancelled(job_id=JOB, requested_by="user-2")]
    after = fold_job(events, state)
    assert (after.status, after.finished) == (CANCELLED, True)
    assert decide_start(after, "host:1:t") == []
    assert decide_cancel(after, "user-2") == []


def test_given_running_job_when_cancelled_then_its_worker_is_asked_to_stop():
    state = fold_job([REQUEST, started(1)])

    events = decide_cancel(state, "user-2")

    assert events == [JobCancelRequested(job_id=JOB, requested_by="user-2")]
    asked = fold_job(events, state)
    assert asked.cancel_requested and not asked.finished
    assert decide_cancel(asked, "user-3") == []
    with pytest.raises(Conflict, match="was cancelled while it ran"):
        decide_complete(asked, [version()], 0.5)


def test_given_job_asked_to_stop_when_its_worker_stops_then_cancelled_with_its_compute():
    state = fold_job([REQUEST, started(1), JobCancelRequested(job_id=JOB, requested_by="u2")])

    job, project = decide_stopped(state, 2.5)

    assert job.events == [JobCancelled(job_id=JOB, requested_by="u2", attempt=1,
                                       cost_seconds=2.5)]
    assert project.events == [ComputeUsed(job_id=JOB, asset_id=ASSET, seconds=2.5)]
    after = fold_job(job.events, state)
    assert (after.status, after.cost_seconds) == (CANCELLED, 2.5)
    assert decide_stopped(after, 1.0) == []


@pytest.mark.parametrize("outcome", [
    JobCompleted(job_id=JOB, cost_seconds=1.0),
    JobFailed(job_id=JOB, error_kind="x", message="y", retryable=False),
])
def test_given_finished_job_when_cancelled_then_conflict(outcome):
    state = fold_job([REQUEST, started(1), outcome])

    with pytest.raises(Conflict, match="only a queued or running job can be cancelled"):
        decide_cancel(state, "user-2")


def test_given_job_nobody_asked_to_stop_when_its_worker_stops_then_conflict():
    with pytest.raises(Conflict, match="was not asked to stop"):
        decide_stopped(fold_job([REQUEST, started(1)]), 1.0)
