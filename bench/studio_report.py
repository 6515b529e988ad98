"""Figures of a distributed run: latency per route, throughput, job overhead, projection
lag, and the issue's targets beside what was measured."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine

from bench.stats import percentile
from bench.studio_http import Attempt
from projections.registry import make_runner

READ_P95_TARGET_MS = 50.0
WRITE_P95_TARGET_MS = 100.0


def spread(values: list[float], scale: float = 1.0) -> dict[str, float]:
    return {name: round(percentile(values, q) * scale, 1)
            for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))} | {
        "max": round(max(values) * scale, 1) if values else 0.0}


class LagSampler(threading.Thread):
    """Samples every projection's lag once a second: events behind the head and the
    age of the oldest event not yet applied (``ProjectionRunner.status``)."""

    def __init__(self, engine: Engine, interval: float = 1.0) -> None:
        super().__init__(name="lag-sampler", daemon=True)
        self.runner = make_runner(engine)
        self.interval = interval
        self.behind: list[float] = []
        self.seconds: list[float] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            try:
                status = self.runner.status()
            except Exception:  # noqa: BLE001, S112 - a missed sample is not an error
                continue
            self.behind.append(max(s.behind for s in status))
            self.seconds.append(max(s.lag_seconds for s in status))

    def stop(self) -> None:
        self.stop_event.set()
        self.join(5)


def route_table(attempts: Iterable[Attempt], seconds: float) -> list[dict[str, Any]]:
    """Per route of the day: requests, non-2xx answers, requests/s, p50/p95/p99 ms."""
    by_route: dict[str, list[Attempt]] = defaultdict(list)
    for attempt in attempts:
        by_route[attempt.route].append(attempt)
    rows = []
    for route, items in sorted(by_route.items()):
        latencies = [a.ms for a in items if a.status]
        write = items[0].method != "GET"
        target = WRITE_P95_TARGET_MS if write else READ_P95_TARGET_MS
        row = {"route": route, "kind": "write" if write else "read", "requests": len(items),
               "errors": sum(1 for a in items if not 200 <= a.status < 300),
               "per_second": round(len(items) / seconds, 2) if seconds else 0.0,
               **spread(latencies)}
        row["p95_target_ms"] = target
        rows.append(row)
    return rows


def pooled(attempts: list[Attempt], write: bool) -> dict[str, float]:
    return spread([a.ms for a in attempts if a.status and (a.method != "GET") == write])


def format_table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'route':<46} {'n':>6} {'err':>4} {'req/s':>6} {'p50':>7} {'p95':>7} "
             f"{'p99':>7} {'max':>7}  target p95"]
    for row in rows:
        mark = "ok" if row["p95"] < row["p95_target_ms"] else "MISSED"
        lines.append(f"{row['route']:<46} {row['requests']:>6} {row['errors']:>4} "
                     f"{row['per_second']:>6.1f} {row['p50']:>7.1f} {row['p95']:>7.1f} "
                     f"{row['p99']:>7.1f} {row['max']:>7.1f}  < {row['p95_target_ms']:.0f} ms "
                     f"{mark}")
    return "\n".join(lines)


def targets(checks_ok: dict[str, bool], reads: dict[str, float], writes: dict[str, float],
            ) -> list[tuple[str, bool, str]]:
    """The issue's targets: (target, met, measured)."""
    return [
        ("0 lost, 0 duplicated", checks_ok.get("every accepted request in the log exactly once",
                                               False), "see the exactly-once check"),
        (f"reads p95 < {READ_P95_TARGET_MS:.0f} ms", reads["p95"] < READ_P95_TARGET_MS,
         f"{reads['p95']:.1f} ms"),
        (f"writes p95 < {WRITE_P95_TARGET_MS:.0f} ms", writes["p95"] < WRITE_P95_TARGET_MS,
         f"{writes['p95']:.1f} ms"),
    ]


def elapsed(started: float) -> str:
    return f"{time.monotonic() - started:.0f} s"
