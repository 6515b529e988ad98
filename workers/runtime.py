"""Jobs inside a process: embedded Dramatiq workers and the relay thread.

``lineage serve`` starts both through app/runtime.py BACKGROUND_PARTS: with no broker URL
the relay sends to an in-process broker whose worker threads run the jobs; with
LINEAGE_BROKER_URL set the server only relays and ``lineage worker`` processes run them.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import dramatiq

from events.assets import TIERS
from imaging.blobs import BlobStore
from workers.actors import declare_job_actors
from workers.broker import all_queue_names, make_broker, queue_prefix
from workers.job_runner import JobContext
from workers.relay import Relay
from workers.warm import warm_up

log = logging.getLogger(__name__)

STOP_TIMEOUT_MS = 30_000
WORKER_TIMEOUT_MS = 250


class JobWorkers:
    """A Dramatiq Worker (consumer + worker threads) running job actors on one broker."""

    def __init__(
        self,
        broker: dramatiq.Broker,
        context: JobContext,
        prefix: str,
        *,
        threads: int,
        queues: list[str] | None = None,
    ) -> None:
        self.broker = broker
        self.prefix = prefix
        self.actors = declare_job_actors(broker, context, prefix)
        wanted = set(queues) if queues else set(all_queue_names(prefix))
        self.worker = dramatiq.Worker(
            broker, queues=wanted, worker_threads=threads, worker_timeout=WORKER_TIMEOUT_MS
        )

    def start(self) -> JobWorkers:
        # Dramatiq's own CLI emits process_boot; without it the TimeLimit middleware
        # never starts its watchdog and time limits are silently not enforced.
        self.broker.emit_after("process_boot")
        self.worker.start()
        return self

    def join(self) -> None:
        """Wait until every queued message (delayed retries included) was processed."""
        self.worker.join()

    def stop(self) -> None:
        self.worker.stop(timeout=STOP_TIMEOUT_MS)


class RelayThread:
    """Runs :meth:`Relay.run` on a daemon thread until :meth:`stop`."""

    def __init__(self, relay: Relay, poll_seconds: float = 0.5) -> None:
        self.relay = relay
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=relay.run, args=(self._stop, poll_seconds), name="lineage-relay", daemon=True
        )

    def start(self) -> RelayThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)
        self.relay.close()


# The embedded broker is shared by the two background parts of one server process.
_embedded_lock = threading.Lock()
_embedded_broker: dramatiq.Broker | None = None


def embedded_broker() -> dramatiq.Broker:
    """This process's in-process broker (created once)."""
    global _embedded_broker
    with _embedded_lock:
        if _embedded_broker is None:
            _embedded_broker = make_broker(None)
        return _embedded_broker


def job_context(services: Any) -> JobContext:
    """The worker context of an app Services (its store and blob store)."""
    return JobContext(store=services.store, blobs=BlobStore(services.settings.blob_dir))


def start_workers(services: Any) -> JobWorkers | None:
    """Background part: embedded worker threads, or None when a broker URL is set."""
    settings = services.settings
    if settings.broker_url:
        return None
    workers = JobWorkers(
        embedded_broker(),
        job_context(services),
        queue_prefix(),
        threads=max(1, settings.embedded_worker_threads),
    )
    # Load the tiers' models beside the server's start rather than in the first job (a
    # job arriving meanwhile waits for the same load instead of starting another).
    threading.Thread(target=_warm_embedded, args=(services.store,), name="lineage-warm",
                     daemon=True).start()
    return workers.start()


def _warm_embedded(store: Any) -> None:  # noqa: ANN401
    try:
        loaded = warm_up(store, list(TIERS))
    except Exception:  # noqa: BLE001 - the first job will say what is wrong
        log.warning("could not load the tiers' models at start", exc_info=True)
        return
    log.info("embedded workers warm: %d pipeline(s) loaded",
             len({(m["kind"], m["spec"]) for m in loaded}))


def start_relay(services: Any) -> RelayThread:
    """Background part: the relay, to the embedded broker or to RabbitMQ."""
    url = services.settings.broker_url
    broker = make_broker(url, confirm_delivery=True, set_global=False) if url else embedded_broker()
    return RelayThread(Relay(services.store, broker, queue_prefix())).start()
