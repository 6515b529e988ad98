"""`make distributed`: the production topology on one machine, a studio day, a checker.

Starts against PostgreSQL (a fresh schema) and RabbitMQ (a fresh queue prefix): gunicorn
with 2 API processes, 3 ``lineage worker`` processes, ``lineage relay`` and ``lineage
projections run``, each its own process logging to ``var/distributed/<time>/``. Plays a
studio day through the HTTP API (bench/studio_day.py), waits (bounded) for the job queue
to drain and the projections to catch up, stops every process, then proves exactly-once,
no stuck jobs, projections equal to a replay from zero and an intact hash chain
(bench/studio_check.py), and prints latency per route, throughput, job overhead and
projection lag beside the issue's targets. Exits 1 when a correctness check fails.

    .venv/bin/python bench/distributed.py [--scale 1.0] [--max-seconds 1800] [--rate 20]
                                          [--keep] [--worker-nice 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from bench import studio_check, studio_report  # noqa: E402
from bench.studio_day import DayResult, play_day  # noqa: E402
from bench.studio_world import Plan  # noqa: E402
from bench.topology import ROOT, Shape, Topology  # noqa: E402
from events.db import make_engine  # noqa: E402
from events.schema import events  # noqa: E402
from projections.registry import make_runner  # noqa: E402

REQUESTS = ("job.requested", "job.retry_requested")
OUTCOMES = ("job.completed", "job.failed")
CATCH_UP_SECONDS = 120.0
CODE_PACKAGES = ("app", "commands", "events", "projections", "workers")


def code_fingerprint() -> str:
    """A digest of the product's source: in a shared working tree, code edited during a
    run means its processes (started at different times) may have run different code."""
    digest = hashlib.sha256()
    for package in CODE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply the day's counts (drafts, edits, comments, decisions, "
                             "reads, assets); default 1.0 = the issue's studio day")
    parser.add_argument("--max-seconds", type=float, default=1800.0,
                        help="bound on the day: users stop taking turns after this")
    parser.add_argument("--drain-seconds", type=float, default=300.0,
                        help="bound on waiting for queued jobs to finish after the day")
    parser.add_argument("--rate", type=float, default=20.0,
                        help="offered load: requests per second across all users (a real "
                             "8-hour day of this size is about 1.2/s)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--projects", type=int, default=5)
    parser.add_argument("--max-backlog", type=int, default=24,
                        help="users request no new job while this many are unfinished")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--api-processes", type=int, default=2)
    parser.add_argument("--api-threads", type=int, default=4)
    parser.add_argument("--worker-nice", type=int, default=10,
                        help="nice level of the worker processes (0: none); on one machine "
                             "it stands in for the GPU machines workers run on in a studio")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--run-dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true",
                        help="keep the schema and queues (bench/studio_check.py can re-check)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run_dir = args.run_dir or ROOT / "var" / "distributed" / datetime.now(UTC).strftime(
        "%Y%m%d-%H%M%S")
    # SIGTERM takes the same path as Ctrl-C, so the finally blocks stop every process;
    # SIGINT is set explicitly because a shell starts background jobs with it ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    plan = Plan.scaled(args.scale, users=args.users, projects=args.projects, rate=args.rate,
                       max_backlog=args.max_backlog, seconds=args.max_seconds)
    shape = Shape(api_processes=args.api_processes, api_threads=args.api_threads,
                  workers=args.workers, worker_nice=args.worker_nice)
    started = time.monotonic()
    code_at_start, load_at_start = code_fingerprint(), os.getloadavg()
    print(f"distributed run in {run_dir}: scale {args.scale}, {plan.users} users, "
          f"{plan.projects} projects, {plan.assets} assets, offered {plan.rate:g} req/s, "
          f"day bounded to {plan.seconds:.0f} s", flush=True)
    print("  planned: " + ", ".join(f"{k} {n}" for k, n in plan.counts.items()), flush=True)
    with Topology(run_dir, shape, keep=args.keep) as topology:
        topology.prepare()
        _admin_id, admin_token = topology.create_admin()
        topology.start()
        print(f"  started {shape.api_processes} API processes (gunicorn, port "
              f"{topology.port}), {shape.workers} workers, relay, projections "
              f"[{studio_report.elapsed(started)}]", flush=True)
        engine = make_engine(topology.database_url)
        sampler = studio_report.LagSampler(engine)
        sampler.start()
        cpu_at_start = topology.cpu_seconds()  # start-up (imports, model) is left out
        try:
            day = play_day(*topology.base_url, admin_token, plan, seed=args.seed)
            print(f"  day over after {day.day_seconds:.0f} s (setup {day.setup_seconds:.0f} s)"
                  f" [{studio_report.elapsed(started)}]", flush=True)
            topology.check_alive()
            drained = drain(engine, args.drain_seconds)
            caught_up = wait_for_projections(engine, CATCH_UP_SECONDS)
            print(f"  queue drained: {drained}, projections caught up: {caught_up} "
                  f"[{studio_report.elapsed(started)}]", flush=True)
            cpu = {name: round(seconds - cpu_at_start.get(name, 0.0), 1)
                   for name, seconds in topology.cpu_seconds().items()}
        finally:
            sampler.stop()
            exit_codes = topology.stop()
        print(f"  stopped every process: {exit_codes}", flush=True)
        save_records(run_dir, topology, day)
        summary = check_and_report(engine, day, sampler, plan, args, exit_codes)
        engine.dispose()
    summary["cpu_seconds"] = cpu
    api_ms = cpu.get("api", 0.0) / max(summary["requests"], 1) * 1000
    print("\nCPU seconds used by each part from setup to the drained queue: "
          + ", ".join(f"{name} {seconds:.0f}" for name, seconds in cpu.items())
          + f"; the API used {api_ms:.0f} ms of CPU per day request (setup included)")
    summary["machine_load"] = {"at_start": load_at_start, "at_end": os.getloadavg(),
                               "cores": os.cpu_count()}
    summary["code_changed_during_run"] = code_fingerprint() != code_at_start
    print(f"\nmachine load average (1, 5, 15 min) at start {load_at_start}, at end "
          f"{summary['machine_load']['at_end']} on {os.cpu_count()} cores")
    if summary["code_changed_during_run"]:
        print("WARNING: the source under app/ commands/ events/ projections/ workers/ changed "
              "during the run; its processes may have run different versions of the code")
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    print(f"\nsummary written to {run_dir / 'summary.json'} "
          f"[{studio_report.elapsed(started)}]")
    return 0 if summary["correct"] else 1


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def unfinished_jobs(engine) -> int:  # noqa: ANN001
    """Job requests (first or retry) without an outcome yet."""
    with engine.connect() as conn:
        counts = dict(conn.execute(select(events.c.event_type, func.count())
                                   .where(events.c.event_type.in_(REQUESTS + OUTCOMES))
                                   .group_by(events.c.event_type)).all())
    return sum(counts.get(t, 0) for t in REQUESTS) - sum(counts.get(t, 0) for t in OUTCOMES)


def drain(engine, seconds: float) -> bool:  # noqa: ANN001
    """Wait until every requested job has an outcome, at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        left = unfinished_jobs(engine)
        if left <= 0:
            return True
        if time.monotonic() > deadline:
            print(f"  {left} jobs still unfinished after {seconds:.0f} s", flush=True)
            return False
        time.sleep(1.0)


def wait_for_projections(engine, seconds: float) -> bool:  # noqa: ANN001
    """Wait until ``lineage projections run`` has applied everything up to the head."""
    runner = make_runner(engine)
    deadline = time.monotonic() + seconds
    while any(s.behind for s in runner.status()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def save_records(run_dir: Path, topology: Topology, day: DayResult) -> None:
    """What the driver saw, for re-checking a kept run with bench/studio_check.py."""
    recorder = day.recorder
    (run_dir / "run.json").write_text(json.dumps({
        "database_url": topology.database_url, "schema": topology.schema,
        "queue_prefix": topology.queue_prefix, "kept": topology.keep,
        "jobs_seen": sorted(day.world.jobs_seen)}, indent=1))
    with (run_dir / "attempts.jsonl").open("w") as out:
        for attempt in recorder.attempts:
            out.write(json.dumps(dataclasses.asdict(attempt)) + "\n")
    for name, items in (("accepted", recorder.accepted), ("refused", recorder.refused)):
        with (run_dir / f"{name}.jsonl").open("w") as out:
            for item in items:
                out.write(json.dumps(item, default=str) + "\n")


def check_and_report(engine, day: DayResult, sampler: studio_report.LagSampler,  # noqa: ANN001
                     plan: Plan, args: argparse.Namespace, exit_codes: dict) -> dict:
    """Run every check, print the figures, return the summary (``correct`` says all
    correctness checks passed)."""
    recorder = day.recorder
    checks, states = studio_check.run_checks(engine, recorder.accepted, recorder.refused,
                                             recorder.attempts, day.world.jobs_seen)
    if day.errors:
        checks.append(studio_check.Check("load driver ran without errors", False,
                                         "; ".join(day.errors[:5])))
    day_attempts = [a for a in recorder.attempts if a.phase == "day"]
    routes = studio_report.route_table(day_attempts, day.day_seconds)
    reads = studio_report.pooled(day_attempts, write=False)
    writes = studio_report.pooled(day_attempts, write=True)
    times = studio_check.job_times(states)
    accepted_day = sum(1 for a in day_attempts if 200 <= a.status < 300)

    print("\n== latency per route (day phase, ms) ==")
    print(studio_report.format_table(routes))
    print(f"all reads  p50 {reads['p50']} p95 {reads['p95']} p99 {reads['p99']} ms")
    print(f"all writes p50 {writes['p50']} p95 {writes['p95']} p99 {writes['p99']} ms")
    print("\n== throughput ==")
    print(f"offered {plan.rate:g} req/s; {len(day_attempts)} requests in {day.day_seconds:.0f} s "
          f"= {len(day_attempts) / max(day.day_seconds, 1e-9):.1f} req/s "
          f"({accepted_day} answered 2xx)")
    print("done/planned: " + ", ".join(f"{k} {day.world.done[k]}/{plan.counts[k]}"
                                       for k in plan.counts))
    print(f"jobs: {times.completed} completed, {times.failed} failed, {times.unfinished} "
          f"unfinished; {times.completed / max(day.day_seconds, 1e-9) * 60:.1f} completed/min "
          f"over the day")
    print("\n== job overhead (s) ==")
    for label, values in (("request committed -> completion committed - pipeline",
                           times.overhead), ("  of which waiting in the queue", times.queue_wait),
                          ("worker overhead (start -> completion - pipeline)",
                           times.worker_overhead), ("pipeline seconds", times.pipeline)):
        print(f"{label:<54} {studio_report.spread(values)}")
    print("\n== projection lag ==")
    print(f"sampled each second: events behind {studio_report.spread(sampler.behind)}; "
          f"age of oldest unapplied event (s) {studio_report.spread(sampler.seconds)}")
    print(f"seen by reads (Lineage-Projection-Behind): "
          f"{studio_report.spread([float(b) for b in recorder.read_behind])}")
    if recorder.read_errors:
        print("\n== reads not answered 2xx (first few) ==")
        for error in recorder.read_errors[:5]:
            problem = error["problem"] if isinstance(error["problem"], dict) else {}
            print(f"{error['status']} {error['route']}: {problem.get('detail', '')}")
    print("\n== correctness ==")
    for check in checks:
        print(f"[{'PASS' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
        if check.note:
            print(f"       note: {check.note}")
    met = studio_report.targets({c.name: c.ok for c in checks}, reads, writes)
    print("\n== targets (issue 7) ==")
    for name, ok, measured in met:
        print(f"[{'met' if ok else 'MISSED'}] {name}: {measured}")
    return {
        "correct": all(c.ok for c in checks),
        "checks": [dataclasses.asdict(c) for c in checks],
        "targets": [{"target": n, "met": ok, "measured": m} for n, ok, m in met],
        "args": vars(args), "plan": dataclasses.asdict(plan), "done": day.world.done,
        "day_seconds": day.day_seconds, "setup_seconds": day.setup_seconds,
        "requests": len(day_attempts), "routes": routes, "reads": reads, "writes": writes,
        "jobs": {"completed": times.completed, "failed": times.failed,
                 "unfinished": times.unfinished,
                 "overhead_s": studio_report.spread(times.overhead),
                 "queue_wait_s": studio_report.spread(times.queue_wait),
                 "worker_overhead_s": studio_report.spread(times.worker_overhead),
                 "pipeline_s": studio_report.spread(times.pipeline)},
        "projection_lag": {"behind_events": studio_report.spread(sampler.behind),
                           "oldest_unapplied_s": studio_report.spread(sampler.seconds),
                           "seen_by_reads": studio_report.spread(
                               [float(b) for b in recorder.read_behind])},
        "exit_codes": exit_codes,
    }


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted: every process started was stopped", file=sys.stderr)
        sys.exit(130)
