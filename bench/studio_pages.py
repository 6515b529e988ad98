"""The review studio: server-side render time of its pages, the weight of its own
JavaScript and CSS, and how soon a live update reaches a second open page.

1. Render: the history of bench/read.py (``--events``; the issue's size is 1,000,000)
   plus one project with a board of 200 assets, projections replayed, then p50/p95 of
   whole pages drawn by the Flask app for a signed-in person (session cookie, exactly as
   a browser asks): the board of 200 assets, the asset page with 200 versions, its
   compare and version pages, and the projects page.
2. Weight: the bytes of the studio's own JavaScript modules and stylesheet (every page
   loads all of them; the font is not counted).
3. Live: ``lineage serve`` on a fresh SQLite database while the studio day
   (bench/studio_day.py at ``--day-scale``) plays against it; a second page listens to
   the project's event feed and, for each new comment, fetches the fragment the page
   would redraw (``?fragment=review&min_position=``). Figures: from the comment's
   answer to the redrawn fragment in hand.

    .venv/bin/python bench/studio_pages.py [--events 50000] [--backends sqlite,postgres]
        [--samples 100] [--live-seconds 60] [--day-scale 0.02]

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402
from app.config import Settings  # noqa: E402
from app.services import build_services  # noqa: E402
from app.sessions import LOGIN_COOKIE, SESSION_COOKIE  # noqa: E402
from app.studio.static_files import STATIC_DIR  # noqa: E402
from bench.history import asset_history, load, postgres_url, sqlite_url  # noqa: E402
from bench.read_routes import signed_in  # noqa: E402
from bench.stats import percentile  # noqa: E402
from bench.studio_day import play_day  # noqa: E402
from bench.studio_world import Plan  # noqa: E402
from bench.topology import free_port  # noqa: E402
from commands.users import create_user  # noqa: E402
from events.db import make_engine  # noqa: E402
from events.domain import stream_id  # noqa: E402
from events.migrate import upgrade  # noqa: E402
from events.projects import MemberRoleSet, ProjectCreated  # noqa: E402
from events.store import ANY, EventStore, Metadata, StreamAppend  # noqa: E402
from projections.registry import make_runner  # noqa: E402

BOARD_ASSETS = 200


def add_board(store: EventStore, owner: str) -> str:
    """A project of 200 assets with 10 versions each; returns its id."""
    rng = random.Random(21)
    project_id = str(uuid.uuid4())
    store.append_streams([StreamAppend(stream_id("project", project_id), "project", ANY, [
        ProjectCreated(project_id=project_id, name="Board of 200"),
        MemberRoleSet(user_id=owner, role="admin")])], Metadata(actor_id=owner))
    batch = []
    for _ in range(BOARD_ASSETS):
        batch.append(asset_history(rng, project_id, 10)[0])
        if len(batch) == 10:
            store.append_streams(batch, Metadata(actor_id=owner))
            batch = []
    if batch:
        store.append_streams(batch, Metadata(actor_id=owner))
    return project_id


def time_pages(name: str, url: str, args: argparse.Namespace) -> None:
    engine = make_engine(url)
    upgrade(engine)
    store = EventStore(engine)
    print(f"\n== {name}: loading ~{args.events:,} events and a board of {BOARD_ASSETS} assets")
    started = time.perf_counter()
    ids = load(store, args.events)
    admin, token = create_user(store, "bench admin", is_admin=True)
    board = add_board(store, admin.user_id)
    print(f"  loaded {store.head().position:,} events in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    make_runner(engine).replay()
    print(f"  projections replayed in {time.perf_counter() - started:.0f} s")
    engine.dispose()
    with tempfile.TemporaryDirectory() as data_dir:
        services = build_services(Settings.from_env(database_url=url, data_dir=Path(data_dir),
                                                    broker_url=None))
        app = create_app(services=services)
        client = signed_in(app, token.token)
        versions = ids["versions"]
        pages = {
            f"board ({BOARD_ASSETS} assets)": f"/projects/{board}",
            "asset page (200 versions)": f"/assets/{ids['big_asset']}?v={versions[-1]}",
            "asset page, as of a time": f"/assets/{ids['big_asset']}?as_of=2100-01-01T00:00:00",
            "compare two versions": f"/assets/{ids['big_asset']}/compare?a={versions[0]}"
                                    f"&b={versions[-1]}",
            "version page (depth 50)": f"/versions/{ids['deep']}",
            "projects page": "/",
        }
        for label, path in pages.items():
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code,
                                                 response.get_data(as_text=True)[:300])
            size = len(response.data)
            times = []
            for _ in range(args.samples):
                t0 = time.perf_counter()
                client.get(path)
                times.append((time.perf_counter() - t0) * 1000)
            print(f"  {label:<30} p50 {percentile(times, 0.50):7.1f} ms   "
                  f"p95 {percentile(times, 0.95):7.1f} ms"
                  f"   ({size / 1024:.0f} KiB of HTML)")
        services.close()


def page_weight() -> None:
    files = sorted([*STATIC_DIR.glob("*.js"), *STATIC_DIR.glob("*.css")])
    total = sum(f.stat().st_size for f in files)
    print("\n== page weight: the studio's own JavaScript and CSS, loaded by every page")
    for f in files:
        print(f"  {f.name:<14} {f.stat().st_size / 1024:6.1f} KiB")
    print(f"  total          {total / 1024:6.1f} KiB uncompressed (target < 150 KiB); "
          "no framework, no bundle")


class Server:
    """``lineage serve`` in a temporary folder (SQLite, embedded workers)."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")},
               "LINEAGE_DATA_DIR": str(folder), "LINEAGE_PORT": str(self.port),
               "LINEAGE_WORKER_THREADS": "2", "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "app.cli", "serve"], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, start_new_session=True)
        self.token = ""
        for line in self.process.stdout:
            if re.match(r"^\s+lin_", line):
                self.token = line.strip()
            if line.startswith("Lineage on "):
                break
        threading.Thread(target=lambda: [None for _ in self.process.stdout],
                         daemon=True).start()

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.request(method, path, json.dumps(body) if body is not None else None,
                           {"Authorization": f"Bearer {self.token}",
                            "Content-Type": "application/json"})
        reply = connection.getresponse()
        data = reply.read()
        connection.close()
        if reply.status >= 400:
            raise RuntimeError(f"{method} {path}: {reply.status} {data[:300]!r}")
        return json.loads(data) if data else {}

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


def session_cookie(server: Server) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    value = secrets.token_urlsafe(12)
    connection.request("POST", "/login", f"token={server.token}&csrf_token={value}",
                       {"Content-Type": "application/x-www-form-urlencoded",
                        "Cookie": f"{LOGIN_COOKIE}={value}"})
    reply = connection.getresponse()
    reply.read()
    cookie = reply.getheader("Set-Cookie", "")
    connection.close()
    return cookie.split(";", 1)[0].removeprefix(f"{SESSION_COOKIE}=")


def listen(server: Server, project: str, events: queue.Queue, stop: threading.Event) -> None:
    """The second page's event feed: (position, arrival time) of each comment."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    connection.request("GET", f"/api/events/stream?project={project}&heartbeat=1",
                       headers={"Authorization": f"Bearer {server.token}"})
    reply = connection.getresponse()
    kind = None
    while not stop.is_set():
        line = reply.fp.readline().decode()
        if not line:
            break
        if line.startswith("event: "):
            kind = line[7:].strip()
        elif line.startswith("data: ") and kind == "comment.added":
            events.put((json.loads(line[6:])["position"], time.perf_counter()))
    connection.close()


def live_updates(args: argparse.Namespace) -> None:
    print(f"\n== live updates: a second page redraws after each comment, {args.live_seconds:.0f} s"
          f" while the studio day plays at scale {args.day_scale}")
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder))
        try:
            project = server.call("POST", "/api/projects", {"name": "Live"})["project_id"]
            asset = server.call("POST", f"/api/projects/{project}/assets",
                                {"name": "Hero"})["asset_id"]
            job = server.call("POST", f"/api/assets/{asset}/generations", {
                "prompt": "a kite", "width": 64, "height": 64, "steps": 2})["jobs"][0]
            while (status := server.call("GET", f"/api/jobs/{job['job_id']}"))["status"] \
                    not in ("completed", "failed"):
                time.sleep(0.2)
            version = status["version_ids"][0]
            cookie = session_cookie(server)
            plan = Plan.scaled(args.day_scale, seconds=args.live_seconds + 30)
            day = threading.Thread(target=play_day, args=("127.0.0.1", server.port,
                                                          server.token, plan),
                                   kwargs={"progress_every": 1e9}, daemon=True)
            day.start()
            time.sleep(min(20.0, args.live_seconds / 3))  # the day's setup, then its load
            arrivals: queue.Queue = queue.Queue()
            stop = threading.Event()
            threading.Thread(target=listen, args=(server, project, arrivals, stop),
                             daemon=True).start()
            time.sleep(1.0)
            latencies, deadline = [], time.monotonic() + args.live_seconds
            page = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                body = server.call("POST", f"/api/versions/{version}/comments",
                                   {"body": f"live {len(latencies)}"})
                position, _ = arrivals.get(timeout=30)
                while position < body["position"]:
                    position, _ = arrivals.get(timeout=30)
                page.request("GET", f"/assets/{asset}?v={version}&fragment=review"
                                    f"&min_position={position}",
                             headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})
                reply = page.getresponse()
                html = reply.read().decode()
                assert reply.status == 200 and f"live {len(latencies)}" in html
                latencies.append((time.perf_counter() - t0) * 1000)
                time.sleep(0.5)
            stop.set()
            print(f"  {len(latencies)} updates: p50 {percentile(latencies, 0.50):6.0f} ms   "
                  f"p95 {percentile(latencies, 0.95):6.0f} ms   (target p95 < 1000 ms)")
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--live-seconds", type=float, default=60.0)
    parser.add_argument("--day-scale", type=float, default=0.02)
    args = parser.parse_args()
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                time_pages("SQLite", sqlite_url(Path(tmp)), args)
        elif backend == "postgres":
            url, drop = postgres_url()
            try:
                time_pages("PostgreSQL", url, args)
            finally:
                drop()
    page_weight()
    if args.live_seconds > 0:
        live_updates(args)


if __name__ == "__main__":
    main()
