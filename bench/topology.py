"""The production topology on one machine, for ``bench/distributed.py``.

A fresh PostgreSQL schema and RabbitMQ queue prefix per run, and one subprocess per part:
gunicorn serving ``app.wsgi:application``, ``lineage worker`` processes, ``lineage relay``
and ``lineage projections run``. Each part runs in its own process group (so gunicorn's
workers stop with their master) and logs to ``<run dir>/<part>.log``. :meth:`stop` always
ends every process started here: SIGTERM, a grace period, then SIGKILL.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pika
from sqlalchemy import create_engine, text

from events.db import normalise_url

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
POSTGRES_URL = os.environ.get("LINEAGE_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
RABBITMQ_URL = os.environ.get("LINEAGE_TEST_RABBITMQ_URL",
                              "amqp://guest:guest@127.0.0.1:5672/%2F")
STOP_GRACE_SECONDS = 20.0
KEEP_ALIVE_SECONDS = 10  # bench/studio_http.py reconnects after 8 idle seconds
MODEL_CACHE = ROOT / "var" / "distributed" / "models"
TOKEN_LINE = re.compile(r"token \(shown once\): (\S+)")
USER_LINE = re.compile(r"user (\S+) ")


@dataclasses.dataclass(frozen=True)
class Shape:
    """How many of each part to start."""

    api_processes: int = 2
    api_threads: int = 4
    workers: int = 3
    worker_nice: int = 0


@dataclasses.dataclass
class Part:
    name: str
    process: subprocess.Popen
    log_path: Path


def free_port() -> int:
    """A TCP port on the loopback interface nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def schema_url(schema: str) -> str:
    """The database URL whose connections use ``schema`` as their search path."""
    base = normalise_url(POSTGRES_URL)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


class Topology:
    """One run's schema, queues and processes. Use as a context manager: leaving it
    stops every process (and, unless ``keep``, drops the schema and the queues)."""

    def __init__(self, run_dir: Path, shape: Shape, *, keep: bool = False) -> None:
        self.run_dir = run_dir
        self.shape = shape
        self.keep = keep
        tag = f"{time.strftime('%H%M%S')}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.schema = f"dist_{tag}"
        self.queue_prefix = f"lineage_dist_{tag}"
        self.database_url = schema_url(self.schema)
        self.port = free_port()
        self.parts: list[Part] = []
        self._schema_created = False

    # -- environment ------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """The environment every part gets (the same settings a studio would deploy)."""
        env = dict(os.environ)
        env.update({
            "LINEAGE_DATABASE_URL": self.database_url,
            "LINEAGE_BROKER_URL": RABBITMQ_URL,
            "LINEAGE_QUEUE_PREFIX": self.queue_prefix,
            "LINEAGE_DATA_DIR": str(self.run_dir / "data"),
            "LINEAGE_TORCH_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
        })
        return env

    @property
    def base_url(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    # -- lifecycle --------------------------------------------------------------------

    def __enter__(self) -> Topology:
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            self.stop()
        finally:
            if not self.keep:
                self.drop()

    def prepare(self) -> None:
        """Create the schema and migrate it (``lineage db upgrade``)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # The built-in model's weights are made deterministically from a fixed seed, so
        # runs share one copy instead of each building it (its hash is recorded anyway).
        MODEL_CACHE.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "data").mkdir(exist_ok=True)
        models = self.run_dir / "data" / "models"
        if not models.exists():
            models.symlink_to(MODEL_CACHE, target_is_directory=True)
        admin = create_engine(normalise_url(POSTGRES_URL))
        try:
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        finally:
            admin.dispose()
        self._schema_created = True
        self.lineage("db", "upgrade")

    def lineage(self, *args: str) -> str:
        """Run one ``lineage`` command to completion; its stdout. Raises on failure."""
        result = subprocess.run([str(VENV_BIN / "lineage"), *args], env=self.env(), cwd=ROOT,
                                capture_output=True, text=True, timeout=300, check=False)
        with (self.run_dir / "setup.log").open("a") as log:
            log.write(f"$ lineage {' '.join(args)}\n{result.stdout}{result.stderr}\n")
        if result.returncode != 0:
            raise RuntimeError(f"lineage {' '.join(args)} exited {result.returncode}: "
                               f"{result.stderr.strip()[-500:]}")
        return result.stdout

    def create_admin(self, name: str = "studio-admin") -> tuple[str, str]:
        """A global admin made with ``lineage users create NAME --admin``: (id, token)."""
        out = self.lineage("users", "create", name, "--admin")
        user, token = USER_LINE.search(out), TOKEN_LINE.search(out)
        if not user or not token:
            raise RuntimeError(f"unexpected output of lineage users create: {out!r}")
        return user.group(1), token.group(1)

    def start(self, ready_timeout: float = 180.0) -> None:
        """Start every part and wait until the API answers and every worker is ready."""
        shape = self.shape
        self._spawn("api", [str(VENV_BIN / "gunicorn"), "-w", str(shape.api_processes),
                            "--threads", str(shape.api_threads),
                            "-b", f"127.0.0.1:{self.port}", "--graceful-timeout", "15",
                            "--keep-alive", str(KEEP_ALIVE_SECONDS),
                            "app.wsgi:application"])
        nice = ["nice", "-n", str(shape.worker_nice)] if shape.worker_nice else []
        for index in range(shape.workers):
            self._spawn(f"worker-{index + 1}",
                        [*nice, str(VENV_BIN / "lineage"), "worker", "--processes", "1",
                         "--threads", "1"])
        self._spawn("relay", [str(VENV_BIN / "lineage"), "relay"])
        self._spawn("projections", [str(VENV_BIN / "lineage"), "projections", "run"])
        self._wait_ready(ready_timeout)

    def _spawn(self, name: str, argv: list[str]) -> None:
        log_path = self.run_dir / f"{name}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(argv, cwd=ROOT, env=self.env(), stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        self.parts.append(Part(name, process, log_path))

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        waiting = {p.name for p in self.parts if p.name.startswith("worker")} | {"api"}
        while waiting:
            self.check_alive()
            if "api" in waiting and self._api_healthy():
                waiting.discard("api")
            for part in self.parts:
                if part.name in waiting and part.name != "api" and \
                        "lineage worker ready" in part.log_path.read_text(errors="replace"):
                    waiting.discard(part.name)
            if waiting and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout:.0f} s: {', '.join(sorted(waiting))}"
                                   f" (logs in {self.run_dir})")
            time.sleep(0.5)

    def _api_healthy(self) -> bool:
        conn = http.client.HTTPConnection(*self.base_url, timeout=5)
        try:
            conn.request("GET", "/api/health")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def check_alive(self) -> None:
        """Raise RuntimeError naming any part that has exited."""
        dead = [f"{p.name} (exit {p.process.returncode}, log {p.log_path})"
                for p in self.parts if p.process.poll() is not None]
        if dead:
            raise RuntimeError("stopped unexpectedly: " + "; ".join(dead))

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) each part's process group has used so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        groups = {part.process.pid: part.name for part in self.parts}
        used = dict.fromkeys(groups.values(), 0.0)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                # The command name (2nd field) may hold spaces: split after its ")".
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            group = int(fields[2])
            if group in groups:
                used[groups[group]] += (int(fields[11]) + int(fields[12])) / ticks
        return used

    def stop(self) -> dict[str, int | None]:
        """SIGTERM every part's process group, wait, SIGKILL what is left; exit codes.

        The SIGKILL round runs even when a signal (a second Ctrl-C) cuts the wait short.
        """
        try:
            for part in self.parts:
                _signal_group(part.process, signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE_SECONDS
            for part in self.parts:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    part.process.wait(max(0.1, deadline - time.monotonic()))
        finally:
            for part in self.parts:
                # Also the group: gunicorn's workers may outlive their master.
                _signal_group(part.process, signal.SIGKILL)
                if part.process.poll() is None:
                    part.process.wait(10)
        codes = {p.name: p.process.returncode for p in self.parts}
        self.parts = []
        return codes

    def drop(self) -> None:
        """Drop the run's schema and delete its queues (best effort, never raises)."""
        if self._schema_created:
            admin = create_engine(normalise_url(POSTGRES_URL))
            try:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
                self._schema_created = False
            except Exception as exc:  # noqa: BLE001 - cleanup must not hide the result
                print(f"warning: could not drop schema {self.schema}: {exc}", file=sys.stderr)
            finally:
                admin.dispose()
        delete_queues(self.queue_prefix)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    # The group this script created (start_new_session); it may be gone already.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def delete_queues(prefix: str) -> None:
    """Delete the run's Dramatiq queues (each tier's queue, delay and dead-letter queue)."""
    names = [f"{prefix}.{tier}{suffix}" for tier in ("draft", "final")
             for suffix in ("", ".DQ", ".XQ")]
    try:
        connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    except Exception as exc:  # noqa: BLE001 - cleanup is best effort
        print(f"warning: could not delete queues {prefix}.*: {exc}", file=sys.stderr)
        return
    try:
        channel = connection.channel()
        for name in names:
            channel.queue_delete(queue=name)
    except Exception as exc:  # noqa: BLE001
        print(f"warning: could not delete queues {prefix}.*: {exc}", file=sys.stderr)
    finally:
        with contextlib.suppress(Exception):  # already closed
            connection.close()
