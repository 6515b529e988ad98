"""``lineage worker`` (job worker processes on RabbitMQ) and ``lineage relay``.

Distributed mode (LINEAGE_BROKER_URL set): the server relays job requests to RabbitMQ and
``lineage worker`` processes, on this or other machines sharing the database and blob
store, run them. ``lineage relay`` runs a relay without a server.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from pathlib import Path

from app.cli import silence_library_noise
from app.config import Settings
from app.services import build_services
from events.assets import TIERS

log = logging.getLogger(__name__)
RESTART_DELAY_SECONDS = 1.0


def _quiet_pika() -> None:
    # pika logs every connection step at INFO; outages still show as warnings.
    logging.getLogger("pika").setLevel(logging.WARNING)


def register(sub: argparse._SubParsersAction) -> None:
    worker = sub.add_parser("worker", help="run job worker processes (needs LINEAGE_BROKER_URL)")
    worker.add_argument("--processes", type=int, default=1, help="worker processes (default 1)")
    worker.add_argument(
        "--threads", type=int, default=1, help="job threads per process (default 1)"
    )
    worker.add_argument(
        "--queues",
        nargs="+",
        metavar="QUEUE",
        help="queues or tiers to take, e.g. 'final' or 'lineage.final' (default: all)",
    )
    worker.add_argument(
        "--with-relay",
        action="store_true",
        help="also run a relay in this worker (the server normally does)",
    )
    worker.add_argument(
        "--ready-file",
        default=os.environ.get("LINEAGE_WORKER_READY_FILE") or None,
        metavar="PATH",
        help="write PATH once the tiers' models are loaded (PATH.1, PATH.2… with "
        "--processes); `lineage worker-ready PATH` checks it (default: "
        "LINEAGE_WORKER_READY_FILE)",
    )
    worker.set_defaults(func=_worker)
    check = sub.add_parser("worker-ready", help="exit 0 when a worker's readiness file names "
                                                "a running worker with its models loaded")
    check.add_argument("ready_file", metavar="PATH")
    check.set_defaults(func=_worker_ready)
    relay = sub.add_parser("relay", help="relay job requests from the event store to RabbitMQ")
    relay.add_argument(
        "--poll", type=float, default=0.2, help="seconds between looks at the log (default 0.2)"
    )
    relay.set_defaults(func=_relay)


def _worker(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if not settings.broker_url:
        print(
            "lineage worker needs LINEAGE_BROKER_URL (amqp://…); without it jobs run "
            "inside `lineage serve`.",
            file=sys.stderr,
        )
        return 2
    if args.processes < 1 or args.threads < 1:
        print("--processes and --threads must be at least 1", file=sys.stderr)
        return 2
    if args.processes == 1:
        return run_worker_process(args.threads, args.queues, args.with_relay, args.ready_file)
    return _supervise(args)


def _worker_ready(args: argparse.Namespace) -> int:
    from workers.warm import ready

    ok, why = ready(Path(args.ready_file))
    print(why, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


def run_worker_process(threads: int, queues: list[str] | None, with_relay: bool,
                       ready_file: str | None = None) -> int:
    """One worker process: load the tiers' models, say it is ready, consume until
    SIGTERM/SIGINT, then finish running jobs."""
    # Imported here, not at the top: the workers pull in torch, and every other
    # `lineage` command should start without paying for it.
    from workers.broker import make_broker, queue_name, queue_prefix
    from workers.models import ModelUnavailable
    from workers.relay import Relay
    from workers.runtime import JobWorkers, RelayThread, job_context
    from workers.warm import tiers_of_queues, warm_up, write_ready_file

    _quiet_pika()
    settings = Settings.from_env()
    services = build_services(settings)
    prefix = queue_prefix()
    wanted = [queue_name(prefix, q) if q in TIERS else q for q in queues or []]
    tiers = tiers_of_queues(queues, TIERS)
    try:
        loaded = warm_up(services.store, tiers)
    except ModelUnavailable as exc:
        print(f"lineage worker cannot load its models: {exc.detail}", file=sys.stderr)
        services.close()
        return 3
    broker = make_broker(settings.broker_url)
    workers = JobWorkers(
        broker, job_context(services), prefix, threads=threads, queues=wanted or None
    ).start()
    relay = None
    if with_relay:
        relay_broker = make_broker(settings.broker_url, confirm_delivery=True, set_global=False)
        relay = RelayThread(Relay(services.store, relay_broker, prefix)).start()
    if ready_file:
        write_ready_file(Path(ready_file), tiers, loaded)
    print(
        f"lineage worker ready: {threads} thread(s) on {', '.join(wanted) or prefix + '.*'}, "
        f"{len({(m['kind'], m['spec']) for m in loaded})} pipeline(s) loaded",
        flush=True,
    )
    _wait_for_signal()
    if ready_file:
        Path(ready_file).unlink(missing_ok=True)
    if relay is not None:
        relay.stop()
    workers.stop()
    broker.close()
    services.close()
    return 0


def _relay(args: argparse.Namespace) -> int:
    from workers.broker import make_broker, queue_prefix
    from workers.relay import Relay
    from workers.runtime import RelayThread

    settings = Settings.from_env()
    if not settings.broker_url:
        print(
            "lineage relay needs LINEAGE_BROKER_URL; the embedded server relays itself.",
            file=sys.stderr,
        )
        return 2
    _quiet_pika()
    services = build_services(settings)
    broker = make_broker(settings.broker_url, confirm_delivery=True, set_global=False)
    relay = RelayThread(Relay(services.store, broker, queue_prefix()), args.poll).start()
    print("lineage relay running", flush=True)
    _wait_for_signal()
    relay.stop()
    broker.close()
    services.close()
    return 0


def _wait_for_signal() -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass


def _supervise(args: argparse.Namespace) -> int:
    """Run ``--processes`` worker processes; restart any that dies; stop all on a signal."""
    context = multiprocessing.get_context("spawn")

    def spawn(index: int) -> multiprocessing.Process:
        ready_file = f"{args.ready_file}.{index + 1}" if args.ready_file else None
        process = context.Process(
            target=_child, args=(args.threads, args.queues, args.with_relay, ready_file),
            daemon=False,
        )
        process.start()
        return process

    children = [spawn(index) for index in range(args.processes)]
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    while not stopping.wait(RESTART_DELAY_SECONDS):
        for index, child in enumerate(children):
            if not child.is_alive():
                log.warning("worker process %s exited (%s); restarting", child.pid, child.exitcode)
                children[index] = spawn(index)
    for child in children:
        child.terminate()  # SIGTERM: each finishes its running jobs
    deadline = time.monotonic() + 60
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
    return 0


def _child(threads: int, queues: list[str] | None, with_relay: bool,
           ready_file: str | None) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"
    )
    silence_library_noise()  # a spawned process does not run the CLI's main()
    sys.exit(run_worker_process(threads, queues, with_relay, ready_file))
