"""Browser tests: a real ``lineage serve`` process and Debian's Chromium driven by
Playwright (its own browser download cannot work here, so it is launched by path).

``studio`` starts the server on the ``database_url`` database (SQLite with embedded
workers, or PostgreSQL) and reads the one-time sign-in link it prints on first start;
``studio_rabbitmq`` starts it on PostgreSQL with RabbitMQ and a ``lineage worker``
process, on queues of its own. Screenshots go to ``var/screenshots/`` (looked at by
people, never compared by pixels).
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from app.config import Settings
from app.services import Services, build_services
from commands.users import User, create_user
from tests.conftest import IN_CI, RABBITMQ_URL, service_missing
from tests.integration.jobs_support import delete_queues
from workers.broker import ping_broker

CHROMIUM = os.environ.get("LINEAGE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"
STARTUP_SECONDS = 90
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclasses.dataclass
class Studio:
    """A running ``lineage serve``: its address, what it printed, and the same database
    opened in the test process (to create people and check what was recorded)."""

    url: str
    signin_link: str
    admin_token: str
    services: Services
    output: list[str]

    @property
    def store(self):  # noqa: ANN201
        return self.services.store

    def person(self, name: str, *, admin: bool = False) -> tuple[User, str]:
        """A new user and their API token."""
        user, token = create_user(self.store, name, is_admin=admin)
        return user, token.token

    def call(self, token: str, method: str, path: str, body: dict | None = None) -> Any:  # noqa: ANN401
        """The JSON answer of an API request to the running server (raises on >= 400)."""
        request = urllib.request.Request(
            self.url + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
        return json.loads(text) if text else None

    def member(self, project_id: str, name: str, role: str) -> tuple[User, str]:
        """A new user holding ``role`` in the project, and their token."""
        user, token = self.person(name)
        self.call(self.admin_token, "PUT", f"/api/projects/{project_id}/members/{user.user_id}",
                  {"role": role})
        return user, token

    def drafts(self, token: str, asset_id: str, count: int = 1, prompt: str = "a red kite",
               side: int = 64, steps: int = 2) -> list[str]:
        """Generate ``count`` small drafts through the API and wait for their versions."""
        body = self.call(token, "POST", f"/api/assets/{asset_id}/generations", {
            "prompt": prompt, "variations": count, "width": side, "height": side,
            "steps": steps})
        return self.drafts_of_jobs(token, [job["job_id"] for job in body["jobs"]])

    def drafts_of_jobs(self, token: str, job_ids: list[str]) -> list[str]:
        """Wait for the jobs to complete; the versions they made, in job order."""
        versions: list[str] = []
        deadline = time.monotonic() + STARTUP_SECONDS
        for job_id in job_ids:
            while True:
                status = self.call(token, "GET", f"/api/jobs/{job_id}")
                if status["status"] in ("completed", "failed"):
                    assert status["status"] == "completed", status
                    versions += status["version_ids"]
                    break
                assert time.monotonic() < deadline, status
                time.sleep(0.2)
        return versions

    def sign_in(self, page, token: str) -> None:  # noqa: ANN001
        """Sign ``page`` in with an API token through the sign-in form."""
        page.goto(self.url + "/login")
        page.get_by_label("Token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(self.url + "/")


class _Process:
    """A child process whose output lines are collected on a thread."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True,
                                        start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, seconds: float = STARTUP_SECONDS) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.seen.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r}; output:\n" + "\n".join(self.seen))

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture(scope="session")
def shared_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One built-in model folder for every server of the session (made once)."""
    path = tmp_path_factory.getbasetemp() / "studio-models"
    path.mkdir(exist_ok=True)
    return path


def _server_env(database_url: str, data_dir: Path, models: Path, port: int,
                extra: dict[str, str]) -> dict[str, str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    if not (data_dir / "models").exists():
        (data_dir / "models").symlink_to(models, target_is_directory=True)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("LINEAGE_") or key.startswith("LINEAGE_TEST_")}
    env.update({"LINEAGE_DATABASE_URL": database_url, "LINEAGE_DATA_DIR": str(data_dir),
                "LINEAGE_HOST": "127.0.0.1", "LINEAGE_PORT": str(port),
                "LINEAGE_WORKER_THREADS": "1", "LINEAGE_MAX_SIDE": "1024",
                "PYTHONUNBUFFERED": "1", **extra})
    return env


def _start(database_url: str, data_dir: Path, models: Path,
           extra: dict[str, str] | None = None) -> Iterator[Studio]:
    port = _free_port()
    env = _server_env(database_url, data_dir, models, port, extra or {})
    server = _Process([sys.executable, "-m", "app.cli", "serve"], env)
    workers: list[_Process] = []
    try:
        server.wait_for(r"^Created the first admin")
        token = server.wait_for(r"^\s+lin_").strip()
        link = server.wait_for(r"/signin\?code=").strip()
        server.wait_for(r"^Lineage on ")
        if env.get("LINEAGE_BROKER_URL"):
            worker = _Process([sys.executable, "-m", "app.cli", "worker", "--threads", "1"], env)
            workers.append(worker)
            worker.wait_for(r"lineage worker ready")
        settings = Settings.from_env(data_dir=data_dir, database_url=database_url,
                                     broker_url=None)
        services = build_services(settings)
        try:
            yield Studio(f"http://127.0.0.1:{port}", link, token, services, server.seen)
        finally:
            services.close()
    finally:
        for process in (*workers, server):
            process.stop()


@pytest.fixture
def studio(database_url: str, tmp_path: Path, shared_models: Path) -> Iterator[Studio]:
    """``lineage serve`` on the test database (SQLite: embedded workers)."""
    yield from _start(database_url, tmp_path / "var", shared_models)


@pytest.fixture
def studio_rabbitmq(postgres_url: str, tmp_path: Path, shared_models: Path) -> Iterator[Studio]:
    """``lineage serve`` on PostgreSQL relaying to RabbitMQ, and a ``lineage worker``."""
    ok, detail = ping_broker(RABBITMQ_URL)
    if not ok:
        service_missing("RabbitMQ", detail)
    prefix = f"lineage_studio_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        yield from _start(postgres_url, tmp_path / "var", shared_models,
                          {"LINEAGE_BROKER_URL": RABBITMQ_URL, "LINEAGE_QUEUE_PREFIX": prefix})
    finally:
        delete_queues(RABBITMQ_URL, prefix)


@pytest.fixture(scope="session")
def browser():  # noqa: ANN201 - playwright Browser
    if not Path(CHROMIUM).exists():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser):  # noqa: ANN001, ANN201
    """``new_page(width=…, height=…)``: a page in a fresh browser context (its own
    cookies), closed after the test."""
    contexts = []

    def make(viewport: dict[str, int] | None = None):  # noqa: ANN202
        context = browser.new_context(viewport=viewport or DESKTOP, locale="en-GB",
                                      timezone_id="UTC")
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def screenshot(page, name: str, *, full_page: bool = False) -> Path:  # noqa: ANN001
    """Save a screenshot under var/screenshots/ (for people to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
