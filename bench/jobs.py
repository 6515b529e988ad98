"""Job system figures, embedded (SQLite + in-process broker) and RabbitMQ (+ PostgreSQL).

Prints per mode:
- job overhead: request committed → completion committed, minus the pipeline's own
  seconds, p50/p95 over ``--jobs`` 64x64 4-step drafts requested one after another
  (so no job waits for a busy worker);
- drafts per minute: ``--burst`` such drafts requested at once, default worker threads;
- relay throughput: ``--relay-jobs`` requests relayed per second with no worker attached.

    .venv/bin/python bench/jobs.py [--jobs 200] [--burst 60] [--relay-jobs 5000]
                                   [--modes embedded,rabbitmq]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pika  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench.stats import percentile  # noqa: E402
from commands.jobs import load_job  # noqa: E402
from events.db import make_engine, normalise_url  # noqa: E402
from events.domain import stream_id  # noqa: E402
from events.jobs import JobCompleted, JobRequested, JobStarted  # noqa: E402
from events.migrate import upgrade  # noqa: E402
from events.store import NO_STREAM, EventStore, Metadata, StreamAppend  # noqa: E402
from imaging.blobs import BlobStore  # noqa: E402
from tests.integration.jobs_support import (  # noqa: E402
    new_project,
    request_job,
    tiny_recipe,
    wait_finished,
)
from workers.broker import all_queue_names, make_broker, ping_broker  # noqa: E402
from workers.job_runner import JobContext  # noqa: E402
from workers.relay import Relay  # noqa: E402
from workers.runtime import JobWorkers, RelayThread  # noqa: E402

POSTGRES_URL = os.environ.get(
    "LINEAGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
RABBITMQ_URL = os.environ.get("LINEAGE_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
DEFAULT_THREADS = 2  # LINEAGE_WORKER_THREADS' default


def overhead_ms(store: EventStore, job_id: str) -> tuple[float, float]:
    """(overhead, of which dispatch: request committed → JobStarted committed) in ms."""
    history = store.read_stream(stream_id("job", job_id))
    requested = history[0].recorded_at
    started = next(r for r in history if isinstance(r.event, JobStarted))
    done = next(r for r in history if isinstance(r.event, JobCompleted))
    elapsed = (done.recorded_at - requested).total_seconds()
    dispatch = (started.recorded_at - requested).total_seconds()
    return (elapsed - done.event.cost_seconds) * 1000, dispatch * 1000


class Mode:
    """One way of running jobs: a store, a broker for workers and one for the relay."""

    def __init__(self, name: str, url: str, broker_url: str | None, data: Path) -> None:
        self.name = name
        self.engine = make_engine(url)
        upgrade(self.engine)
        self.store = EventStore(self.engine)
        self.context = JobContext(self.store, BlobStore(data / "blobs"))
        self.broker_url = broker_url
        self.prefix = f"lineage_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.user = str(uuid.uuid4())
        self.project, self.asset = new_project(self.store, self.user)

    def start(self, workers: bool = True) -> tuple[JobWorkers | None, RelayThread]:
        if self.broker_url is None:
            broker = make_broker(None, set_global=False)
            relay_broker = broker
        else:
            broker = make_broker(self.broker_url, set_global=False)
            relay_broker = make_broker(self.broker_url, confirm_delivery=True, set_global=False)
        if not workers:  # declare the queues, run no consumer
            for name in all_queue_names(self.prefix):
                broker.declare_queue(name)
        running = (
            JobWorkers(broker, self.context, self.prefix, threads=DEFAULT_THREADS).start()
            if workers
            else None
        )
        relay = RelayThread(Relay(self.store, relay_broker, self.prefix), 0.5).start()
        return running, relay

    def request(self, seed: int) -> str:
        return request_job(
            self.store, self.project, self.asset, self.user, tiny_recipe(seed=seed, steps=4)
        )

    def close(self) -> None:
        if self.broker_url is not None:
            connection = pika.BlockingConnection(pika.URLParameters(self.broker_url))
            channel = connection.channel()
            for name in all_queue_names(self.prefix):
                for queue in (name, f"{name}.DQ", f"{name}.XQ"):
                    channel.queue_delete(queue)
            connection.close()
        self.engine.dispose()


def bench_overhead_and_rate(mode: Mode, jobs: int, burst: int) -> None:
    workers, relay = mode.start()
    try:
        # Warm-up: the model loads once per process.
        wait_finished(mode.store, [mode.request(0)], timeout=300)
        overheads, dispatches = [], []
        for seed in range(1, jobs + 1):
            job_id = mode.request(seed)
            wait_until_finished(mode.store, job_id)
            overhead, dispatch = overhead_ms(mode.store, job_id)
            overheads.append(overhead)
            dispatches.append(dispatch)
        print(
            f"{mode.name:9} overhead over {jobs} jobs: p50 {percentile(overheads, 0.5):.1f} ms,"
            f" p95 {percentile(overheads, 0.95):.1f} ms, max {max(overheads):.1f} ms"
            f" (of which dispatch, request to JobStarted: p50"
            f" {percentile(dispatches, 0.5):.1f} ms, p95 {percentile(dispatches, 0.95):.1f} ms)"
        )
        started = time.perf_counter()
        job_ids = [mode.request(10_000 + i) for i in range(burst)]
        wait_finished(mode.store, job_ids, timeout=600)
        minutes = (time.perf_counter() - started) / 60
        print(
            f"{mode.name:9} drafts per minute ({burst} at once, {DEFAULT_THREADS} threads): "
            f"{burst / minutes:.0f}"
        )
    finally:
        relay.stop()
        if workers is not None:
            workers.stop()


def wait_until_finished(store: EventStore, job_id: str) -> None:
    # Tight polling: the figure measured is the commit times recorded by the store, so
    # the poll interval does not distort it; it only paces the next request.
    deadline = time.monotonic() + 120
    while not load_job(store, job_id)[0].finished:
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} did not finish")
        time.sleep(0.002)


def bench_relay(mode: Mode, count: int) -> None:
    appends = []
    for i in range(count):
        job_id = str(uuid.uuid4())
        appends.append(
            StreamAppend(
                stream_id("job", job_id),
                "job",
                NO_STREAM,
                [
                    JobRequested(
                        job_id=job_id,
                        kind="generate",
                        project_id=mode.project,
                        asset_id=mode.asset,
                        requested_by=mode.user,
                        recipe=tiny_recipe(seed=i),
                    )
                ],
            )
        )
    for start in range(0, count, 500):
        mode.store.append_streams(appends[start : start + 500], Metadata(actor_id=mode.user))
    relay_broker = (
        make_broker(None, set_global=False)
        if mode.broker_url is None
        else make_broker(mode.broker_url, confirm_delivery=True, set_global=False)
    )
    for name in all_queue_names(mode.prefix):
        relay_broker.declare_queue(name)
    relay = Relay(mode.store, relay_broker, mode.prefix, name=f"bench-{mode.prefix}")
    relay.checkpoint()
    head = mode.store.head().position
    relay.relay_once()  # the first round pays for connecting; time the steady state
    started = time.perf_counter()
    sent = 0
    while relay.checkpoint() < head:
        sent += relay.relay_once()
    seconds = time.perf_counter() - started
    print(
        f"{mode.name:9} relay throughput (no workers): {sent / seconds:,.0f} jobs/s "
        f"({sent} requests in {seconds:.2f} s)"
    )
    if mode.broker_url is not None:
        relay_broker.close()


def postgres_schema_url() -> tuple[str, str]:
    schema = f"bench_jobs_{os.getpid()}"
    admin = create_engine(normalise_url(POSTGRES_URL))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{normalise_url(POSTGRES_URL)}{sep}options=-csearch_path%3D{schema}", schema


def drop_schema(schema: str) -> None:
    admin = create_engine(normalise_url(POSTGRES_URL))
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--burst", type=int, default=60)
    parser.add_argument("--relay-jobs", type=int, default=5000)
    parser.add_argument("--modes", default="embedded,rabbitmq")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lineage-bench-jobs-") as tmp:
        data = Path(tmp)
        os.environ["LINEAGE_DATA_DIR"] = str(data)  # the built-in model is built here
        for name in args.modes.split(","):
            if name == "embedded":
                url, broker_url, schema = f"sqlite:///{data / 'embedded.db'}", None, None
            else:
                ok, detail = ping_broker(RABBITMQ_URL)
                if not ok:
                    print(f"rabbitmq  skipped: {detail}")
                    continue
                url, schema = postgres_schema_url()
                broker_url = RABBITMQ_URL
            mode = Mode(name, url, broker_url, data)
            try:
                bench_overhead_and_rate(mode, args.jobs, args.burst)
                bench_relay(mode, args.relay_jobs)
            finally:
                mode.close()
                if schema:
                    drop_schema(schema)
    return 0


if __name__ == "__main__":
    sys.exit(main())
