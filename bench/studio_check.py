"""The checker of a distributed run: proofs over the database the run left behind.

- exactly once: every accepted keyed write's command id ``http:<user>:<key>`` is in
  ``event_commands`` once, its events carry that id and fill exactly the recorded
  position range, and the response's position is the range's end; a write refused by
  every attempt left nothing; every user the admin created was registered once;
- jobs: every job the driver was told about is in the log, and every job in the log
  completed or failed with a reason (none stuck);
- projections: the live read tables, built incrementally by ``lineage projections
  run``, equal a blue/green replay from position 0 (``projections.compare``, as the
  tests compare them);
- the hash chain verifies (``events.verify.verify_chain``).

Run it on its own against a kept run: ``bench/studio_check.py --run-dir var/distributed/…``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, func, select  # noqa: E402

from commands.jobs import COMPLETED, FAILED, fold_job  # noqa: E402
from events.db import make_engine  # noqa: E402
from events.jobs import JobCompleted, JobRequested, JobStarted  # noqa: E402
from events.schema import event_commands, events  # noqa: E402
from events.store import utc  # noqa: E402
from events.types import decode  # noqa: E402
from events.verify import verify_chain  # noqa: E402
from projections.compare import compare_with_replay  # noqa: E402
from projections.registry import PROJECTIONS  # noqa: E402

# Writes sent by the bootstrap admin, whom the driver knows only by token: their command
# id (``http:<admin>:<key>``) cannot be named, so they are checked by what they created.
UNKEYED_ROUTES = ("POST /api/users",)
SHOW = 5


@dataclasses.dataclass
class Check:
    name: str
    ok: bool
    detail: str
    note: str = ""
    """Something worth knowing that does not fail the check."""


@dataclasses.dataclass
class JobTimes:
    """Per completed job: seconds from request to completion minus pipeline seconds,
    waiting in the queue (request → last start), and the worker's own overhead."""

    overhead: list[float]
    queue_wait: list[float]
    worker_overhead: list[float]
    pipeline: list[float]
    completed: int
    failed: int
    unfinished: int


def command_id(write: dict[str, Any]) -> str:
    return f"http:{write['user_id']}:{write['key']}"


def check_exactly_once(engine: Engine, accepted: list[dict], refused: list[dict]) -> Check:
    """Each accepted keyed write is in the log exactly once; definite refusals left
    nothing; each created user was registered exactly once."""
    keyed = [w for w in accepted if w["route"] not in UNKEYED_ROUTES]
    with engine.connect() as conn:
        recorded = {row.command_id: (row.first_position, row.last_position)
                    for row in conn.execute(select(event_commands).where(
                        event_commands.c.command_id.like("http:%")))}
        counted = {row[0]: (row[1], row[2], row[3]) for row in conn.execute(
            select(events.c.command_id, func.count(), func.min(events.c.position),
                   func.max(events.c.position))
            .where(events.c.command_id.like("http:%")).group_by(events.c.command_id))}
        users = Counter(row[0] for row in conn.execute(
            select(events.c.stream_id).where(events.c.event_type == "user.registered")))
    lost, duplicated, misplaced, phantom = [], [], [], []
    not_last: Counter[str] = Counter()
    seen_commands = Counter(command_id(w) for w in keyed)
    for write in keyed:
        cid = command_id(write)
        if seen_commands[cid] > 1:
            duplicated.append(f"{cid} accepted {seen_commands[cid]} times by the driver")
        span = recorded.get(cid)
        if span is None:
            lost.append(f"{write['route']} {cid}")
            continue
        first, last = span
        count, low, high = counted.get(cid, (0, None, None))
        if count != last - first + 1 or low != first or high != last:
            duplicated.append(f"{cid}: {count} events at {low}..{high}, command says "
                              f"{first}..{last}")
        if write.get("position"):
            position = int(write["position"])
            if not first <= position <= last:
                misplaced.append(f"{cid}: response position {position}, log {first}..{last}")
            elif position != last:
                not_last[write["route"]] += 1
    for write in refused:
        if write.get("definite") and command_id(write) in recorded:
            phantom.append(f"{write['route']} answered {write['status']} yet "
                           f"{command_id(write)} is in the log")
    for write in accepted:
        if write["route"] in UNKEYED_ROUTES:
            user_stream = f"user-{write['body']['user_id']}"
            if users[user_stream] != 1:
                (lost if not users[user_stream] else duplicated).append(
                    f"{user_stream} registered {users[user_stream]} times")
    problems = [("lost", lost), ("duplicated", duplicated), ("wrong position", misplaced),
                ("refused but written", phantom)]
    bad = [f"{len(items)} {name}: {'; '.join(items[:SHOW])}" for name, items in problems
           if items]
    note = "; ".join(f"{route} answers a position before its last event ({n}x), so "
                     f"?min_position= with it may miss the rest of the write"
                     for route, n in not_last.items())
    return Check("every accepted request in the log exactly once", not bad,
                 "; ".join(bad) or f"{len(accepted)} accepted writes, 0 lost, 0 duplicated; "
                 f"{len(refused)} refused, none written", note)


def job_states(engine: Engine) -> dict[str, tuple[Any, list]]:
    """Job id → (folded JobState, [(event, recorded_at)]) for every job in the log."""
    history: dict[str, list] = defaultdict(list)
    with engine.connect() as conn:
        rows = conn.execute(
            select(events.c.stream_id, events.c.event_type, events.c.schema_version,
                   events.c.payload, events.c.recorded_at)
            .where(events.c.stream_type == "job").order_by(events.c.position))
        for stream, event_type, schema_version, payload, recorded_at in rows:
            history[stream.removeprefix("job-")].append(
                (decode(event_type, schema_version, payload), utc(recorded_at)))
    return {job: (fold_job([e for e, _ in items]), items) for job, items in history.items()}


def check_jobs(states: dict[str, tuple[Any, list]], jobs_seen: Iterable[str]) -> Check:
    """Every job the driver saw exists; every job completed or failed with a reason."""
    missing = sorted(set(jobs_seen) - set(states))
    stuck = [job for job, (state, _) in states.items() if state.status not in
             (COMPLETED, FAILED)]
    silent = [job for job, (state, _) in states.items() if state.status == FAILED and
              not (state.error and state.error.message.strip())]
    by_status = Counter(state.status for state, _ in states.values())
    bad = []
    if missing:
        bad.append(f"{len(missing)} jobs the API acknowledged are not in the log: "
                   f"{', '.join(missing[:SHOW])}")
    if stuck:
        bad.append(f"{len(stuck)} stuck (not completed or failed): "
                   + ", ".join(f"{j} ({states[j][0].status})" for j in stuck[:SHOW]))
    if silent:
        bad.append(f"{len(silent)} failed without a reason: {', '.join(silent[:SHOW])}")
    failures = Counter(state.error.kind for state, _ in states.values()
                       if state.status == FAILED and state.error)
    detail = (f"{len(states)} jobs: {by_status.get(COMPLETED, 0)} completed, "
              f"{by_status.get(FAILED, 0)} failed"
              + (f" ({', '.join(f'{k}: {n}' for k, n in failures.items())})" if failures else "")
              + ", 0 stuck")
    return Check("every job completed or failed with a reason", not bad,
                 "; ".join(bad) or detail)


def job_times(states: dict[str, tuple[Any, list]]) -> JobTimes:
    overhead, queue_wait, worker, pipeline = [], [], [], []
    for state, items in states.values():
        if state.status != COMPLETED or state.requests != 1:
            continue
        requested = next(at for e, at in items if isinstance(e, JobRequested))
        started = [at for e, at in items if isinstance(e, JobStarted)]
        done, done_at = next((e, at) for e, at in reversed(items)
                             if isinstance(e, JobCompleted))
        total = _seconds(done_at, requested)
        overhead.append(total - done.cost_seconds)
        pipeline.append(done.cost_seconds)
        if started:
            queue_wait.append(_seconds(started[-1], requested))
            worker.append(_seconds(done_at, started[-1]) - done.cost_seconds)
    statuses = Counter(state.status for state, _ in states.values())
    return JobTimes(overhead, queue_wait, worker, pipeline, statuses.get(COMPLETED, 0),
                    statuses.get(FAILED, 0),
                    len(states) - statuses.get(COMPLETED, 0) - statuses.get(FAILED, 0))


def _seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()


def check_projections(engine: Engine) -> Check:
    """Catch up, replay every projection from 0, compare the tables row by row."""
    found = compare_with_replay(engine)
    return Check("projections equal a replay from zero", not found.differences,
                 "; ".join(map(str, found.differences))
                 or f"{found.tables} tables, {found.rows} rows identical after replaying "
                 f"{len(PROJECTIONS)} projections")


def check_chain(engine: Engine) -> Check:
    report = verify_chain(engine)
    if report.ok:
        return Check("hash chain verifies", True,
                     f"{report.checked} events, intact up to position {report.head_position}")
    return Check("hash chain verifies", False,
                 f"first bad position {report.first_bad_position}: {report.reason}")


def check_server_errors(attempts: Iterable[Any]) -> Check:
    """No request was answered 500 (a 503 with Retry-After is the documented outage
    answer and is retried)."""
    errors = Counter(a.route for a in attempts if a.status == 500)
    return Check("no server errors (HTTP 500)", not errors,
                 ", ".join(f"{route}: {n}" for route, n in errors.items()) or "none")


def read_run(run_dir: Path) -> tuple[dict, list[dict], list[dict], list[Any]]:
    """What bench/distributed.py saved: run.json, accepted/refused writes, attempts."""
    run = json.loads((run_dir / "run.json").read_text())
    lines = {name: [json.loads(line) for line in (run_dir / f"{name}.jsonl").open()]
             for name in ("accepted", "refused", "attempts")}
    attempts = [SimpleNamespace(**a) for a in lines["attempts"]]
    return run, lines["accepted"], lines["refused"], attempts


def run_checks(engine: Engine, accepted: list[dict], refused: list[dict],
               attempts: list[Any], jobs_seen: Iterable[str]) -> tuple[list[Check], dict]:
    """Every correctness check, and the folded jobs (for the job figures)."""
    states = job_states(engine)
    return [check_exactly_once(engine, accepted, refused), check_jobs(states, jobs_seen),
            check_projections(engine), check_chain(engine),
            check_server_errors(attempts)], states


def main(argv: list[str] | None = None) -> int:
    """Re-check a run kept with ``bench/distributed.py --keep``; exit 1 on a failure."""
    parser = argparse.ArgumentParser(description="check a kept distributed run again")
    parser.add_argument("--run-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    run, accepted, refused, attempts = read_run(args.run_dir)
    engine = make_engine(run["database_url"])
    try:
        checks, _ = run_checks(engine, accepted, refused, attempts, run["jobs_seen"])
    finally:
        engine.dispose()
    for check in checks:
        print(f"[{'PASS' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
