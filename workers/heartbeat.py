"""One thread per worker process keeps its running jobs' progress rows fresh.

A restarted relay takes a started job that has shown no sign of life (JobStarted or a
progress row) for its lease (``relay.LEASE_SECONDS``) for one whose worker died, and
sends it again. A job inside one long step reports no progress, so something else must
show it is alive: one shared daemon thread does it for every running job of the
process (a thread of its own per job would cost each short draft a thread start).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import Protocol

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 20.0
"""A running job's progress row is rewritten when this long passed without a write."""
TICK_SECONDS = 1.0
"""The longest the thread sleeps between looks (so a beat is at most this late)."""


class Beating(Protocol):
    def beat_if_quiet(self, seconds: float) -> None:
        """Rewrite the job's progress row unless it was written in the last ``seconds``."""


class Heartbeats:
    """The running jobs of this process and the thread (started on first use) that
    calls their ``beat_if_quiet`` every few seconds."""

    def __init__(self) -> None:
        self._running: set[Beating] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def keep_alive(self, job: Beating) -> Iterator[None]:
        """Beat for ``job`` while the block runs. A beat already under way may still
        finish after the block: ``job`` itself must refuse beats once it is done."""
        with self._lock:
            self._running.add(job)
            if self._thread is None or not self._thread.is_alive():  # also after a fork
                self._thread = threading.Thread(target=self._beat, name="job-heartbeats",
                                                daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._running.discard(job)

    def _beat(self) -> None:
        while True:
            seconds = HEARTBEAT_SECONDS  # read each time: tests shorten it
            time.sleep(min(seconds / 4, TICK_SECONDS))
            with self._lock:
                running = list(self._running)
            for job in running:
                try:
                    job.beat_if_quiet(seconds)
                except Exception:  # noqa: BLE001 - one job's trouble must not stop the beat
                    log.warning("heartbeat failed", exc_info=True)


HEARTBEATS = Heartbeats()
