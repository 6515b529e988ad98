"""HTTP fixtures shared by every e2e test: an app over the ``database_url`` database
(SQLite and PostgreSQL), a test client, and an ``api`` helper that creates users with
tokens and roles.

    def test_something(api):
        project = api.project()                      # created by a global admin
        alice = api.as_user("creator", project)      # a new user, creator in it
        response = alice.post(f"/api/projects/{project}/assets", json={"name": "Hero"})
        assert response.status_code == 201
        assert api.head() == ...                     # global position: nothing appended?
"""

from __future__ import annotations

import io
import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.test import TestResponse

from app import create_app
from app.config import Settings
from app.services import Services, build_services
from commands.users import User, create_user

E2E_LIMITS = {"max_side": 1024, "max_prompt_chars": 2000, "max_image_pixels": 1024 * 1024,
              "max_upload_bytes": 2 * 1024 * 1024}
_addresses = itertools.count(1)


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    """Embedded-mode settings on the test database, blobs under tmp_path, small limits."""
    return Settings.from_env(data_dir=tmp_path / "var", database_url=database_url,
                             broker_url=None, **E2E_LIMITS)


@pytest.fixture
def services(settings) -> Iterator[Services]:
    lineage = build_services(settings)
    yield lineage
    lineage.close()


@pytest.fixture
def app(services):  # noqa: ANN201
    app = create_app(services=services)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app) -> FlaskClient:
    # A fresh client address per test keeps the auth-failure limiter per test.
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.9.{next(_addresses) % 250}.1"
    return client


class Caller:
    """A user with a bearer token; its methods send authenticated requests."""

    def __init__(self, client: FlaskClient, user: User, token: str, token_id: str) -> None:
        self.client = client
        self.user = user
        self.user_id = user.user_id
        self.token = token
        self.token_id = token_id

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                **kwargs: Any) -> TestResponse:  # noqa: ANN401
        return self.client.open(path, method=method, headers=self.headers(headers), **kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:  # noqa: ANN401
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:  # noqa: ANN401
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> TestResponse:  # noqa: ANN401
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> TestResponse:  # noqa: ANN401
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:  # noqa: ANN401
        return self.request("DELETE", path, **kwargs)


class Api:
    """Builds callers and fixtures of the domain through the real commands and routes."""

    def __init__(self, client: FlaskClient, services: Services) -> None:
        self.client = client
        self.services = services
        self.store = services.store
        self._admin: Caller | None = None

    def user(self, name: str | None = None, *, admin: bool = False) -> Caller:
        """A new user with a token (a global admin with ``admin=True``)."""
        user, token = create_user(self.store, name or f"user-{uuid.uuid4().hex[:6]}",
                                  is_admin=admin)
        return Caller(self.client, user, token.token, token.token_id)

    @property
    def admin(self) -> Caller:
        """A global admin (created on first use)."""
        if self._admin is None:
            self._admin = self.user("admin", admin=True)
        return self._admin

    def project(self, name: str = "Campaign", **policies: Any) -> str:  # noqa: ANN401
        """A project created by the global admin; ``policies`` are set when given."""
        response = self.admin.post("/api/projects", json={"name": name})
        assert response.status_code == 201, response.get_json()
        project_id = response.get_json()["project_id"]
        if policies:
            response = self.admin.patch(f"/api/projects/{project_id}/policies", json=policies)
            assert response.status_code == 200, response.get_json()
        return project_id

    def as_user(self, role: str, project_id: str | None = None, name: str | None = None,
                ) -> Caller:
        """A new user holding ``role`` in ``project_id`` (a new project when None)."""
        project_id = project_id or self.project()
        caller = self.user(name or role)
        response = self.admin.put(f"/api/projects/{project_id}/members/{caller.user_id}",
                                  json={"role": role})
        assert response.status_code == 200, response.get_json()
        return caller

    def asset(self, project_id: str, name: str = "Hero image", **fields: Any) -> str:  # noqa: ANN401
        response = self.admin.post(f"/api/projects/{project_id}/assets",
                                   json={"name": name, **fields})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["asset_id"]

    def upload(self, asset_id: str, png: bytes, caller: Caller | None = None,
               **form: str) -> dict[str, Any]:  # noqa: ANN401
        """Upload ``png`` as a version of the asset; returns the version body."""
        response = (caller or self.admin).post(
            f"/api/assets/{asset_id}/uploads",
            data={"image": (io.BytesIO(png), "image.png"), **form},
            content_type="multipart/form-data")
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def head(self) -> int:
        """The store's global head position (unchanged = nothing was appended)."""
        return self.store.head().position


@pytest.fixture
def api(client, services) -> Api:
    return Api(client, services)


def png_bytes(width: int = 64, height: int = 64, color: tuple[int, int, int] = (200, 40, 40),
              mode: str = "RGB") -> bytes:
    """A small PNG (a solid colour) for uploads and masks."""
    buffer = io.BytesIO()
    Image.new(mode, (width, height), color if mode == "RGB" else color[0]).save(buffer, "PNG")
    return buffer.getvalue()


def assert_problem(response: TestResponse, status: int, detail_contains: str = "",
                   ) -> dict[str, Any]:
    """Assert an application/problem+json answer with ``status`` whose detail (or
    per-field errors) mention ``detail_contains``; return the problem body."""
    assert response.status_code == status, (response.status_code, response.get_data(True))
    assert response.mimetype == "application/problem+json", response.mimetype
    problem = response.get_json()
    assert problem["status"] == status and problem["title"] and problem["type"]
    text = problem["detail"] + " " + str(problem.get("errors", ""))
    assert detail_contains in text, text
    return problem


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the built-in models are built, once per test session."""
    return tmp_path_factory.mktemp("models-data")


@pytest.fixture(scope="module")
def chain_models(models_dir: Path) -> Iterator[Path]:
    """LINEAGE_DATA_DIR for the module's in-process jobs (the built-in models)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LINEAGE_DATA_DIR", str(models_dir))
        patch.delenv("LINEAGE_TORCH_THREADS", raising=False)
        yield models_dir


@pytest.fixture
def story(api: Api, chain_models: Path):  # noqa: ANN201 - tests.e2e.chain_support.Story
    """A creator's generate → inpaint → adjust chain (tests/e2e/chain_support.py)."""
    from tests.e2e.chain_support import make_story  # torch only for tests that ask

    return make_story(api)


@pytest.fixture
def workers(services, models_dir, monkeypatch):  # noqa: ANN201 - workers.runtime.JobWorkers
    """Embedded jobs as ``lineage serve`` runs them: worker threads and a relay."""
    from workers.broker import make_broker  # torch only for tests that ask
    from workers.relay import Relay
    from workers.runtime import JobWorkers, RelayThread, job_context

    monkeypatch.setenv("LINEAGE_DATA_DIR", str(models_dir))  # built-in model, built once
    broker = make_broker(None, set_global=False)
    workers = JobWorkers(broker, job_context(services), "e2etest", threads=2).start()
    relay = RelayThread(Relay(services.store, broker, "e2etest"), poll_seconds=0.1).start()
    yield workers
    relay.stop()
    workers.stop()
