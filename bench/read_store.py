"""A seeded store for bench/read.py, kept on disk between runs.

Seeding 1,000,000 events and replaying the projections takes minutes on 2 cores, so
each (backend, size) is seeded once: SQLite into ``var/bench-cache/read/sqlite-<size>/``
(database file and data folder), PostgreSQL into a database of its own,
``bench_read_<size>`` (never the test database), with its data folder beside the SQLite
ones. ``ids.json`` is written last: a folder without it, or whose log is shorter than it
says, is seeded again (each run signs in, which appends a session; ``--parts lag``
appends comments, so it drops the marker). ``--reseed`` forces it.

Besides the synthetic history of :func:`bench.read.load`, the seed holds what the other
GET routes need, made through the API as a person would: a global admin who is also an
admin of the first project, a guest link, a template, a queued generation job and an
uploaded image (the only version whose pixels exist in the blob store), and a guest
who joined the link.
"""

from __future__ import annotations

import io
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import create_engine, text

from app import create_app
from app.config import Settings
from app.services import Services, build_services
from bench.history import load
from commands.guests import join_link, open_link
from commands.users import create_user
from events.db import make_engine, normalise_url
from events.domain import stream_id
from events.migrate import upgrade
from events.projects import MemberRoleSet
from events.store import ANY, EventStore, Metadata, StreamAppend
from projections.registry import make_runner

CACHE = Path(__file__).resolve().parents[1] / "var" / "bench-cache" / "read"
SEED_VERSION = 2
"""Bump when what is seeded changes, so cached stores are seeded again."""


@dataclass
class Seeded:
    """A seeded store ready to serve: its services, the ids routes are filled with."""

    backend: str
    size: int
    services: Services
    ids: dict

    def close(self) -> None:
        self.services.close()


def postgres_database(admin_url: str, name: str, *, fresh: bool) -> str:
    """The URL of database ``name`` on the server of ``admin_url``, created if missing
    (dropped first when ``fresh``)."""
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                              {"n": name}).first()
        if exists and fresh:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            exists = None
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    base = normalise_url(admin_url)
    return base[:base.rindex("/") + 1] + name


def _services(url: str, data_dir: Path) -> Services:
    return build_services(Settings.from_env(database_url=url, data_dir=data_dir,
                                            broker_url=None))


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 120, 40)).save(out, format="PNG")
    return out.getvalue()


def _created(client: FlaskClient, path: str, **kwargs: object) -> dict:
    response = client.post(path, **kwargs)
    assert response.status_code in (200, 201, 202), (path, response.status_code,
                                                      response.get_data(as_text=True)[:300])
    return response.get_json()


def _through_the_api(services: Services, ids: dict) -> None:
    """What the synthetic history lacks, made through the API by the bench's admin."""
    client = create_app(services=services).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {ids['token']}"
    project, asset = ids["project"], ids["big_asset"]
    link = _created(client, f"/api/projects/{project}/guest-links",
                    json={"asset_ids": [asset]})
    ids["guest_code"] = link["url"].rstrip("/").rsplit("/", 1)[-1] if "url" in link \
        else link["code"]
    ids["guest"] = join_link(services.store, open_link(services.store, ids["guest_code"]),
                             "bench guest")
    ids["template"] = _created(client, f"/api/projects/{project}/templates", json={
        "name": "bench poster", "prompt": "a {subject} poster"})["template_id"]
    ids["job"] = _created(client, f"/api/assets/{asset}/generations", json={
        "prompt": "a kite", "width": 64, "height": 64, "steps": 2})["jobs"][0]["job_id"]
    ids["upload"] = _created(client, f"/api/assets/{asset}/uploads", data={
        "image": (io.BytesIO(_png()), "bench.png")},
        content_type="multipart/form-data")["version_id"]


def _seed(url: str, data_dir: Path, size: int) -> dict:
    engine = make_engine(url)
    upgrade(engine)
    store = EventStore(engine)
    started = time.perf_counter()
    ids = load(store, size)
    admin, token = create_user(store, "bench reader", is_admin=True)
    store.append_streams([StreamAppend(
        stream_id("project", ids["project"]), "project", ANY,
        [MemberRoleSet(user_id=admin.user_id, role="admin")])], Metadata(actor_id=admin.user_id))
    ids |= {"user": admin.user_id, "token": token.token}
    print(f"  seeded {store.head().position:,} events in {time.perf_counter() - started:.0f} s",
          flush=True)
    engine.dispose()
    services = _services(url, data_dir)
    try:
        _through_the_api(services, ids)
        started = time.perf_counter()
        services.engine.dispose()
        make_runner(services.engine).replay()
        print(f"  projections replayed in {time.perf_counter() - started:.0f} s", flush=True)
        ids["head"] = services.store.head().position
    finally:
        services.close()
    return ids


def seeded(backend: str, size: int, *, postgres_url: str, reseed: bool = False) -> Seeded:
    """The (backend, size) store, seeded now unless a complete one is cached."""
    folder = CACHE / f"{backend}-{size}"
    marker = folder / "ids.json"
    data_dir = folder / "data"
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'lineage.db'}"
    else:
        url = postgres_database(postgres_url, f"bench_read_{size}", fresh=False)
    ids = json.loads(marker.read_text()) if marker.exists() and not reseed else None
    if ids is not None and ids.get("seed_version") == SEED_VERSION:
        services = _services(url, data_dir)
        upgrade(services.engine)
        if services.store.head().position >= ids["head"]:  # + sign-ins of earlier runs
            make_runner(services.engine).catch_up()
            print(f"  reusing the seeded store in {folder} ({ids['head']:,} events)",
                  flush=True)
            return Seeded(backend, size, services, ids)
        services.close()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    if backend == "postgres":
        url = postgres_database(postgres_url, f"bench_read_{size}", fresh=True)
    ids = _seed(url, data_dir, size) | {"seed_version": SEED_VERSION}
    marker.write_text(json.dumps(ids, indent=1))
    return Seeded(backend, size, _services(url, data_dir), ids)
