"""Jobs: GET /api/jobs/{id} (status, progress, attempts, cost, versions, error),
POST /api/jobs/{id}/retry (re-request a failed job) and POST /api/jobs/{id}/cancel (stop
a queued or running job); both writes need the creator role in the job's project."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response

from app.api.openapi import documented
from app.api.views import named
from app.auth import current_principal
from app.context import services
from app.http import command_meta, respond
from commands.job_cancel import cancel_job
from commands.job_status import job_status, require_job_access
from commands.jobs import retry_job
from commands.state import parse_id
from events.store import EventStore, Metadata, Recorded

blueprint = Blueprint("jobs", __name__)


@blueprint.get("/jobs/<job_id>")
@documented(
    "A job: status, progress while running, attempts, cost, versions made, error",
    tags=("jobs",),
    errors=(401, 404),
)
def get_job(job_id: str) -> Response:
    """The job's status; ETag is its stream version. 404 for strangers to its project."""
    principal = current_principal()
    lineage = services()
    job_id = parse_id(job_id, "job")
    loaded = require_job_access(lineage.store, job_id, principal, "viewer")
    body, version = job_status(lineage.store, lineage.engine, job_id, loaded=loaded)
    return respond(named(body), version=version)


@blueprint.post("/jobs/<job_id>/retry")
@documented(
    "Re-request a failed job (creator)",
    tags=("jobs",),
    status=202,
    idempotent_key=True,
    errors=(401, 403, 404, 409),
)
def retry(job_id: str) -> Response:
    """202 with the job's status (now ``requested``); 409 unless the job had failed.

    Honours Idempotency-Key: a repeated key answers like the first retry.
    """
    return _creator_write(job_id, retry_job)


@blueprint.post("/jobs/<job_id>/cancel")
@documented(
    "Cancel a queued job (it never starts) or a running one (it stops at its next step); "
    "the job ends cancelled with nothing half-made kept (creator)",
    tags=("jobs",),
    status=202,
    idempotent_key=True,
    errors=(401, 403, 404, 409),
)
def cancel(job_id: str) -> Response:
    """202 with the job's status: ``cancelled`` for a queued job, ``started`` with
    ``cancel_requested`` for a running one until its worker stops it. Asking again
    appends nothing; 409 for a completed or failed job."""
    return _creator_write(job_id, cancel_job)


def _creator_write(job_id: str, command: Callable[[EventStore, str, Metadata], list[Recorded]],
                   ) -> Response:
    """Run a job command as a creator of the job's project; 202 with the job's status."""
    principal = current_principal()
    lineage = services()
    job_id = parse_id(job_id, "job")
    require_job_access(lineage.store, job_id, principal, "creator")
    recorded = command(lineage.store, job_id, command_meta())
    body, version = job_status(lineage.store, lineage.engine, job_id)
    return respond(body, 202, version=version, position=recorded[-1].position if recorded else None)
