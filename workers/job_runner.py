"""Run one job, idempotently: the logic behind the Dramatiq actors, testable without them.

``run_job`` loads the job's stream and skips a finished job; otherwise it records the
attempt (JobStarted), loads the input image and mask from the blob store, runs the
pipeline step, stores the PNG and appends the completion (version + JobCompleted +
ComputeUsed, atomically, once per job). A bad recipe or input ends the job as failed with
a readable reason; an outage of the database or blob store is raised as transient so the
actor retries it with backoff. A job cancelled while it runs stops at its next step
(workers/attempt.py) and ends cancelled, its result not kept, its compute counted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
import socket
import threading
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from commands.job_cancel import record_stopped, stop_asked
from commands.jobs import (
    CancelRequested,
    JobState,
    load_job,
    output_version_id,
    record_completion,
    record_failure,
    record_start,
)
from events.assets import VersionCreated
from events.errors import ConcurrencyError, Conflict, DomainError, NotFound, ServiceUnavailable
from events.store import EventStore
from imaging.blobs import BlobCorrupted, BlobStore
from rules.job_estimate import DEFAULT_TIME_LIMIT_SECONDS, time_limit_seconds
from workers import model_sync
from workers.attempt import AttemptProgress, ComputeMeter, ProgressSink, StopRequested
from workers.hosted.step import usage_report
from workers.operations import run_step

log = logging.getLogger(__name__)

COMPLETED, FAILED, SKIPPED, CANCELLED = "completed", "failed", "skipped", "cancelled"
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ServiceUnavailable,
    OperationalError,
    InterfaceError,
    ConcurrencyError,
    ConnectionError,
)
"""Outages worth retrying later: the same job may well succeed once the service is back."""
START_ATTEMPTS = 5
STALL_FACTOR = 10.0
"""A running job is stalled when no step advanced for STALL_FACTOR times its slowest step
so far (at least STALL_FLOOR_SECONDS); before its first step, for its time limit."""
STALL_FLOOR_SECONDS = 120.0


@dataclasses.dataclass(frozen=True)
class JobContext:
    """What a worker needs to run jobs: the event store and the blob store."""

    store: EventStore
    blobs: BlobStore

    @property
    def engine(self) -> Engine:
        return self.store.engine


@dataclasses.dataclass(frozen=True)
class JobOutput:
    """What a runner made: the versions, their images (stored by :func:`run_job` only
    when the result is kept), the seconds computed and a report."""

    versions: Sequence[VersionCreated]
    cost_seconds: float
    report: dict[str, Any] | None = None
    images: Sequence[bytes] = ()


class JobInputError(DomainError):
    """The job's input version or mask cannot be found: the job cannot run as requested."""


KindRunner = Callable[[JobContext, JobState, ProgressSink], JobOutput]


def worker_identity() -> str:
    """``host:pid:thread``: which worker ran an attempt (recorded in JobStarted)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


def run_job(
    context: JobContext,
    job_id: str,
    *,
    worker: str | None = None,
    meter: ComputeMeter | None = None,
) -> str:
    """Run the job unless it is finished; return COMPLETED, FAILED or SKIPPED.

    ``meter`` (a fresh one when None) adds up the seconds the attempt computes, so a
    caller that stops the attempt from outside (a time limit) can record its cost.
    Raises NotFound for an unknown job and one of TRANSIENT_ERRORS when a backing
    service is down (the caller retries later; nothing half-done is recorded).
    """
    worker = worker or worker_identity()
    started = _start(context.store, job_id, worker)
    if started is None:
        return SKIPPED
    state, version = started
    kind = state.request.kind if state.request else ""
    # An earlier attempt (a killed worker) may have left its progress row behind.
    tier = state.request.tier if state.request else "draft"
    progress = AttemptProgress(
        context.engine, job_id, worker, meter or ComputeMeter(), stale=state.attempts > 0,
        stop_asked=lambda: stop_asked(context.store, job_id, version),
        first_step_seconds=time_limit_seconds(tier if tier in DEFAULT_TIME_LIMIT_SECONDS
                                              else "draft"),
        stall_factor=STALL_FACTOR, stall_floor_seconds=STALL_FLOOR_SECONDS,
        on_stall=lambda reason: record_failure(context.store, job_id, "stalled", reason,
                                               retryable=True),
    )
    runner = KIND_RUNNERS.get(kind)
    try:
        # Tiers, names and LoRAs resolve against the registry as it is now.
        model_sync.refresh(context.store)
        if runner is None:
            raise DomainError(f"no worker can run jobs of kind {kind!r}")
        with progress.heartbeat():
            output = runner(context, state, progress)
    except TRANSIENT_ERRORS:
        raise
    except StopRequested:
        return _stopped(context, job_id, progress)
    except DomainError as exc:
        return _fail(context, job_id, error_kind(exc), exc.detail, progress)
    except Exception as exc:  # noqa: BLE001 - any pipeline crash ends the job, readably
        log.exception("job %s: pipeline error", job_id)
        return _fail(context, job_id, "pipeline_error", f"{type(exc).__name__}: {exc}", progress)
    if progress.stop_asked():
        return _stopped(context, job_id, progress)  # its images are not even stored
    store_all(context.blobs, state.request.project_id, output.images)
    try:
        record_completion(
            context.store, job_id, output.versions, output.cost_seconds, output.report
        )
    except CancelRequested:
        return _stopped(context, job_id, progress)
    except Conflict:
        log.info("job %s finished elsewhere while this attempt ran", job_id)
        return SKIPPED
    progress.clear()
    return COMPLETED


def _start(store: EventStore, job_id: str, worker: str) -> tuple[JobState, int] | None:
    """Record the attempt; the job's state and its stream's version with the attempt,
    or None when it is finished (or was asked to stop: that is recorded instead)."""
    for _ in range(START_ATTEMPTS):
        state, version, _ = load_job(store, job_id)
        if state.finished:
            return None
        if state.cancel_requested:
            # Its worker died after the request to stop; nothing to run.
            record_stopped(store, job_id, 0.0)
            return None
        try:
            recorded = record_start(store, state, version, worker)
        except ConcurrencyError:
            continue  # another delivery moved the stream; look again
        return state, recorded[-1].stream_version if recorded else version
    raise ConcurrencyError(f"job-{job_id}", -1, -1)


def _stopped(context: JobContext, job_id: str, progress: AttemptProgress) -> str:
    log.info("job %s cancelled while it ran", job_id)
    record_stopped(context.store, job_id, progress.meter.seconds)
    progress.clear()
    return CANCELLED


def _fail(
    context: JobContext, job_id: str, kind: str, message: str, progress: AttemptProgress
) -> str:
    log.info("job %s failed (%s): %s", job_id, kind, message)
    record_failure(
        context.store, job_id, kind, message, retryable=False, cost_seconds=progress.meter.seconds
    )
    progress.clear()
    return FAILED


def record_transient_failure(
    context: JobContext,
    job_id: str,
    kind: str,
    message: str,
    cost_seconds: float = 0.0,
) -> None:
    """Mark the job failed (retryable) when retries are exhausted or its time ran out,
    with the seconds the attempt computed; best effort, since the service that failed
    may be the database itself (the relay re-sends such jobs)."""
    try:
        record_failure(
            context.store, job_id, kind, message, retryable=True, cost_seconds=cost_seconds
        )
    except Exception:  # noqa: BLE001 - the database may be down; nothing more to do
        log.warning("job %s: could not record its failure", job_id, exc_info=True)


def error_kind(exc: DomainError) -> str:
    """A stable snake_case name for the failure, e.g. ``model_unavailable``."""
    if isinstance(exc, JobInputError | NotFound):
        return "input_missing"
    if isinstance(exc, BlobCorrupted):
        return "input_corrupted"
    name = type(exc).__name__
    if name == "DomainError":
        return "invalid_request"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# -- image steps (generate and edit jobs) ---------------------------------------------------


def find_version(store: EventStore, version_id: str) -> VersionCreated:
    """The VersionCreated event of ``version_id``; JobInputError when there is none."""
    stream = store.locate(version_id)
    if stream is not None:
        for recorded in store.read_stream(stream):
            event = recorded.event
            if isinstance(event, VersionCreated) and event.version_id == version_id:
                return event
    raise JobInputError(f"input version {version_id} does not exist")


def run_image_step(context: JobContext, state: JobState, progress: ProgressSink) -> JobOutput:
    """One generation or edit step producing one version (variations are one job each)."""
    job = state.request
    assert job is not None
    input_png = mask_png = None
    # A promotion is a generation whose parent is the draft it carries the DNA of: the
    # draft is its lineage parent, not an input image.
    if job.input_version_id and job.recipe.get("operation", "generate") != "generate":
        source = find_version(context.store, job.input_version_id)
        input_png = read_blob(context.blobs, source.content_hash, "input image")
    if job.mask_hash:
        mask_png = read_blob(context.blobs, job.mask_hash, "mask")
    recipe = {**job.recipe}
    recipe.setdefault("tier", job.tier)
    result = run_step(
        recipe,
        input_png=input_png,
        mask_png=mask_png,
        progress=progress,
        on_compute=progress.computed,
    )
    content_hash = hashlib.sha256(result.png).hexdigest()
    version = VersionCreated(
        version_id=output_version_id(job.job_id),
        asset_id=job.asset_id,
        author_id=job.requested_by,
        operation=result.recipe["operation"],
        tier=job.tier,
        content_hash=content_hash,
        width=result.width,
        height=result.height,
        recipe=result.recipe,
        parent_ids=[job.input_version_id] if job.input_version_id else [],
        job_id=job.job_id,
        cost_seconds=round(result.seconds, 6),
    )
    hosted = usage_report(result.recipe)
    report = {"hosted": hosted, "summary": _hosted_summary(hosted)} if hosted else None
    return JobOutput([version], round(result.seconds, 6), report, images=[result.png])


def _hosted_summary(hosted: dict[str, Any]) -> str:
    usage = hosted.get("usage") or {}
    tokens = usage.get("total_tokens")
    spent = f"{tokens} tokens" if tokens is not None else "no usage reported"
    return f"Made by hosted model {hosted['provider']}:{hosted['model']} ({spent})."


def read_blob(blobs: BlobStore, key: str, what: str) -> bytes:
    """The blob ``key``; JobInputError naming ``what`` (the job's input image, mask…)
    when it is not stored."""
    try:
        return blobs.get(key)
    except NotFound:
        raise JobInputError(f"the job's {what} (blob {key}) is not in the blob store") from None


def store_all(blobs: BlobStore, project_id: str, pngs: Sequence[bytes]) -> None:
    """Store a job's images (claimed for its project) once every step has run and the
    result is to be kept, so a job that fails or is cancelled leaves no image behind."""
    for png in pngs:
        blobs.put_for(project_id, png)


KIND_RUNNERS: dict[str, KindRunner] = {"generate": run_image_step, "edit": run_image_step}
"""Job kind → runner. Other areas (rebuild, re-bake, promote) add theirs with
:func:`register_kind`."""


def register_kind(kind: str, runner: KindRunner) -> None:
    KIND_RUNNERS[kind] = runner
