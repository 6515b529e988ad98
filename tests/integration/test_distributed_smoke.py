"""`make distributed` in miniature: the production topology (gunicorn with 2 API
processes, 3 `lineage worker` processes, `lineage relay`, `lineage projections run`) on
PostgreSQL + RabbitMQ, a tiny studio day through the HTTP API, and the checker's proofs:
exactly once, no stuck job, projections equal a replay, an intact hash chain."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from events.db import normalise_url
from tests.conftest import POSTGRES_URL, RABBITMQ_URL, service_missing
from workers.broker import ping_broker

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.rabbitmq]


@pytest.fixture
def services_up() -> None:
    engine = create_engine(normalise_url(POSTGRES_URL))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "missing"
        service_missing("PostgreSQL", exc)
    finally:
        engine.dispose()
    reachable, detail = ping_broker(RABBITMQ_URL)
    if not reachable:
        service_missing("RabbitMQ", detail)


def test_given_a_tiny_studio_day_when_checked_then_every_correctness_check_passes(
        services_up, tmp_path):
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "bench/distributed.py", "--scale", "0.005", "--users", "12",
         "--max-seconds", "60", "--drain-seconds", "90", "--rate", "20",
         "--run-dir", str(run_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    output = result.stdout + result.stderr

    assert (run_dir / "summary.json").exists(), output[-4000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    failed = [c for c in summary["checks"] if not c["ok"]]
    assert failed == [], output[-4000:]
    assert result.returncode == 0, output[-4000:]
    names = {c["name"] for c in summary["checks"]}
    assert {"every accepted request in the log exactly once",
            "every job completed or failed with a reason",
            "projections equal a replay from zero", "hash chain verifies"} <= names
    # The day really happened: drafts were generated and reviewed through the API.
    assert summary["jobs"]["completed"] >= 1
    assert summary["done"]["comments"] >= 1 and summary["done"]["decisions"] >= 1
    routes = {row["route"] for row in summary["routes"]}
    assert "POST /api/assets/{id}/generations" in routes
    # Every process was started and stopped again (no SIGKILL needed).
    assert set(summary["exit_codes"]) == {"api", "worker-1", "worker-2", "worker-3", "relay",
                                          "projections"}
    assert all(code == 0 for code in summary["exit_codes"].values()), summary["exit_codes"]
    # The run's schema was dropped.
    schema = json.loads((run_dir / "run.json").read_text())["schema"]
    engine = create_engine(normalise_url(POSTGRES_URL))
    try:
        with engine.connect() as conn:
            left = conn.execute(text("SELECT count(*) FROM information_schema.schemata "
                                     "WHERE schema_name = :s"), {"s": schema}).scalar_one()
    finally:
        engine.dispose()
    assert left == 0
