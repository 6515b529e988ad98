"""The relay: the event store is the outbox; this sends its job requests to the broker.

It follows the log after its own checkpoint (``subscription_checkpoints``, name
``relay``) and sends one Dramatiq message per JobRequested / JobRetryRequested, with the
request event's id as the message id, so a re-send is recognisable as the same request.
The checkpoint moves only past messages the broker accepted, so a broker outage delays
jobs but loses none. On start-up it re-sends every job requested but not finished (the
in-process broker of a crashed server held some of them), except a job still running:
one whose attempt showed a sign of life (its JobStarted, or its worker's progress row,
which a running job refreshes at least every ``heartbeat.HEARTBEAT_SECONDS``) within
LEASE_SECONDS, on a worker not known to be gone. Such a job is watched instead and
re-sent once its lease runs out without it finishing, so a dead worker's job is still
re-sent, and a live one's is not done twice.

Two relays at once: each round locks the checkpoint row (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite's write lock), so they do not both send a request; the actors'
idempotency is what guarantees a job never completes twice.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

import dramatiq
from sqlalchemy import Connection, insert, select, update

from events.assets import TIERS
from events.db import write_transaction
from events.domain import stream_id
from events.jobs import (
    JobCancelled,
    JobCompleted,
    JobFailed,
    JobRequested,
    JobRetryRequested,
    JobStarted,
)
from events.schema import job_progress, subscription_checkpoints
from events.store import EventStore, Recorded, utc
from workers.actors import actor_name
from workers.broker import BatchPublisher, PublishFailed, queue_name

log = logging.getLogger(__name__)

RELAY_NAME = "relay"
BATCH = 500
REQUEST_TYPES = (JobRequested.type_name, JobRetryRequested.type_name)
_JOB_TYPES = REQUEST_TYPES + (
    JobStarted.type_name,
    JobCompleted.type_name,
    JobFailed.type_name,
    JobCancelled.type_name,
)
LEASE_SECONDS = 90.0
"""How long a started job may show no sign of life before the relay presumes its worker
dead and re-sends it: several of the workers' heartbeats (``HEARTBEAT_SECONDS``, 20 s),
plus room for clocks of different machines that disagree a little."""
PROCESS_STARTED = datetime.now(UTC)
"""About when this process started (when it imported this module): an attempt recorded
earlier by a worker with this process's own pid belonged to an earlier process."""


@dataclasses.dataclass(frozen=True)
class PendingJob:
    """A request to send: the job, its tier, and the request event (id and position);
    when an attempt started after that request, when (recorded) and on which worker."""

    job_id: str
    tier: str
    request_event_id: str
    position: int
    started_at: datetime | None = None
    worker: str = ""


def job_message(prefix: str, job: PendingJob) -> dramatiq.Message:
    """The Dramatiq message for one request (message id = the request event's id)."""
    tier = job.tier
    if tier not in TIERS:
        # One bad request must not block the outbox: it goes to the draft queue, where
        # the worker fails the job with a readable reason.
        log.warning("job %s has unknown tier %r; sent to the draft queue", job.job_id, tier)
        tier = "draft"
    return dramatiq.Message(
        queue_name=queue_name(prefix, tier),
        actor_name=actor_name(tier),
        args=(job.job_id,),
        kwargs={},
        options={},
        message_id=job.request_event_id,
    )


class Relay:
    """Sends job requests from the event store to ``broker``'s queues ``<prefix>.<tier>``."""

    def __init__(
        self,
        store: EventStore,
        broker: dramatiq.Broker,
        prefix: str,
        *,
        name: str = RELAY_NAME,
        batch: int = BATCH,
        lease_seconds: float = LEASE_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.broker = broker
        self.publisher = BatchPublisher(broker)
        self.prefix = prefix
        self.name = name
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.clock = clock
        """The time leases are measured against (tests move it forward)."""
        self._watched: dict[str, PendingJob] = {}
        """Unfinished jobs that were alive when last looked at, by job id."""
        self._postgres = store.engine.dialect.name == "postgresql"
        self._checkpoint_exists = False

    # -- one round ----------------------------------------------------------------------

    def relay_once(self) -> int:
        """Send the requests after the checkpoint (up to one batch); return how many.

        Returns 0 without sending when another relay holds the checkpoint. Raises the
        broker's error when it is unreachable (the checkpoint then stays just past the
        last request the broker accepted).
        """
        self._ensure_checkpoint()
        with write_transaction(self.store.engine) as conn:
            checkpoint = self._lock(conn)
            if checkpoint is None:
                return 0
            head = self.store.head().position
            if head <= checkpoint:
                return 0
            requests = self.store.read_all(
                checkpoint, self.batch, event_types=REQUEST_TYPES, up_to=head
            )
            # A short page means nothing else up to the head is a request: skip past it all.
            done_up_to = head if len(requests) < self.batch else requests[-1].position
            messages = [job_message(self.prefix, job) for job in self._pending(requests)]
            failure: PublishFailed | None = None
            try:
                self.publisher.publish(messages)
            except PublishFailed as exc:
                failure = exc
                done_up_to = requests[exc.sent - 1].position if exc.sent else checkpoint
            if done_up_to > checkpoint:
                self._save(conn, done_up_to)
        if failure is not None:
            raise failure
        return len(messages)

    def resend_unfinished(self) -> int:
        """Re-send every job requested up to the checkpoint and not finished whose attempt
        is not alive (see :func:`presumed_dead`); how many. Live ones are watched, for
        :meth:`resend_expired`.

        Unfinished: no JobCompleted, JobCancelled or non-retryable JobFailed after its
        latest request. Returns 0 when another relay holds the checkpoint.
        """
        self._ensure_checkpoint()
        with write_transaction(self.store.engine) as conn:
            checkpoint = self._lock(conn)
            if checkpoint is None or checkpoint == 0:
                return 0
            # Outcomes count up to the head; requests after the checkpoint are not
            # re-sent (relay_once sends them for the first time).
            head = self.store.head().position
            unfinished = [
                job
                for job in unfinished_jobs(
                    self.store.iter_all(0, event_types=_JOB_TYPES, up_to=head)
                )
                if job.position <= checkpoint
            ]
            pending = self._resend_dead(conn, unfinished)
        if pending:
            log.info("relay re-sent %d unfinished jobs", pending)
        if self._watched:
            log.info("relay watches %d running jobs until they finish or their lease "
                     "runs out", len(self._watched))
        return pending

    def resend_expired(self) -> int:
        """Look again at the watched running jobs: forget the finished (or re-requested)
        ones, re-send those whose lease ran out; how many were re-sent. Returns 0 when
        another relay holds the checkpoint."""
        if not self._watched:
            return 0
        with write_transaction(self.store.engine) as conn:
            if self._lock(conn) is None:
                return 0
            current = []
            for watched in list(self._watched.values()):
                job = next(iter(unfinished_jobs(
                    self.store.read_stream(stream_id("job", watched.job_id)))), None)
                if job is None or job.request_event_id != watched.request_event_id:
                    del self._watched[watched.job_id]  # finished, or relay_once's to send
                else:
                    current.append(job)
            resent = self._resend_dead(conn, current)
        if resent:
            log.info("relay re-sent %d jobs whose worker stopped showing signs of life", resent)
        return resent

    def _resend_dead(self, conn: Connection, jobs: list[PendingJob]) -> int:
        """Publish the jobs presumed dead, watch the others; how many were published."""
        signs = progress_signs(conn) if any(job.started_at for job in jobs) else {}
        now = self.clock()
        dead = [job for job in jobs if presumed_dead(job, signs, now, self.lease_seconds)]
        self.publisher.publish([job_message(self.prefix, job) for job in dead])
        dead_ids = {job.job_id for job in dead}
        for job in jobs:
            if job.job_id in dead_ids:
                self._watched.pop(job.job_id, None)
            else:
                self._watched[job.job_id] = job
        return len(dead)

    def close(self) -> None:
        """Close the relay's own broker connection (the broker itself stays open)."""
        self.publisher.close()

    def checkpoint(self) -> int:
        with self.store.engine.connect() as conn:
            return (
                conn.execute(
                    select(subscription_checkpoints.c.position).where(
                        subscription_checkpoints.c.name == self.name
                    )
                ).scalar()
                or 0
            )

    # -- following ----------------------------------------------------------------------

    def run(self, stop: threading.Event, poll_seconds: float = 0.5) -> None:
        """Re-send unfinished jobs, then relay until ``stop`` is set.

        Wakes as soon as this process appends (the server's own requests) and polls
        every ``poll_seconds`` for other processes' appends. Broker or database outages
        are logged and retried with backoff up to 10 s.
        """
        resent = False
        backoff = 0.25
        next_look = 0.0
        while not stop.is_set():
            try:
                head = self.store.head().position
                if not resent:
                    self.resend_unfinished()
                    resent = True
                if self._watched and time.monotonic() >= next_look:
                    self.resend_expired()
                    next_look = time.monotonic() + self.lease_seconds / 6
                sent = self.relay_once()
                backoff = 0.25
            except Exception as exc:  # noqa: BLE001 - outages must not kill the relay
                log.warning("relay: %s: %s; retrying in %.1f s", type(exc).__name__, exc, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if sent < self.batch:
                self.store.wait_for_append(head, poll_seconds)

    # -- helpers ------------------------------------------------------------------------

    def _pending(self, requests: Iterable[Recorded]) -> Iterable[PendingJob]:
        for recorded in requests:
            event = recorded.event
            tier = event.tier if isinstance(event, JobRequested) else self._tier_of(event.job_id)
            yield PendingJob(event.job_id, tier, recorded.event_id, recorded.position)

    def _tier_of(self, job_id: str) -> str:
        history = self.store.read_stream(stream_id("job", job_id), up_to_version=1)
        if history and isinstance(history[0].event, JobRequested):
            return history[0].event.tier
        return "draft"

    def _ensure_checkpoint(self) -> None:
        if self._checkpoint_exists:
            return
        with self.store.engine.connect() as conn:
            exists = conn.execute(
                select(subscription_checkpoints.c.name).where(
                    subscription_checkpoints.c.name == self.name
                )
            ).first()
        if exists is not None:
            self._checkpoint_exists = True
            return
        try:
            with write_transaction(self.store.engine) as conn:
                conn.execute(
                    insert(subscription_checkpoints).values(
                        name=self.name, position=0, updated_at=self._now()
                    )
                )
        except Exception:  # noqa: BLE001 - another relay inserted it first
            log.debug("relay checkpoint row already created", exc_info=True)

    def _lock(self, conn: Connection) -> int | None:
        query = select(subscription_checkpoints.c.position).where(
            subscription_checkpoints.c.name == self.name
        )
        if self._postgres:
            query = query.with_for_update(skip_locked=True)
        return conn.execute(query).scalar()

    def _save(self, conn: Connection, position: int) -> None:
        conn.execute(
            update(subscription_checkpoints)
            .where(subscription_checkpoints.c.name == self.name)
            .values(position=position, updated_at=self._now())
        )

    def _now(self) -> datetime:
        now = datetime.now(UTC)
        return now if self._postgres else now.replace(tzinfo=None)


def unfinished_jobs(job_events: Iterable[Recorded]) -> list[PendingJob]:
    """From job events in log order: jobs whose latest request has no outcome yet
    (a retryable failure counts as none), in the order of their latest request, each
    with the attempt running since that request, if any (a retryable failure ends it)."""
    tiers: dict[str, str] = {}
    latest: dict[str, PendingJob | None] = {}
    for recorded in job_events:
        event = recorded.event
        if isinstance(event, JobRequested):
            tiers[event.job_id] = event.tier
        if isinstance(event, JobRequested | JobRetryRequested):
            latest[event.job_id] = PendingJob(
                event.job_id, tiers.get(event.job_id, "draft"), recorded.event_id, recorded.position
            )
        elif isinstance(event, JobStarted):
            if (job := latest.get(event.job_id)) is not None:
                latest[event.job_id] = dataclasses.replace(
                    job, started_at=recorded.recorded_at, worker=event.worker)
        elif isinstance(event, JobCompleted | JobCancelled) or (
            isinstance(event, JobFailed) and not event.retryable
        ):
            latest[event.job_id] = None
        elif isinstance(event, JobFailed) and (job := latest.get(event.job_id)) is not None:
            # A retryable failure ends the attempt: nothing is running any more.
            latest[event.job_id] = dataclasses.replace(job, started_at=None, worker="")
    pending = [job for job in latest.values() if job is not None]
    return sorted(pending, key=lambda job: job.position)


def progress_signs(conn: Connection) -> dict[str, tuple[str, datetime]]:
    """Job id → (worker, last update) of every progress row: a running attempt's
    heartbeat (the table holds a row per running job at most)."""
    rows = conn.execute(select(job_progress.c.job_id, job_progress.c.worker,
                               job_progress.c.updated_at))
    return {row.job_id: (row.worker, utc(row.updated_at)) for row in rows}


def presumed_dead(job: PendingJob, signs: Mapping[str, tuple[str, datetime]], now: datetime,
                  lease_seconds: float = LEASE_SECONDS) -> bool:
    """Whether ``job`` needs sending again: it never started after its latest request
    (its message may have died with an in-process broker), its worker is known to be
    gone, or its attempt showed no sign of life (JobStarted, or that worker's progress
    row) for ``lease_seconds``."""
    if job.started_at is None or worker_gone(job.worker, job.started_at):
        return True
    last = utc(job.started_at)
    worker, updated_at = signs.get(job.job_id, ("", last))
    if worker == job.worker:
        last = max(last, updated_at)
    return (now - last).total_seconds() > lease_seconds


def worker_gone(worker: str, started_at: datetime) -> bool:
    """True when ``worker`` (``host:pid:thread``, see job_runner.worker_identity) ran in a
    process on this machine that no longer exists: a restarted embedded server's own
    worker threads, for one. With this process's own pid (a container restarted with the
    same pid) that is an attempt started before this process. Anything else (another
    machine, a live or reused pid) is left to the lease."""
    host, _, rest = worker.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return utc(started_at) < PROCESS_STARTED
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. PermissionError: the process exists, run by someone else
        return False
    return False
