"""The projection runner as a long-running part: a thread inside ``lineage serve``
(embedded) or the loop of ``lineage projections run`` (distributed)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from events.store import EventStore
from projections.registry import make_runner
from projections.runner import ProjectionRunner

log = logging.getLogger(__name__)
IDLE_WAIT_SECONDS = 0.1
"""How often an idle runner looks for appends by other processes (one cheap query)."""
ERROR_BACKOFF_SECONDS = 2.0


def run_forever(runner: ProjectionRunner, store: EventStore, stop: threading.Event,
                names: Iterable[str] | None = None) -> None:
    """Catch up, then wait for appends (signalled in-process, polled otherwise) until
    ``stop`` is set. A failing batch is logged and retried: its transaction rolled back,
    so nothing was half applied."""
    names = list(names) if names else None
    while not stop.is_set():
        try:
            applied = runner.catch_up(names)
        except Exception:  # noqa: BLE001 - keep serving; the batch rolled back
            log.exception("projection catch-up failed; retrying")
            stop.wait(ERROR_BACKOFF_SECONDS)
            continue
        if not applied:
            # Signalled at once for appends in this process; other processes' appends
            # are picked up by the next poll.
            store.wait_for_append(store.head().position, IDLE_WAIT_SECONDS)


class BackgroundProjections:
    """A daemon thread running every projection; ``stop()`` ends it."""

    def __init__(self, runner: ProjectionRunner, store: EventStore) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=run_forever, name="projections",
                                        args=(runner, store, self._stop), daemon=True)

    def start(self) -> BackgroundProjections:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def start(services) -> BackgroundProjections:  # noqa: ANN001 - app.services.Services
    """``app.runtime`` entry: run the projections inside this process."""
    runner = make_runner(services.engine)
    runner.create_missing()
    return BackgroundProjections(runner, services.store).start()
