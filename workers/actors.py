"""The Dramatiq actors that run jobs: one per tier, each on its own queue.

Actors take a job id only and are idempotent (see workers/job_runner.py): a redelivered
or re-sent message for a finished job is acknowledged and skipped. Transient outages
(database, blob store) are retried with exponential backoff; when the retries run out
the job is recorded as failed (retryable). A job past its time limit is recorded as
failed and not retried: it would only run out of time again.

Actors are declared on the broker they are given (never Dramatiq's implicit global one),
so call workers.broker.make_broker first.
"""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.middleware import CurrentMessage, TimeLimitExceeded

import workers.promotion  # noqa: F401 - registers the promote job runner
import workers.rebuild  # noqa: F401 - registers the rebuild and re-bake job runners
from events.assets import TIERS
from events.errors import NotFound
from rules.job_estimate import time_limit_seconds
from workers.broker import queue_name
from workers.job_runner import (
    TRANSIENT_ERRORS,
    ComputeMeter,
    JobContext,
    record_transient_failure,
    run_job,
)

log = logging.getLogger(__name__)

MAX_RETRIES = 8
MIN_BACKOFF_MS = 500
MAX_BACKOFF_MS = 60_000


def actor_name(tier: str) -> str:
    """The Dramatiq actor name that runs jobs of ``tier`` (stable: it is in messages)."""
    return f"lineage_run_{tier}_job"


def declare_job_actors(
    broker: dramatiq.Broker, context: JobContext, prefix: str
) -> dict[str, dramatiq.Actor]:
    """Declare the job actors on ``broker`` (queues ``<prefix>.<tier>``); by tier."""
    actors = {}
    for tier in TIERS:
        limit = time_limit_seconds(tier)
        actors[tier] = dramatiq.actor(
            _performer(context, limit),
            broker=broker,
            actor_name=actor_name(tier),
            queue_name=queue_name(prefix, tier),
            max_retries=MAX_RETRIES,
            min_backoff=MIN_BACKOFF_MS,
            max_backoff=MAX_BACKOFF_MS,
            time_limit=limit * 1000,
            # An unknown job id will not appear later: drop the message, do not retry.
            throws=(NotFound,),
        )
    return actors


def _performer(context: JobContext, limit_seconds: int):  # noqa: ANN202
    def perform_job(job_id: str) -> None:
        meter = ComputeMeter()
        try:
            outcome = run_job(context, job_id, meter=meter)
        except TRANSIENT_ERRORS as exc:
            if _last_attempt():
                record_transient_failure(
                    context,
                    job_id,
                    "service_unavailable",
                    f"gave up after {MAX_RETRIES} retries: {type(exc).__name__}: {exc}",
                )
            raise
        except TimeLimitExceeded:
            record_transient_failure(
                context,
                job_id,
                "time_limit",
                f"the job ran longer than its time limit of {limit_seconds} s",
                cost_seconds=meter.seconds,
            )
            log.warning("job %s ran past its %d s limit", job_id, limit_seconds)
            return
        log.info("job %s %s", job_id, outcome)

    return perform_job


def _last_attempt() -> bool:
    message = CurrentMessage.get_current_message()
    return message is None or message.options.get("retries", 0) >= MAX_RETRIES
