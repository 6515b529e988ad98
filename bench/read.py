"""Read side on SQLite and PostgreSQL: projection rebuild, catch-up lag, query latency.

Loads a synthetic history shaped like the issue's (per 1,000,000 events: 200 projects,
20,000 assets, 200,000 versions, comments and decisions; plus one asset with a tree of
200 versions whose first 51 form a lineage chain of depth 50), then prints:

- full projection rebuild events/s (per projection and all together),
- catch-up lag (events and seconds) while a writer appends at a steady rate,
- p50/p95 of: asset tree (200 versions), lineage (depth 50), search by free text,
  search by tag + date, audit of one asset, metrics of one project, review state as_of.

    .venv/bin/python bench/read.py [--events 50000] [--backends sqlite,postgres]

The issue's full size is ``--events 1000000`` (on 2 cores: loading takes about two
minutes per backend, through the event store's batched append so the hash chain is
real); the default 50,000 finishes in minutes. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

from bench.stats import percentile  # noqa: E402
from events import domain  # noqa: E402, F401
from events.assets import AssetCreated, VersionCreated  # noqa: E402
from events.db import make_engine, normalise_url  # noqa: E402
from events.domain import stream_id  # noqa: E402
from events.migrate import upgrade  # noqa: E402
from events.projects import ComputeUsed, MemberRoleSet, ProjectCreated  # noqa: E402
from events.reviews import (  # noqa: E402
    CommentAdded,
    CommentResolved,
    DecisionRecorded,
    DecisionRevoked,
    VersionPinned,
)
from events.store import ANY, EventStore, Metadata, StreamAppend  # noqa: E402
from projections import queries  # noqa: E402
from projections.audit_queries import AuditQuery  # noqa: E402
from projections.registry import PROJECTIONS, make_runner  # noqa: E402
from projections.search import SearchQuery  # noqa: E402
from projections.service import run_forever  # noqa: E402

POSTGRES_URL = os.environ.get("LINEAGE_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
WORDS = ("fox", "owl", "heron", "otter", "lynx", "river", "forest", "snow", "dune", "neon",
         "city", "rain", "sunset", "dawn", "portrait", "poster", "banner", "teal", "amber",
         "crimson", "violet", "golden", "misty", "cinematic", "macro", "wide", "aerial",
         "studio", "soft", "hard", "light", "shadow", "glass", "paper", "clay", "bronze",
         "marble", "minimal", "bold", "retro", "modern", "summer", "winter", "autumn",
         "spring", "harbor", "market", "garden")
TAGS = ["campaign/summer-26/social", "campaign/summer-26/print", "campaign/autumn-26/ooh",
        "brand/core", "brand/seasonal/holiday", "product/shoes", "product/bags", "hero"]
USERS = [str(uuid.uuid4()) for _ in range(40)]
BATCH_EVENTS = 600


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def asset_history(rng: random.Random, project_id: str, n_versions: int, *,
                  chain: int = 0) -> tuple[StreamAppend, list[str]]:
    """One asset's stream: creation, versions (first ``chain`` in a line), comments,
    resolutions, decisions (some revoked), a pin. ~4.9 events per version."""
    asset_id = str(uuid.uuid4())
    events = [AssetCreated(asset_id=asset_id, project_id=project_id, name=words(rng, 2),
                           brief=words(rng, 8), tags=rng.sample(TAGS, 2))]
    ids, version_ids = [asset_id], []
    prompt = words(rng, 7)
    for n in range(n_versions):
        version_id = str(uuid.uuid4())
        if chain and n < chain:
            parents = version_ids[-1:]
        else:
            parents = [rng.choice(version_ids)] if version_ids and rng.random() < 0.6 else []
        final = n == n_versions - 1
        events.append(VersionCreated(
            version_id=version_id, asset_id=asset_id, author_id=rng.choice(USERS),
            operation="upscale" if final else ("img2img" if parents else "generate"),
            tier="final" if final else "draft", content_hash=uuid.uuid4().hex * 2,
            width=512, height=512, parent_ids=parents, cost_seconds=rng.uniform(1, 9),
            recipe={"prompt": prompt + " " + words(rng, 2), "seed": rng.randrange(2**31),
                    "model_id": rng.choice(("tiny-sd", "sdxl", "flux")), "steps": 20}))
        ids.append(version_id)
        version_ids.append(version_id)
        for _ in range(rng.choice((1, 2, 3, 4))):
            comment_id = str(uuid.uuid4())
            events.append(CommentAdded(comment_id=comment_id, version_id=version_id,
                                       author_id=rng.choice(USERS), body=words(rng, 6)))
            ids.append(comment_id)
            if rng.random() < 0.2:
                events.append(CommentResolved(comment_id=comment_id, version_id=version_id))
        if final or rng.random() < 0.15:
            decision_id = str(uuid.uuid4())
            events.append(DecisionRecorded(
                decision_id=decision_id, version_id=version_id,
                decision="approved" if final else "changes_requested",
                content_hash="0" * 64, reviewer_id=rng.choice(USERS), role="reviewer",
                channel="social"))
            ids.append(decision_id)
            if rng.random() < 0.05:
                events.append(DecisionRevoked(decision_id=decision_id, version_id=version_id,
                                              revoked_by=rng.choice(USERS), reason="bench"))
        if rng.random() < 0.05:
            pin_id = str(uuid.uuid4())
            events.append(VersionPinned(pin_id=pin_id, version_id=version_id, label="agreed",
                                        pinned_by=rng.choice(USERS)))
            ids.append(pin_id)
    return (StreamAppend(stream_id("asset", asset_id), "asset", ANY, events, ids),
            [asset_id, *version_ids])


def load(store: EventStore, total: int, seed: int = 7) -> dict:
    """Append about ``total`` events; returns ids the queries use."""
    rng = random.Random(seed)
    scale = total / 1_000_000
    n_projects = max(2, round(200 * scale))
    n_assets = max(4, round(20_000 * scale))
    projects = [str(uuid.uuid4()) for _ in range(n_projects)]
    pending, size = [], 0
    for project_id in projects:
        pending.append(StreamAppend(stream_id("project", project_id), "project", ANY,
                       [ProjectCreated(project_id=project_id, name=words(rng, 2))]
                       + [MemberRoleSet(user_id=u, role="reviewer") for u in USERS[:5]]))
    store.append_streams(pending, Metadata(actor_id=USERS[0]))
    big, big_ids = asset_history(rng, projects[0], 200, chain=51)
    store.append_streams([big], Metadata(actor_id=USERS[0]))
    pending, compute = [], {}

    def flush() -> None:
        # One append per project stream per transaction (its versions must not collide).
        pending.extend(StreamAppend(stream_id("project", project), "project", ANY, used)
                       for project, used in compute.items())
        store.append_streams(pending, Metadata(actor_id=rng.choice(USERS)))
        pending.clear()
        compute.clear()

    for n in range(n_assets):
        project_id = projects[n % n_projects]
        append, ids = asset_history(rng, project_id, 10)
        pending.append(append)
        size += len(append.events)
        if rng.random() < 0.3:
            compute.setdefault(project_id, []).append(ComputeUsed(
                job_id=str(uuid.uuid4()), asset_id=ids[0], seconds=30.0))
        if size >= BATCH_EVENTS:
            flush()
            size = 0
    if pending:
        flush()
    return {"project": projects[0], "big_asset": big_ids[0], "deep": big_ids[51],
            "versions": big_ids[1:]}


def rebuild(engine) -> None:  # noqa: ANN001
    # As in `lineage projections rebuild`: no other thread in the process (disposing
    # stops the loader's WAL checkpointer), so a SQLite rebuild may fork its second fill.
    engine.dispose()
    runner = make_runner(engine)  # rebuilds use the runner's large rebuild batches
    head = runner.status()[0].head
    started = time.perf_counter()
    for projection in PROJECTIONS:
        t0 = time.perf_counter()
        runner.rebuild(projection.name)
        took = time.perf_counter() - t0
        print(f"  rebuild {projection.name:<13} {took:7.1f} s  {head / took:>10,.0f} events/s")
    took = time.perf_counter() - started
    print(f"  rebuild each in turn  {took:7.1f} s  {head / took:>10,.0f} events/s "
          f"(log of {head:,} events)")
    started = time.perf_counter()
    runner.rebuild()
    took = time.perf_counter() - started
    print(f"  rebuild ALL, one pass {took:7.1f} s  {head / took:>10,.0f} events/s")


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


def sqlite_url(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'bench-read.db'}"


def postgres_url() -> tuple[str, callable]:
    schema = f"bench_read_{os.getpid()}"
    admin = create_engine(normalise_url(POSTGRES_URL))
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{normalise_url(POSTGRES_URL)}?options=-csearch_path%3D{schema}", drop


def run_backend(name: str, url: str, args: argparse.Namespace) -> None:
    engine = make_engine(url)
    upgrade(engine)
    store = EventStore(engine)
    print(f"\n== {name}: loading ~{args.events:,} events")
    t0 = time.perf_counter()
    ids = load(store, args.events)
    took = time.perf_counter() - t0
    head = store.head().position
    print(f"  loaded {head:,} events in {took:.1f} s ({head / took:,.0f} events/s)")
    rebuild(engine)
    catch_up_lag(store, url, ids, args.rate, args.lag_seconds)
    time_queries(store, ids, args.samples)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000,
                        help="history size (the issue's full size is 1000000)")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--rate", type=float, default=500.0, help="appends/s for catch-up")
    parser.add_argument("--lag-seconds", type=float, default=10.0)
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                run_backend("SQLite", sqlite_url(Path(tmp)), args)
        elif backend == "postgres":
            url, drop = postgres_url()
            try:
                run_backend("PostgreSQL", url, args)
            finally:
                drop()


if __name__ == "__main__":
    main()
