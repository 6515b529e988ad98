"""Where a slow request's time goes: its SQL statements (count, time to execute) and the
project's own functions it spends the most in, for the routes bench/read.py finds over
target."""

from __future__ import annotations

import cProfile
import pstats
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, event

ROOT = Path(__file__).resolve().parents[1]
OWN = tuple(str(ROOT / package) for package in ("commands", "events", "projections", "workers",
                                                "app/auth.py", "app/sessions.py"))
WIDTH = 120


def statements(engine: Engine, client: FlaskClient, path: str,
               ) -> tuple[float, dict[str, list[float]], pstats.Stats]:
    """One request's wall time (ms), per SQL statement text [count, total ms to execute],
    and its profile."""
    spent: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

    def before(conn: Any, *_: Any) -> None:  # noqa: ANN401
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def after(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:  # noqa: ANN401
        took = (time.perf_counter() - conn.info["bench_started"].pop()) * 1000
        entry = spent[" ".join(statement.split())]
        entry[0] += 1
        entry[1] += took

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    profile = cProfile.Profile()
    try:
        started = time.perf_counter()
        profile.enable()
        client.get(path).get_data()
        profile.disable()
        wall = (time.perf_counter() - started) * 1000
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return wall, spent, pstats.Stats(profile)


def own_functions(stats: pstats.Stats, top: int) -> list[tuple[float, int, str]]:
    """The domain's functions (commands, events, projections, workers, authorisation; not
    views or middleware) and template rendering, by cumulative ms."""
    found = []
    for (filename, line, name), (_, calls, _, cumulative, _) in stats.stats.items():
        if filename.startswith(OWN):
            where = f"{Path(filename).relative_to(ROOT)}:{line} {name}"
        elif filename.endswith("flask/templating.py") and name == "render_template":
            where = "flask render_template (the page's template)"
        else:
            continue
        found.append((cumulative * 1000, calls, where))
    return sorted(found, reverse=True)[:top]


def explain(engine: Engine, client: FlaskClient, label: str, path: str, top: int = 3,
            ) -> list[str]:
    """Lines naming the request's SQL time, its ``top`` costliest statements and the
    project's functions it spends the most in (cumulative, under the profiler)."""
    client.get(path)  # warm, as the timed requests were
    wall, spent, stats = statements(engine, client, path)
    in_sql = sum(ms for _, ms in spent.values())
    count = sum(n for n, _ in spent.values())
    lines = [f"  {label}: {wall:.1f} ms under the profiler, {count:.0f} SQL statements "
             f"executing {in_sql:.1f} ms"]
    costly = sorted(((text, n, ms) for text, (n, ms) in spent.items()
                     if text not in ("BEGIN", "COMMIT", "ROLLBACK")), key=lambda s: -s[2])
    for text, n, ms in costly[:top]:
        lines.append(f"      sql {ms:7.1f} ms {n:4.0f}x  {text[:WIDTH]}")
    for ms, calls, where in own_functions(stats, top + 2):
        lines.append(f"      fn  {ms:7.1f} ms {calls:4d}x  {where}")
    return lines
