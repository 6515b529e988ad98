"""Read side on SQLite and PostgreSQL: every GET route at two sizes of the log, plus
query latency, projection replay and catch-up lag.

For each backend and each ``--sizes`` (the issue's: 100,000 and 1,000,000 events) a
seeded store (bench/read_store.py, cached on disk between runs) serves the Flask app,
and every GET route of its route table is timed through the test client
(bench/read_routes.py): p50/p95 per route and size, the growth of p95 from the smallest
to the largest size, and the routes over target flagged (p95 < 20 ms; free-text search
< 50 ms within a project, < 100 ms across a person's projects; nothing but free text
may grow more than 1.5x from 100k to 1M events).

On the largest size's store, ``--parts`` adds: p50/p95 of the projection queries
called directly (asset tree of 200 versions, lineage of depth 50, searches, audit,
metrics, review as_of), a full projection replay (events/s per projection and all
together), and the catch-up lag while another process appends at ``--rate`` (this
appends to the store, so its cache is seeded again next run).

    .venv/bin/python bench/read.py [--sizes 100000,1000000] [--backends sqlite,postgres]
        [--samples 50] [--parts routes,queries,replay,lag] [--routes /,/assets] [--reseed]

Seeding 1,000,000 events takes minutes per backend on 2 cores (loading through the event
store's batched append, so the hash chain is real, then a projection replay); later
runs reuse it. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from app import create_app  # noqa: E402
from app.heap import freeze_startup_heap  # noqa: E402
from bench.history import POSTGRES_URL, USERS, WORDS, words  # noqa: E402
from bench.read_routes import time_routes  # noqa: E402
from bench.read_store import CACHE, Seeded, seeded  # noqa: E402
from bench.read_table import growth_table, size_table, where_time_goes  # noqa: E402
from bench.stats import percentile  # noqa: E402
from events.db import make_engine  # noqa: E402
from events.domain import stream_id  # noqa: E402
from events.reviews import CommentAdded  # noqa: E402
from events.store import ANY, EventStore, Metadata  # noqa: E402
from projections import queries  # noqa: E402
from projections.audit_queries import AuditQuery  # noqa: E402
from projections.registry import PROJECTIONS, make_runner  # noqa: E402
from projections.search import SearchQuery  # noqa: E402
from projections.service import run_forever  # noqa: E402

NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
PARTS = ("routes", "queries", "replay", "lag")


def replay(engine) -> None:  # noqa: ANN001
    # As in `lineage projections replay`: no other thread in the process (disposing
    # stops the loader's WAL checkpointer), so a SQLite replay may fork its second fill.
    engine.dispose()
    runner = make_runner(engine)  # replays use the runner's large replay batches
    head = runner.status()[0].head
    started = time.perf_counter()
    for projection in PROJECTIONS:
        t0 = time.perf_counter()
        runner.replay(projection.name)
        took = time.perf_counter() - t0
        print(f"  replay {projection.name:<13} {took:7.1f} s  {head / took:>10,.0f} events/s")
    took = time.perf_counter() - started
    print(f"  replay each in turn  {took:7.1f} s  {head / took:>10,.0f} events/s "
          f"(log of {head:,} events)")
    started = time.perf_counter()
    runner.replay()
    took = time.perf_counter() - started
    print(f"  replay ALL, one pass {took:7.1f} s  {head / took:>10,.0f} events/s")


def append_steadily(url: str, asset_id: str, version_ids: list[str], rate: float,
                    seconds: float, done) -> None:  # noqa: ANN001 - a multiprocessing Value
    """In a process of its own (like API servers beside a runner): comments at ``rate``."""
    store = EventStore(make_engine(url))
    rng = random.Random(3)
    appended = 0
    started = time.perf_counter()
    while (now := time.perf_counter()) - started < seconds:
        while appended < int((now - started) * rate):
            store.append(stream_id("asset", asset_id), ANY, [CommentAdded(
                comment_id=str(uuid.uuid4()), version_id=rng.choice(version_ids),
                author_id=USERS[2], body="steady " + words(rng, 4))],
                Metadata(actor_id=USERS[2]), stream_type="asset")
            appended += 1
        time.sleep(0.001)
    done.value = appended / (time.perf_counter() - started)


def catch_up_lag(store: EventStore, url: str, ids: dict, rate: float, seconds: float,
                 ) -> None:
    """Lag of a runner (in this process) behind a writer process appending steadily."""
    runner = make_runner(store.engine)
    runner.catch_up()
    stop = threading.Event()
    worker = threading.Thread(target=run_forever, args=(runner, store, stop), daemon=True)
    worker.start()
    context = multiprocessing.get_context("spawn")
    achieved = context.Value("d", 0.0)
    writer = context.Process(target=append_steadily, args=(
        url, ids["big_asset"], ids["versions"], rate, seconds, achieved))
    writer.start()
    samples_events, samples_seconds = [], []
    while writer.is_alive():
        status = runner.status()
        samples_events.append(max(s.behind for s in status))
        samples_seconds.append(max(s.lag_seconds for s in status))
        time.sleep(0.1)
    writer.join()
    stop.set()
    worker.join(timeout=30)
    print(f"  catch-up under {achieved.value:,.0f} appends/s (target {rate:,.0f}, another "
          f"process): lag events p50 {percentile(samples_events, 0.50):.0f} "
          f"p95 {percentile(samples_events, 0.95):.0f} max {max(samples_events)}; lag seconds "
          f"p50 {percentile(samples_seconds, 0.50):.3f} "
          f"p95 {percentile(samples_seconds, 0.95):.3f}")


def time_queries(store: EventStore, ids: dict, samples: int) -> None:
    engine = store.engine
    make_runner(engine).catch_up()
    with engine.connect() as conn:
        first, last = conn.execute(text(
            "SELECT min(recorded_at), max(recorded_at) FROM events WHERE stream_id = :s"),
            {"s": stream_id("asset", ids["big_asset"])}).one()
    first = first if isinstance(first, datetime) else datetime.fromisoformat(first)
    last = last if isinstance(last, datetime) else datetime.fromisoformat(last)
    first, last = first.replace(tzinfo=UTC), last.replace(tzinfo=UTC)
    rng = random.Random(11)

    def moment() -> datetime:
        return first + timedelta(seconds=rng.uniform(0, (last - first).total_seconds()))

    cases = {
        "asset tree (200 versions)": lambda: queries.tree(engine, ids["big_asset"]),
        "lineage (depth 50)": lambda: queries.lineage(engine, ids["deep"]),
        "search free text": lambda: queries.find(engine, SearchQuery(
            projects=[ids["project"]], q=f"{rng.choice(WORDS)} {rng.choice(WORDS)}",
            limit=20)),
        "search free text, all projects": lambda: queries.find(engine, SearchQuery(
            projects=None, q=f"{rng.choice(WORDS)} {rng.choice(WORDS)}", limit=20)),
        "search tag + date": lambda: queries.find(engine, SearchQuery(
            projects=[ids["project"]], tags=("campaign/summer-26",),
            created_from=moment(), limit=20)),
        "audit one asset": lambda: queries.audit(engine, AuditQuery(
            projects=[ids["project"]], asset=ids["big_asset"], limit=100)),
        "metrics one project": lambda: queries.project_metrics(engine, ids["project"]),
        "review state as_of": lambda: queries.review(engine, ids["big_asset"], moment()),
    }
    for name, run in cases.items():
        run()  # warm caches
        times = []
        for _ in range(samples):
            t0 = time.perf_counter()
            run()
            times.append((time.perf_counter() - t0) * 1000)
        print(f"  {name:<32} p50 {percentile(times, 0.50):7.2f} ms   "
              f"p95 {percentile(times, 0.95):7.2f} ms")


def run_backend(backend: str, args: argparse.Namespace) -> None:
    name = NAMES[backend]
    timings = {}
    for size in args.sizes:
        print(f"\n== {name}: a store of ~{size:,} events", flush=True)
        store = seeded(backend, size, postgres_url=POSTGRES_URL, reseed=args.reseed)
        try:
            if "routes" in args.parts:
                app = create_app(services=store.services)
                freeze_startup_heap()  # as the servers do (app/wsgi.py, lineage serve)
                timings[size] = time_routes(app, store.services.engine, store.ids,
                                            args.samples, args.routes)
                print(f"  every GET route, {args.samples} requests each (test client, "
                      "signed in):")
                print("\n".join(size_table(size, timings[size], args.samples)), flush=True)
                if len(args.sizes) == 1:
                    print("\n".join(where_time_goes(timings[size])), flush=True)
            if size == args.sizes[-1]:
                more_figures(store, args)
        finally:
            store.close()
    if len(timings) > 1:
        print(f"\n== {name}: growth of every GET route with the log")
        print("\n".join(growth_table(timings)), flush=True)


def more_figures(store: Seeded, args: argparse.Namespace) -> None:
    """The projection queries, replay and catch-up lag on ``store``."""
    services, ids = store.services, store.ids
    if "queries" in args.parts:
        print("  projection queries, called directly:")
        time_queries(services.store, ids, args.samples)
    if "replay" in args.parts:
        replay(services.engine)
    if "lag" in args.parts:
        (CACHE / f"{store.backend}-{store.size}" / "ids.json").unlink()  # it appends
        catch_up_lag(services.store, services.settings.database_url, ids, args.rate,
                     args.lag_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000",
                        help="history sizes in events, comma-separated, smallest first")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--routes", default="",
                        help="time only the routes whose label contains one of these "
                             "comma-separated parts (default: every GET route)")
    parser.add_argument("--parts", default="routes,queries,replay",
                        help=f"any of {','.join(PARTS)}")
    parser.add_argument("--rate", type=float, default=500.0, help="appends/s for catch-up")
    parser.add_argument("--lag-seconds", type=float, default=10.0)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--reseed", action="store_true",
                        help="seed again even where a cached store exists")
    args = parser.parse_args()
    args.sizes = sorted(int(size) for size in args.sizes.split(","))
    # "rebuild" is the part's old name (commands in bench/REPORT.md use it).
    args.parts = {"replay" if part == "rebuild" else part for part in args.parts.split(",")}
    args.routes = tuple(part for part in args.routes.split(",") if part)
    if unknown := args.parts - set(PARTS):
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    for backend in args.backends.split(","):
        run_backend(backend, args)


if __name__ == "__main__":
    main()
