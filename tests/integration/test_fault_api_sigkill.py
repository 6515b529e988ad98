"""SIGKILL the API server in the middle of writes (SQLite and PostgreSQL): after a
restart every acknowledged write is there, none is half-written or doubled (clients
retry with their Idempotency-Key), and the hash chain verifies."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from events.verify import verify_chain

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.port = free_port()
        self.env = {**os.environ, "LINEAGE_DATABASE_URL": database_url,
                    "LINEAGE_DATA_DIR": str(data_dir), "LINEAGE_PORT": str(self.port),
                    "LINEAGE_WORKER_THREADS": "1"}
        self.data_dir = data_dir
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve"], cwd=ROOT, env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url("/api/health"), timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise AssertionError("lineage serve did not come up")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def call(self, method: str, path: str, token: str, body: dict | None = None,
             key: str | None = None) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        request = urllib.request.Request(self.url(path), method=method, headers=headers,
                                         data=json.dumps(body).encode() if body else None)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")


def asset_name(key: str) -> str:
    """The body a write with ``key`` sends, the same on every retry (a key reused with
    another body is a different request: 409)."""
    return f"Asset {key}"


def test_sigkill_of_the_api_mid_writes_keeps_every_acknowledged_write(
        engine, database_url, tmp_path):
    server = Server(database_url, tmp_path / "var")
    server.start()
    try:
        token = (tmp_path / "var" / "admin-token").read_text().strip()
        status, project = server.call("POST", "/api/projects", token, {"name": "Crash"})
        assert status == 201, project
        project_id = project["project_id"]
        acknowledged: dict[str, str] = {}  # idempotency key → asset id
        unanswered: list[str] = []
        lock = threading.Lock()

        def write(worker: int) -> None:
            for i in range(10_000):
                key = f"w{worker}-{i}-{uuid.uuid4().hex[:6]}"
                try:
                    status, body = server.call("POST", f"/api/projects/{project_id}/assets",
                                               token, {"name": asset_name(key)}, key)
                # A kill mid-answer (headers sent, body cut off) leaves it unanswered
                # too: the write may be committed, and the retry with its key says.
                except (urllib.error.URLError, http.client.HTTPException, OSError):
                    with lock:
                        unanswered.append(key)
                    return
                assert status == 201, body
                with lock:
                    acknowledged[key] = body["asset_id"]

        writers = [threading.Thread(target=write, args=(w,)) for w in range(4)]
        for thread in writers:
            thread.start()
        while len(acknowledged) < 30:
            time.sleep(0.05)
        server.kill()
        for thread in writers:
            thread.join(timeout=30)
        assert len(acknowledged) >= 30

        server.start()
        for key, asset_id in acknowledged.items():
            status, body = server.call("GET", f"/api/assets/{asset_id}", token)
            assert status == 200, (key, body)
        # Requests cut off by the crash are retried, as sent, with their key: each lands once.
        for key in unanswered:
            status, body = server.call("POST", f"/api/projects/{project_id}/assets", token,
                                       {"name": asset_name(key)}, key)
            assert status == 201, body
            acknowledged[key] = body["asset_id"]
        again = next(iter(acknowledged))
        status, body = server.call("POST", f"/api/projects/{project_id}/assets", token,
                                   {"name": asset_name(again)}, again)
        assert (status, body["asset_id"]) == (201, acknowledged[again])
        status, body = server.call("POST", f"/api/projects/{project_id}/assets", token,
                                   {"name": "another request"}, again)
        assert status == 409 and body["first_request"].endswith("/assets"), body
    finally:
        server.stop()

    report = verify_chain(engine)
    assert report.ok, report
    with engine.connect() as conn:
        from sqlalchemy import text

        created = conn.execute(text(
            "SELECT count(*) FROM events WHERE event_type = 'asset.created'")).scalar()
    assert created == len(set(acknowledged.values()))
