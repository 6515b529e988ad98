"""Generation, edit, rebuild and re-bake jobs. Stream: ``job-<id>``.

A job is requested by a command, relayed to a worker, started (once per attempt),
and ends completed, failed or cancelled. Progress is ephemeral and never an event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from events.types import Event, Payload, event, upcaster

JOB_KINDS = ("generate", "edit", "rebuild", "rebake")


@event("job.requested")
@dataclass(frozen=True, kw_only=True)
class JobRequested(Event):
    """``recipe`` is the requested recipe (see workers/operations.py for its keys);
    ``input_version_id`` is the version an edit starts from; ``mask_hash`` a blob."""

    job_id: str
    kind: str
    project_id: str
    asset_id: str
    requested_by: str
    recipe: dict[str, Any] = field(default_factory=dict)
    input_version_id: str | None = None
    mask_hash: str | None = None
    tier: str = "draft"
    options: dict[str, Any] = field(default_factory=dict)


@event("job.started")
@dataclass(frozen=True, kw_only=True)
class JobStarted(Event):
    job_id: str
    worker: str
    attempt: int


@event("job.completed")
@dataclass(frozen=True, kw_only=True)
class JobCompleted(Event):
    """``version_ids``: versions the job created (empty for a rebuild, which reports)."""

    job_id: str
    cost_seconds: float
    version_ids: list[str] = field(default_factory=list)
    report: dict[str, Any] | None = None


@event("job.failed", version=2)
@dataclass(frozen=True, kw_only=True)
class JobFailed(Event):
    """``cost_seconds``: compute the attempt spent before it failed or ran out of time
    (schema 2; a schema-1 failure recorded none and reads as 0)."""

    job_id: str
    error_kind: str
    message: str
    retryable: bool
    attempt: int = 1
    cost_seconds: float = 0.0


@upcaster("job.failed", 1)
def _failed_without_cost(payload: Payload) -> Payload:
    payload.setdefault("cost_seconds", 0.0)
    return payload


@event("job.retry_requested")
@dataclass(frozen=True, kw_only=True)
class JobRetryRequested(Event):
    job_id: str
    requested_by: str


@event("job.cancel_requested")
@dataclass(frozen=True, kw_only=True)
class JobCancelRequested(Event):
    """A running job was asked to stop; its worker stops at its next step and records
    JobCancelled."""

    job_id: str
    requested_by: str


@event("job.cancelled")
@dataclass(frozen=True, kw_only=True)
class JobCancelled(Event):
    """The job ended without a result: cancelled while queued (``attempt`` 0, by the
    API) or stopped by its worker after a JobCancelRequested, having computed for
    ``cost_seconds``."""

    job_id: str
    requested_by: str
    attempt: int = 0
    cost_seconds: float = 0.0
