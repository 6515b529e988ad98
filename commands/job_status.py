"""What GET /api/jobs/{id} shows, and who may see or retry a job.

The status folds the job's own stream (small, and the authority on the job) and adds the
ephemeral progress row while an attempt runs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from commands.job_progress import read_progress
from commands.jobs import STARTED, JobState, load_job
from commands.projects import load_project
from commands.users import Principal
from events.jobs import JobCancelled, JobCompleted, JobFailed, JobStarted
from events.store import EventStore, Recorded
from rules.access import VIEWER, require_role

LoadedJob = tuple[JobState, int, list[Recorded]]
"""What :func:`commands.jobs.load_job` returns: state, stream version, history."""


def require_job_access(
    store: EventStore, job_id: str, principal: Principal, minimum: str = VIEWER
) -> LoadedJob:
    """Raise NotFound when the caller is no member of the job's project (a stranger must
    not learn the job exists) and Forbidden when their role is below ``minimum``. Returns
    the job as loaded for the check, so a status answer need not read it again."""
    loaded = load_job(store, job_id)
    request = loaded[0].request
    assert request is not None
    project, _ = load_project(store, request.project_id)
    require_role(project.members, principal, minimum, hidden=f"job {job_id} does not exist")
    return loaded


def job_status(store: EventStore, engine: Engine, job_id: str, *,
               loaded: LoadedJob | None = None) -> tuple[dict[str, Any], int]:
    """The job's status document and its stream version (of ``loaded`` when given, else
    read now). Raises NotFound."""
    state, version, history = loaded or load_job(store, job_id)
    job = state.request
    assert job is not None
    started_at = finished_at = None
    for recorded in history:
        if isinstance(recorded.event, JobStarted):
            started_at = recorded.recorded_at
        elif isinstance(recorded.event, JobCompleted | JobFailed | JobCancelled):
            finished_at = recorded.recorded_at
    progress = None
    if state.status == STARTED:
        row = read_progress(engine, job_id)
        if row is not None and row.worker == state.worker:  # not a dead attempt's row
            # A heartbeat before the first reported step carries no step count yet.
            counted = row.total > 0
            progress = {
                "step": row.step if counted else None,
                "total": row.total if counted else None,
                "worker": row.worker,
                "updated_at": row.updated_at.isoformat(),
            }
    error = None
    if state.error is not None:
        error = {
            "kind": state.error.kind,
            "message": state.error.message,
            "retryable": state.error.retryable,
        }
    body = {
        "job_id": job.job_id,
        "kind": job.kind,
        "status": state.status,
        "project_id": job.project_id,
        "asset_id": job.asset_id,
        "tier": job.tier,
        "requested_by": job.requested_by,
        "requested_at": history[0].recorded_at.isoformat(),
        "started_at": started_at.isoformat() if started_at else None,
        "finished_at": finished_at.isoformat() if finished_at else None,
        "input_version_id": job.input_version_id,
        "recipe": job.recipe,
        "requests": state.requests,
        "attempts": state.attempts,
        "worker": state.worker,
        "progress": progress,
        "cancel_requested": state.cancel_requested,
        "cost_seconds": round(state.cost_seconds, 6),
        "version_ids": list(state.version_ids),
        "report": state.report,
        "error": error,
    }
    return body, version
