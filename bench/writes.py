"""Write side through the HTTP API on SQLite and PostgreSQL: what one request costs on a
busy asset, and how many comments a crowd of writers loses to races.

Builds one project whose stream holds ``--compute-events`` finished jobs' ComputeUsed
events and one asset with ``--versions`` versions and ``--comments`` comments, then
through an in-process Flask test client (no sockets: the app's own cost) prints CPU and
wall milliseconds per request for POST comment, POST decision and GET tree; then
``--threads`` threads post comments on one version at once and the 409s are counted.

    .venv/bin/python bench/writes.py [--backends sqlite,postgres] [--requests 200]

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

from app import create_app  # noqa: E402
from app.config import Settings  # noqa: E402
from app.services import build_services  # noqa: E402
from commands.users import create_user  # noqa: E402
from events.assets import VersionCreated  # noqa: E402
from events.db import make_engine, normalise_url  # noqa: E402
from events.migrate import upgrade  # noqa: E402
from events.projects import ComputeUsed  # noqa: E402
from events.reviews import CommentAdded  # noqa: E402
from events.store import ANY, EventStore, Metadata, StreamAppend  # noqa: E402
from projections.registry import make_runner  # noqa: E402

POSTGRES_URL = os.environ.get("LINEAGE_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
RECIPE = {"prompt": "a red fox in the snow, cinematic", "seed": 1, "steps": 4,
          "guidance": 7.5, "scheduler": {"name": "DDIM", "config": {"beta_end": 0.012}},
          "environment": {"python": "3.12", "torch": "2.5", "diffusers": "0.31"}}


def _database(backend: str, tmp: Path) -> tuple[str, Callable[[], None]]:
    """A migrated database URL and a function that drops it."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'lineage.db'}"
        drop = lambda: None  # noqa: E731 - the temporary folder goes with it
    else:
        schema = f"bench_writes_{uuid.uuid4().hex[:8]}"
        admin = create_engine(normalise_url(POSTGRES_URL))
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{normalise_url(POSTGRES_URL)}?options=-csearch_path%3D{schema}"

        def drop() -> None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url, drop


def _history(store: EventStore, project: str, asset: str, author: str, args) -> list[str]:  # noqa: ANN001
    """Versions, comments and finished jobs appended straight to the store; version ids."""
    stream, meta = f"asset-{asset}", Metadata(actor_id=author)
    versions: list[str] = []
    for index in range(args.versions):
        version_id = str(uuid.uuid4())
        parents = versions[-1:] if index % 3 else []
        versions.append(version_id)
        store.append_streams([StreamAppend(stream, "asset", ANY, [VersionCreated(
            version_id=version_id, asset_id=asset, author_id=author, operation="generate",
            tier="draft", content_hash=uuid.uuid4().hex * 2, width=64, height=64,
            recipe=RECIPE, parent_ids=parents)], entity_ids=(version_id,))], meta)
    for index in range(args.comments):
        comment_id = str(uuid.uuid4())
        store.append_streams([StreamAppend(stream, "asset", ANY, [CommentAdded(
            comment_id=comment_id, version_id=versions[index % len(versions)],
            author_id=author, body="the fox needs more contrast")],
            entity_ids=(comment_id,))], meta)
    store.append_streams([StreamAppend(f"project-{project}", "project", ANY, [
        ComputeUsed(job_id=str(uuid.uuid4()), asset_id=asset, seconds=1.5)
        for _ in range(args.compute_events)])], meta)
    return versions


def _per_request(name: str, count: int, request: Callable[[int], None]) -> str:
    request(0)  # warm
    cpu, wall = time.process_time(), time.perf_counter()
    for index in range(count):
        request(index)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return f"  {name:<30} CPU {cpu / count * 1000:6.2f} ms   wall {wall / count * 1000:6.2f} ms"


def run(backend: str, args) -> None:  # noqa: ANN001
    tmp = Path(tempfile.mkdtemp(prefix="lineage-writes-"))
    url, drop = _database(backend, tmp)
    services = build_services(Settings.from_env(data_dir=tmp / "var", database_url=url,
                                                broker_url=None))
    client = create_app(services=services).test_client()
    try:
        admin, admin_token = create_user(services.store, "admin", is_admin=True)
        reviewer, token = create_user(services.store, "reviewer")
        as_admin = {"Authorization": f"Bearer {admin_token.token}"}
        headers = {"Authorization": f"Bearer {token.token}"}

        def call(method: str, path: str, status: int, auth=headers, **kwargs):  # noqa: ANN001, ANN202
            response = client.open(path, method=method, headers=auth, **kwargs)
            assert response.status_code == status, (path, response.get_data(True))
            return response.get_json()

        project = call("POST", "/api/projects", 201, as_admin, json={"name": "P"})["project_id"]
        call("PUT", f"/api/projects/{project}/members/{reviewer.user_id}", 200, as_admin,
             json={"role": "reviewer"})
        asset = call("POST", f"/api/projects/{project}/assets", 201, as_admin,
                     json={"name": "Hero"})["asset_id"]
        versions = _history(services.store, project, asset, admin.user_id, args)
        make_runner(services.engine).catch_up()
        count = args.requests
        print(f"{backend}: asset of {args.versions} versions and {args.comments} comments, "
              f"project stream of {args.compute_events} finished jobs; {count} requests each")
        print(_per_request("POST /versions/{id}/comments", count, lambda i: call(
            "POST", f"/api/versions/{versions[i % len(versions)]}/comments", 201,
            json={"body": f"note {i}"})))
        print(_per_request("POST /versions/{id}/decisions", count, lambda i: call(
            "POST", f"/api/versions/{versions[i % len(versions)]}/decisions", 201,
            json={"decision": "changes_requested"})))
        print(_per_request("GET /assets/{id}/tree", count, lambda i: call(
            "GET", f"/api/assets/{asset}/tree", 200)))
        statuses: list[int] = []

        def crowd() -> None:
            for index in range(args.per_thread):
                response = client.post(f"/api/versions/{versions[0]}/comments",
                                       headers=headers, json={"body": f"crowd {index}"})
                statuses.append(response.status_code)

        threads = [threading.Thread(target=crowd) for _ in range(args.threads)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        print(f"  {args.threads} threads x {args.per_thread} comments on one version: "
              f"{statuses.count(201)} created, {statuses.count(409)} answered 409, "
              f"{len(statuses) - statuses.count(201) - statuses.count(409)} other, "
              f"{elapsed:.1f} s")
    finally:
        services.close()
        drop()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--comments", type=int, default=500)
    parser.add_argument("--compute-events", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--per-thread", type=int, default=25)
    args = parser.parse_args()
    for backend in args.backends.split(","):
        run(backend, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
