"""What one attempt of a job reports while it runs, and how it hears it must stop.

:class:`AttemptProgress` is the sink a job runner reports its steps to: it writes the
ephemeral progress row (commands/job_progress.py), keeps the row fresh through the
heartbeat while a long step runs, adds up the seconds the attempt computed
(:class:`ComputeMeter`: what a failed, timed-out or cancelled job costs), and between
steps looks whether the job was cancelled, raising :class:`StopRequested` if so.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from commands.job_progress import clear_progress, write_progress
from workers.heartbeat import HEARTBEATS

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_SECONDS = 0.25
STOP_CHECK_SECONDS = 0.5
"""How often (at most) a running job looks for a request to stop, between two steps: a
job shorter than this never looks, so short drafts pay nothing for cancellation."""


class StopRequested(Exception):
    """Raised from a step's progress callback: the job was cancelled while it ran."""


class ComputeMeter:
    """The seconds one attempt of a job has computed so far: every step it ran, also
    one that stopped part way. What a failed, timed-out or cancelled job costs."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def add(self, seconds: float) -> None:
        self.seconds += seconds


class ProgressSink(Protocol):
    """What a job runner reports to while it runs: denoising steps done of the total
    (``sink(step, total)``) and the seconds each step computed (``sink.computed``, the
    ``on_compute`` of workers/operations.run_step)."""

    def __call__(self, step: int, total: int) -> None: ...

    def computed(self, seconds: float) -> None: ...


def chain_progress(
    sink: ProgressSink, planned: Sequence[int], index: int
) -> Callable[[int, int], None]:
    """The progress callback for step ``index`` of a multi-step job whose steps run
    ``planned`` denoising steps each: it reports the whole job's steps done of its total
    (and so lets a cancellation stop the job inside any of its steps)."""
    done, size, total = sum(planned[:index]), planned[index], sum(planned)

    def report(step: int, _steps: int) -> None:
        sink(done + min(step, size), total)

    return report


class AttemptProgress:
    """Writes step i of n at most every PROGRESS_INTERVAL_SECONDS, the first time only
    that long after the start: a job shorter than that writes no row at all, which
    keeps progress from costing short drafts three extra write transactions. While
    :meth:`heartbeat` runs, the process's heartbeat thread rewrites a quiet row, but only
    while the job makes progress: a heartbeat proves the process lives, not the job. When
    no step advanced within the stall bound (:meth:`stall_seconds`) the beats stop and
    ``on_stall`` records the job as failed (retryable), so a hung step cannot hold its job
    for ever behind a beating thread. Between steps it asks ``stop_asked`` (at most every
    STOP_CHECK_SECONDS) and raises StopRequested when the job was cancelled; ``computed``
    adds to the attempt's meter."""

    def __init__(
        self,
        engine: Engine,
        job_id: str,
        worker: str,
        meter: ComputeMeter,
        *,
        stale: bool,
        stop_asked: Callable[[], bool] = lambda: False,
        first_step_seconds: float = float("inf"),
        stall_factor: float = 10.0,
        stall_floor_seconds: float = 120.0,
        on_stall: Callable[[str], object] | None = None,
    ) -> None:
        self.engine, self.job_id, self.worker, self.meter = engine, job_id, worker, meter
        self._asked = stop_asked
        self.last = self.last_stop_check = self.advanced_at = time.monotonic()
        self.row_may_exist = stale
        self.step = self.total = 0
        self.slowest_step = 0.0
        self.first_step_seconds = first_step_seconds
        self.stall_factor, self.stall_floor_seconds = stall_factor, stall_floor_seconds
        self.on_stall = on_stall
        self._beats = threading.Lock()
        self._beating = False
        self._unreported_stall: str | None = None
        """A stall found but not yet recorded as the job's failure."""

    def stall_seconds(self) -> float:
        """How long the job may go without its step advancing: its time limit before the
        first step (model loading), then stall_factor times its slowest step so far."""
        if self.step == 0:
            return self.first_step_seconds
        return max(self.stall_floor_seconds, self.stall_factor * self.slowest_step)

    def computed(self, seconds: float) -> None:
        self.meter.add(seconds)

    def __call__(self, step: int, total: int) -> None:
        """Step ``step`` of ``total`` is done; raises StopRequested when the job was
        cancelled meanwhile (looked up at most every STOP_CHECK_SECONDS)."""
        # Under the heartbeat's lock: the beat thread must not write this row at the
        # same moment (two write transactions on one row) or read a half-set step.
        with self._beats:
            now = time.monotonic()
            if step != self.step:
                self.slowest_step = max(self.slowest_step, now - self.advanced_at)
                self.advanced_at = now
            self.step, self.total = step, total
            if now - self.last >= PROGRESS_INTERVAL_SECONDS:
                self.last = now
                self._write()
        if now - self.last_stop_check >= STOP_CHECK_SECONDS:
            self.last_stop_check = now
            if self._stop_asked():
                raise StopRequested(self.job_id)

    def stop_asked(self) -> bool:
        """Whether the job was asked to stop (looked up now; False when the database
        cannot say)."""
        return self._stop_asked()

    def _stop_asked(self) -> bool:
        try:
            return self._asked()
        except (OperationalError, InterfaceError):
            log.debug("job %s: could not look for a request to stop", self.job_id, exc_info=True)
            return False

    def _write(self) -> None:
        try:
            write_progress(self.engine, self.job_id, self.step, self.total, self.worker)
            self.row_may_exist = True
        except (OperationalError, InterfaceError):
            log.debug("job %s: progress not written", self.job_id, exc_info=True)

    def beat_if_quiet(self, seconds: float) -> None:
        with self._beats:
            if self._beating:
                reason = self._stall_reason()
                if reason is None:
                    if time.monotonic() - self.last >= seconds:
                        self.last = time.monotonic()
                        self._write()
                    return
                self._beating = False  # a stalled attempt shows no more signs of life
                self._unreported_stall = reason
                log.warning("job %s stalled: %s", self.job_id, reason)
            reason, self._unreported_stall = self._unreported_stall, None
        if reason is not None and self.on_stall is not None:
            try:
                self.on_stall(reason)
            except Exception:
                with self._beats:  # tried again at the next beat (the database may be down)
                    self._unreported_stall = reason
                raise

    def _stall_reason(self) -> str | None:
        """Why the job counts as stalled (its step did not advance within
        :meth:`stall_seconds`), or None while it makes progress."""
        still, allowed = time.monotonic() - self.advanced_at, self.stall_seconds()
        if still <= allowed:
            return None
        return (f"the job made no progress for {still:.0f} s at step {self.step} of "
                f"{self.total} (allowed {allowed:.0f} s; its slowest step took "
                f"{self.slowest_step:.1f} s): its worker {self.worker} seems hung; retry the job")

    @contextlib.contextmanager
    def heartbeat(self) -> Iterator[None]:
        """Keep the row fresh (workers/heartbeat.py) while the block runs; no beat
        lands after it, so :meth:`clear` afterwards leaves no row behind."""
        self._beating = True
        try:
            with HEARTBEATS.keep_alive(self):
                yield
        finally:
            with self._beats:
                self._beating = False

    def clear(self) -> None:
        if not self.row_may_exist:
            return
        try:
            clear_progress(self.engine, self.job_id)
        except (OperationalError, InterfaceError):
            log.debug("job %s: progress not cleared", self.job_id, exc_info=True)
