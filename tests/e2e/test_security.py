"""Security basics every response shares: problem+json errors without stack traces,
security headers, token checks, a limit on authentication failures, request size limits."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import insert, text

from app import create_app
from app.auth import FAILURES_ALLOWED, current_principal, limiter
from app.config import Settings
from app.services import Services
from commands.users import create_user, revoke_token
from events.schema import event_head
from events.store import EventStore


@pytest.fixture
def app(engine, tmp_path):
    settings = Settings.from_env(data_dir=tmp_path, database_url=str(engine.url),
                                 broker_url=None, max_upload_bytes=4096)
    app = create_app(services=Services(settings=settings, engine=engine,
                                       store=EventStore(engine)))

    @app.get("/api/_boom")
    def boom():  # noqa: ANN202
        raise RuntimeError("secret internals: password=hunter2")

    @app.get("/api/_integrity")
    def integrity():  # noqa: ANN202 - a real IntegrityError: a second head row
        with engine.begin() as conn:
            conn.execute(insert(event_head).values(id=1, position=0, hash="0" * 64,
                                                   recorded_at=datetime(1970, 1, 1)))

    @app.get("/api/_programming")
    def programming():  # noqa: ANN202 - a real ProgrammingError: no such table
        with engine.connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table_here"))

    @app.get("/api/_whoami")
    def whoami():  # noqa: ANN202
        return {"name": current_principal().name}

    limiter._failures.clear()
    yield app
    limiter._failures.clear()


@pytest.fixture
def client(app):
    return app.test_client()


def test_unexpected_error_is_problem_json_without_stack_trace(client):
    response = client.get("/api/_boom")

    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    body = response.get_data(as_text=True)
    assert "hunter2" not in body and "Traceback" not in body
    assert response.json["status"] == 500


@pytest.mark.parametrize("path", ["/api/_integrity", "/api/_programming"])
def test_integrity_and_programming_errors_are_500_bugs_not_503_outages(client, path, caplog):
    response = client.get(path, headers={"X-Request-Id": "req-42"})

    assert response.status_code == 500, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert "Retry-After" not in response.headers
    assert response.json["request_id"] == "req-42" and "req-42" in response.json["detail"]
    assert "no_such_table_here" not in response.get_data(as_text=True)
    logged = [r for r in caplog.records if "req-42" in r.getMessage()]
    assert logged and logged[0].exc_info is not None  # with its traceback


def test_a_500_without_a_request_id_gets_one(client):
    response = client.get("/api/_boom")
    assert response.json["request_id"] == response.headers["X-Request-Id"]
    assert len(response.json["request_id"]) == 36


@pytest.mark.parametrize("path", ["/api/health", "/api/nowhere", "/api/_boom"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)

    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_unknown_route_is_problem_json(client):
    response = client.get("/api/nowhere")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["title"] == "Not Found"


def test_request_over_the_size_limit_is_refused_with_413(client):
    response = client.post("/api/_boom", data=b"x" * 10_000,
                           headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_valid_token_authenticates_and_a_revoked_one_does_not(client, store):
    user, token = create_user(store, "ann")
    assert client.get("/api/_whoami", headers=bearer(token.token)).json == {"name": "ann"}

    revoke_token(store, token.token_id, actor_id=user.user_id, reason="left the studio")
    response = client.get("/api/_whoami", headers=bearer(token.token))

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert "revoked" in response.json["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", [
    None, "Basic abc", "Bearer ", "Bearer not-a-token",
    "Bearer lin_" + "0" * 32 + "." + "x" * 30,
])
def test_missing_or_wrong_tokens_are_401(client, store, header):
    _, token = create_user(store, "ann")
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/_whoami", headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_right_token_id_with_wrong_secret_is_401(client, store):
    _, token = create_user(store, "ann")
    forged = token.token[: token.token.index(".") + 1] + "y" * 43
    assert client.get("/api/_whoami", headers=bearer(forged)).status_code == 401


def test_repeated_failures_of_one_token_id_are_limited_with_retry_after(client, store):
    _, token = create_user(store, "ann")
    wrong = token.token[: token.token.index(".") + 1] + "y" * 43
    for _ in range(FAILURES_ALLOWED):
        assert client.get("/api/_whoami", headers=bearer(wrong)).status_code == 401

    blocked = client.get("/api/_whoami", headers=bearer(wrong))

    assert blocked.status_code == 429
    assert blocked.mimetype == "application/problem+json"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert blocked.json["retry_after"] == int(blocked.headers["Retry-After"])
    # The token's holder, with the right secret, is never refused for others' failures.
    assert client.get("/api/_whoami", headers=bearer(token.token)).status_code == 200


def test_failures_from_one_address_never_lock_out_valid_tokens(client, store):
    """Behind a proxy every client shares an address: one client's bad and malformed
    tokens must not refuse the others' valid ones."""
    _, ann = create_user(store, "ann")
    for _ in range(FAILURES_ALLOWED + 5):
        client.get("/api/_whoami", headers=bearer("lin_" + "0" * 32 + "." + "x" * 30))
        client.get("/api/_whoami", headers=bearer("lin_bad"))

    malformed = client.get("/api/_whoami", headers=bearer("lin_bad"))
    assert malformed.status_code == 429 and int(malformed.headers["Retry-After"]) >= 1
    assert client.get("/api/_whoami", headers=bearer(ann.token)).json == {"name": "ann"}
    # Another, never-failed token id is not limited either.
    other = "lin_" + "1" * 32 + "." + "x" * 30
    assert client.get("/api/_whoami", headers=bearer(other)).status_code == 401


def test_forwarded_addresses_count_only_behind_configured_proxies(engine, tmp_path, store):
    def limited_for(trusted_proxies: int) -> tuple[int, int]:
        settings = Settings.from_env(data_dir=tmp_path, database_url=str(engine.url),
                                     broker_url=None, trusted_proxies=trusted_proxies)
        app = create_app(services=Services(settings=settings, engine=engine,
                                           store=EventStore(engine)))
        client = app.test_client()
        limiter.clear()
        for _ in range(FAILURES_ALLOWED):  # malformed tokens from client 203.0.113.7
            client.get("/api/users/me", headers={
                **bearer("lin_bad"), "X-Forwarded-For": "203.0.113.7"})
        same = client.get("/api/users/me", headers={
            **bearer("lin_bad"), "X-Forwarded-For": "203.0.113.7"}).status_code
        other = client.get("/api/users/me", headers={
            **bearer("lin_bad"), "X-Forwarded-For": "198.51.100.9"}).status_code
        return same, other

    # Without the setting the header is anyone's to forge: the socket address counts.
    assert limited_for(0) == (429, 429)
    assert limited_for(1) == (429, 401)
