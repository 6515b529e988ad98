"""Background parts of ``lineage serve``: the relay, embedded workers, projection runner.

Each area provides a ``start(services) -> Stoppable`` and is listed here; the embedded
default runs all of them inside the server process.
"""

from __future__ import annotations

import importlib
import logging
from typing import Protocol

from app.services import Services

log = logging.getLogger(__name__)


class Stoppable(Protocol):
    def stop(self) -> None: ...


# (module, function): each takes Services and returns a Stoppable, or None when the
# part does not run in this mode (e.g. embedded workers with a broker URL set).
BACKGROUND_PARTS: tuple[tuple[str, str], ...] = (
    ("workers.runtime", "start_workers"),  # before the relay: it declares the queues
    ("workers.runtime", "start_relay"),
    ("projections.service", "start"),
)


def start_background(services: Services) -> list[Stoppable]:
    started: list[Stoppable] = []
    for module, function in BACKGROUND_PARTS:
        part = getattr(importlib.import_module(module), function)(services)
        if part is not None:
            started.append(part)
            log.info("started %s.%s", module, function)
    return started


def stop_background(parts: list[Stoppable]) -> None:
    for part in reversed(parts):
        part.stop()
