"""Restart PostgreSQL during writes: while it is down clients get 503 problem+json with
Retry-After; afterwards the service recovers by itself and nothing committed is lost."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid

import pytest

from app import create_app
from app.config import Settings
from app.services import Services
from commands.users import create_user
from events.db import make_engine
from events.errors import ServiceUnavailable
from events.store import ANY, EventStore, Metadata
from events.verify import verify_chain
from tests.integration.test_event_store import NoteAdded

pytestmark = pytest.mark.slow


def _cluster() -> list[str]:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]


def _pg(action: str) -> None:
    subprocess.run([*_cluster(), action, *(["-m", "fast"] if action == "stop" else [])],
                   check=True, capture_output=True, timeout=60)


def test_postgres_restart_gives_503_then_recovers_without_losing_writes(
        postgres_url, tmp_path):
    if not os.path.isdir("/etc/postgresql"):
        pytest.fail("no local PostgreSQL cluster to restart")
    engine = make_engine(postgres_url)
    store = EventStore(engine)
    database_url = postgres_url
    settings = Settings.from_env(data_dir=tmp_path, database_url=database_url, broker_url=None)
    app = create_app(services=Services(settings=settings, engine=engine, store=store))
    client = app.test_client()
    _, token = create_user(store, "ann")
    headers = {"Authorization": f"Bearer {token.token}"}
    unknown_job = f"/api/jobs/{uuid.uuid4()}"
    assert client.get(unknown_job, headers=headers).status_code == 404

    acknowledged: list[int] = []
    refused: list[str] = []
    stop = threading.Event()

    def write() -> None:
        i = 0
        while not stop.is_set():
            try:
                recorded = store.append("s-during", ANY, [NoteAdded(text=str(i))],
                                        Metadata(command_id=f"w-{i}"), stream_type="test")
                acknowledged.append(recorded[0].position)
                i += 1
            except ServiceUnavailable as exc:
                refused.append(exc.detail)
                time.sleep(0.05)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        time.sleep(0.3)
        _pg("stop")
        response = client.get(unknown_job, headers=headers)
        assert response.status_code == 503
        assert response.mimetype == "application/problem+json"
        assert response.headers["Retry-After"].isdigit()
        assert "database" in response.json["detail"]
    finally:
        _pg("start")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if client.get(unknown_job, headers=headers).status_code == 404:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the service did not recover after PostgreSQL came back")
    time.sleep(0.3)
    stop.set()
    writer.join()

    assert refused, "writes during the outage should have been refused, not hung"
    positions = [r.position for r in store.iter_all()]
    assert set(acknowledged) <= set(positions)
    assert positions == list(range(1, len(positions) + 1))
    assert verify_chain(engine).ok
    engine.dispose()
