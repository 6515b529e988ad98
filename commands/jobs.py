"""Job lifecycle, write side: fold a job's stream, decide start / complete / fail / retry.

A job's stream (``job-<id>``) holds one JobRequested, then per attempt a JobStarted, and
per request (the first, or a JobRetryRequested) at most one outcome: JobCompleted or
JobFailed. Everything here but the handlers at the bottom is pure.

Idempotency: the completion is appended with the command id ``job:<id>:completed`` and a
failure with ``job:<id>:failed:<request number>``, so two deliveries of one message (or
two workers racing on one job) record one outcome and one version.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Sequence

from commands.state import execute
from events.assets import VersionCreated
from events.domain import stream_id
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
from events.store import EventStore, Metadata, Recorded, StreamAppend
from events.types import Event

REQUESTED, STARTED, COMPLETED, FAILED = "requested", "started", "completed", "failed"
CANCELLED = "cancelled"
STATUSES = (REQUESTED, STARTED, COMPLETED, FAILED, CANCELLED)
VERSION_NAMESPACE = uuid.UUID("6f1d3c52-93a5-4f0e-8f7e-2b8c1f4c9a10")
"""uuid5 namespace of job output version ids: a duplicate delivery derives the same id."""


@dataclasses.dataclass(frozen=True)
class JobError:
    kind: str
    message: str
    retryable: bool


@dataclasses.dataclass(frozen=True)
class JobState:
    """A job as folded from its stream (``request`` is None for a missing stream)."""

    request: JobRequested | None = None
    status: str = ""
    requests: int = 0
    """JobRequested + JobRetryRequested seen: the number of the current request."""
    attempts: int = 0
    worker: str | None = None
    version_ids: tuple[str, ...] = ()
    cost_seconds: float = 0.0
    error: JobError | None = None
    report: dict | None = None
    cancel_requested_by: str | None = None
    """Who asked a running job to stop (JobCancelRequested since the latest request)."""

    @property
    def job_id(self) -> str:
        if self.request is None:
            raise NotFound("job does not exist")
        return self.request.job_id

    @property
    def cancel_requested(self) -> bool:
        return self.cancel_requested_by is not None

    @property
    def finished(self) -> bool:
        """Completed, cancelled, or failed since its latest request (only a retry
        re-opens a failed job)."""
        return self.status in (COMPLETED, FAILED, CANCELLED)


def evolve(state: JobState, event: Event) -> JobState:
    """The state after one event; unknown events leave it unchanged."""
    replace = dataclasses.replace
    if isinstance(event, JobRequested):
        return replace(state, request=event, status=REQUESTED, requests=1)
    if isinstance(event, JobRetryRequested):
        return replace(
            state,
            status=REQUESTED,
            requests=state.requests + 1,
            error=None,
            cancel_requested_by=None,
        )
    if isinstance(event, JobCancelRequested):
        return replace(state, cancel_requested_by=event.requested_by)
    if isinstance(event, JobCancelled):
        return replace(
            state, status=CANCELLED, cost_seconds=state.cost_seconds + event.cost_seconds
        )
    if isinstance(event, JobStarted):
        return replace(
            state, status=STARTED, attempts=max(state.attempts, event.attempt), worker=event.worker
        )
    if isinstance(event, JobCompleted):
        return replace(
            state,
            status=COMPLETED,
            version_ids=tuple(event.version_ids),
            cost_seconds=state.cost_seconds + event.cost_seconds,
            report=event.report,
            error=None,
        )
    if isinstance(event, JobFailed):
        return replace(
            state,
            status=FAILED,
            error=JobError(event.error_kind, event.message, event.retryable),
            cost_seconds=state.cost_seconds + event.cost_seconds,
        )
    return state


def fold_job(events: Sequence[Event], state: JobState | None = None) -> JobState:
    state = state or JobState()
    for event in events:
        state = evolve(state, event)
    return state


# -- decisions (pure) -----------------------------------------------------------------------


def decide_start(state: JobState, worker: str) -> list[Event]:
    """JobStarted for the next attempt, or [] when the job is already finished.

    A started-but-unfinished job starts again: its worker may have died mid-job.
    Raises NotFound for a job that was never requested.
    """
    job_id = state.job_id
    if state.finished:
        return []
    return [JobStarted(job_id=job_id, worker=worker, attempt=state.attempts + 1)]


class CancelRequested(Conflict):
    """The job was asked to stop: its worker records JobCancelled instead of a result."""


def output_version_id(job_id: str, index: int = 0) -> str:
    """The id of a job's ``index``-th output version, the same on every delivery."""
    return str(uuid.uuid5(VERSION_NAMESPACE, f"{job_id}:{index}"))


def decide_complete(
    state: JobState,
    versions: Sequence[VersionCreated],
    cost_seconds: float,
    report: dict | None = None,
) -> list[StreamAppend]:
    """The atomic completion: versions on the asset stream, JobCompleted on the job
    stream and ComputeUsed on the project stream.

    Raises NotFound for a missing job and Conflict when the job is already finished
    (completed, or failed since its latest request).
    """
    job = state.request
    if job is None:
        raise NotFound("job does not exist")
    if state.finished:
        raise Conflict(f"job {job.job_id} is already {state.status}", status=state.status)
    if state.cancel_requested:
        raise CancelRequested(
            f"job {job.job_id} was cancelled while it ran; its result is not kept",
            status=state.status,
        )
    version_ids = [v.version_id for v in versions]
    appends = []
    if versions:
        appends.append(
            StreamAppend(
                stream_id("asset", job.asset_id),
                "asset",
                -1,
                list(versions),
                entity_ids=version_ids,
            )
        )
    appends.append(
        StreamAppend(
            stream_id("job", job.job_id),
            "job",
            -1,
            [
                JobCompleted(
                    job_id=job.job_id,
                    cost_seconds=cost_seconds,
                    version_ids=version_ids,
                    report=report,
                )
            ],
        )
    )
    appends.append(compute_used(job, cost_seconds))
    return appends


def compute_used(job: JobRequested, seconds: float) -> StreamAppend:
    """ComputeUsed on the job's project stream: what the budget and the metrics count."""
    return StreamAppend(
        stream_id("project", job.project_id),
        "project",
        -1,
        [ComputeUsed(job_id=job.job_id, asset_id=job.asset_id, seconds=seconds)],
    )


def decide_fail(
    state: JobState, error_kind: str, message: str, retryable: bool, cost_seconds: float = 0.0
) -> list[StreamAppend]:
    """JobFailed for the current attempt on the job stream (at any version; the handler
    pins it) and, when the attempt computed for ``cost_seconds`` before it stopped,
    ComputeUsed on the project stream; [] when the job is already finished."""
    job = state.request
    if job is None:
        raise NotFound("job does not exist")
    if state.finished:
        return []
    failed = JobFailed(
        job_id=job.job_id,
        error_kind=error_kind,
        message=message[:2000],
        retryable=retryable,
        attempt=max(state.attempts, 1),
        cost_seconds=round(cost_seconds, 6),
    )
    return outcome_appends(job, failed, failed.cost_seconds)


def outcome_appends(job: JobRequested, outcome: Event, cost_seconds: float) -> list[StreamAppend]:
    """A job's outcome on its stream (at any version; the handler pins it) and, when the
    attempt computed, the seconds on the project stream."""
    appends = [StreamAppend(stream_id("job", job.job_id), "job", -1, [outcome])]
    if cost_seconds > 0:
        appends.append(compute_used(job, cost_seconds))
    return appends


def decide_retry(state: JobState, requested_by: str) -> list[Event]:
    """JobRetryRequested for a failed job; Conflict for any other status."""
    job_id = state.job_id
    if state.status != FAILED:
        raise Conflict(
            f"only a failed job can be retried; job {job_id} is {state.status}", status=state.status
        )
    return [JobRetryRequested(job_id=job_id, requested_by=requested_by)]


# -- handlers (the only impure steps) -------------------------------------------------------


def load_job(store: EventStore, job_id: str) -> tuple[JobState, int, list[Recorded]]:
    """The job's state, stream version and recorded events. Raises NotFound."""
    history = store.read_stream(stream_id("job", job_id))
    state = fold_job([r.event for r in history])
    if state.request is None:
        raise NotFound(f"job {job_id} does not exist")
    return state, len(history), history


def load_jobs(store: EventStore, job_ids: Iterable[str],
              ) -> dict[str, tuple[JobState, int, list[Recorded]]]:
    """:func:`load_job` of several jobs by id, their streams read in one query; unknown
    jobs are left out."""
    streams = {stream_id("job", job_id): job_id for job_id in job_ids}
    histories: dict[str, list[Recorded]] = {}
    for recorded in store.read_streams(streams):
        histories.setdefault(streams[recorded.stream_id], []).append(recorded)
    jobs = {}
    for job_id, history in histories.items():
        state = fold_job([r.event for r in history])
        if state.request is not None:
            jobs[job_id] = (state, len(history), history)
    return jobs


def completion_command_id(job_id: str) -> str:
    return f"job:{job_id}:completed"


def _job_meta(state: JobState, command_id: str | None = None) -> Metadata:
    job = state.request
    assert job is not None
    return Metadata(actor_id=job.requested_by, correlation_id=job.job_id, command_id=command_id)


def record_start(
    store: EventStore,
    state: JobState,
    version: int,
    worker: str,
) -> list[Recorded]:
    """Append JobStarted at ``version``; [] when finished. Raises ConcurrencyError."""
    started = decide_start(state, worker)
    if not started:
        return []
    return store.append(
        stream_id("job", state.job_id), version, started, _job_meta(state), stream_type="job"
    )


def record_completion(
    store: EventStore,
    job_id: str,
    versions: Sequence[VersionCreated],
    cost_seconds: float,
    report: dict | None = None,
) -> list[Recorded]:
    """Append the completion once per job, whatever the number of deliveries.

    Returns the recorded events (the first completion's when it was already recorded).
    Raises Conflict when the job failed meanwhile, ConcurrencyError on a persistent race.
    """
    command_id = completion_command_id(job_id)

    def plan() -> list[StreamAppend]:
        state, version, _ = load_job(store, job_id)
        return pin_job_stream(
            job_id, version, decide_complete(state, versions, cost_seconds, report)
        )

    state, _, _ = load_job(store, job_id)
    return execute(store, _job_meta(state, command_id), plan)


def record_failure(
    store: EventStore,
    job_id: str,
    error_kind: str,
    message: str,
    retryable: bool,
    cost_seconds: float = 0.0,
) -> list[Recorded]:
    """Append JobFailed (and the compute it spent, see :func:`decide_fail`) once per
    request; [] when the job is already finished."""
    state, _, _ = load_job(store, job_id)
    command_id = f"job:{job_id}:failed:{state.requests}"

    def plan() -> list[StreamAppend]:
        current, version, _ = load_job(store, job_id)
        return pin_job_stream(
            job_id, version, decide_fail(current, error_kind, message, retryable, cost_seconds)
        )

    return execute(store, _job_meta(state, command_id), plan)


def pin_job_stream(job_id: str, version: int, appends: list[StreamAppend]) -> list[StreamAppend]:
    """``appends`` with the job stream's expected version set to ``version`` (the other
    streams append at any version)."""
    job_stream = stream_id("job", job_id)
    return [
        dataclasses.replace(a, expected_version=version) if a.stream_id == job_stream else a
        for a in appends
    ]


def retry_job(store: EventStore, job_id: str, meta: Metadata) -> list[Recorded]:
    """Re-request a failed job as ``meta.actor_id``; Conflict unless it failed.

    A repeated ``meta.command_id`` returns the first retry's events.
    """

    def plan() -> list[StreamAppend]:
        state, version, _ = load_job(store, job_id)
        return [
            StreamAppend(
                stream_id("job", job_id), "job", version, decide_retry(state, meta.actor_id or "")
            )
        ]

    return execute(store, dataclasses.replace(meta, correlation_id=job_id), plan)
