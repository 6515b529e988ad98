"""Hosted steps as jobs, on SQLite and PostgreSQL, against the local images-API stub:
the version's recipe and the job's cost record what the provider answered, failures end
the job with a reason in words, the key is in no event, log line or recipe, a rebuild
says the hosted step is not re-renderable and a re-bake asks the provider again."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from commands.jobs import load_job
from commands.rebuild import request_rebake
from commands.users import Principal
from events.store import EventStore, Metadata
from imaging.blobs import BlobStore
from tests.hosted_stub import USAGE, StubImagesServer, error_answer, stub_png
from tests.integration.jobs_support import new_project, request_job
from tests.integration.rebuild_support import run_one
from workers.hosted.provider import NOT_RERENDERABLE
from workers.job_runner import COMPLETED, FAILED, JobContext, run_job
from workers.rebuild import rebuild_report

KEY = "sk-live-DoNotLeak-9f8e7d6c5b4a"
PROMPT = "a lighthouse at dusk, poster"


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[StubImagesServer]:
    with StubImagesServer(image=stub_png((30, 60, 200))) as server:
        monkeypatch.setenv("LINEAGE_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("LINEAGE_HOSTED_BASE_URL", server.base_url)
        monkeypatch.setenv("LINEAGE_HOSTED_API_KEY", KEY)
        monkeypatch.setenv("LINEAGE_HOSTED_MAX_ATTEMPTS", "2")
        monkeypatch.setenv("LINEAGE_HOSTED_BACKOFF_S", "0")
        monkeypatch.setenv("LINEAGE_MODEL_FINAL", "hosted:openai:gpt-image-1")
        yield server


@pytest.fixture
def job_setup(store: EventStore, tmp_path: Path) -> tuple[JobContext, str, str, str]:
    user_id = str(uuid.uuid4())
    project_id, asset_id = new_project(store, user_id)
    return JobContext(store, BlobStore(tmp_path / "blobs")), user_id, project_id, asset_id


def all_event_text(store: EventStore) -> str:
    with store.engine.connect() as connection:
        return "\n".join(str(tuple(row)) for row in connection.execute(
            text("SELECT * FROM events ORDER BY position")))


def test_a_hosted_final_records_provider_model_ids_and_usage_and_never_the_key(
        store: EventStore, job_setup, stub: StubImagesServer,
        caplog: pytest.LogCaptureFixture) -> None:
    context, user_id, project_id, asset_id = job_setup
    caplog.set_level(logging.DEBUG)
    recipe = {"operation": "generate", "prompt": PROMPT, "seed": 11, "width": 64,
              "height": 64}

    job_id = request_job(store, project_id, asset_id, user_id, recipe, tier="final")
    assert run_job(context, job_id, worker="test") == COMPLETED

    state, _, _ = load_job(store, job_id)
    version = next(e.event for e in store.read_stream(f"asset-{asset_id}")
                   if getattr(e.event, "version_id", None) == state.version_ids[0])
    hosted = version.recipe["hosted"]
    assert version.recipe["model_id"] == "hosted:openai:gpt-image-1"
    assert (hosted["provider"], hosted["model"]) == ("openai", "gpt-image-1")
    assert hosted["response_ids"]["x-request-id"] == "req_stub_1"
    assert hosted["request"]["prompt"] == PROMPT
    # The job's cost carries the provider's usage beside the seconds.
    assert state.report["hosted"]["usage"] == USAGE
    assert state.report["summary"] == "Made by hosted model openai:gpt-image-1 (322 tokens)."
    assert state.cost_seconds > 0
    # The key went to the provider and nowhere else.
    assert stub.seen[0].headers["Authorization"] == f"Bearer {KEY}"
    assert KEY not in all_event_text(store)
    assert KEY not in caplog.text
    assert KEY.encode() not in context.blobs.get(version.content_hash)


def test_a_rate_limited_hosted_job_fails_with_the_reason_in_words(
        store: EventStore, job_setup, stub: StubImagesServer,
        caplog: pytest.LogCaptureFixture) -> None:
    context, user_id, project_id, asset_id = job_setup
    caplog.set_level(logging.DEBUG)
    stub.queue += [error_answer(429, f"Rate limit reached for key {KEY}", "requests",
                                "rate_limit_exceeded", {"Retry-After": "0"})] * 2

    job_id = request_job(store, project_id, asset_id, user_id,
                         {"operation": "generate", "prompt": PROMPT, "seed": 1}, tier="final")
    assert run_job(context, job_id, worker="test") == FAILED

    state, _, _ = load_job(store, job_id)
    assert state.error.kind == "hosted_rate_limited"
    assert "rate limiting: it answered 429 to all 2 attempts" in state.error.message
    assert KEY not in all_event_text(store) and KEY not in caplog.text


def test_a_hosted_step_rebuilds_from_its_verified_bytes_and_a_rebake_asks_again(
        store: EventStore, job_setup, stub: StubImagesServer) -> None:
    context, user_id, project_id, asset_id = job_setup
    hosted = run_one(context, project_id, asset_id, user_id,
                     {"operation": "generate", "prompt": PROMPT, "seed": 3, "width": 64,
                      "height": 64}, tier="final")
    adjusted = run_one(context, project_id, asset_id, user_id,
                       {"operation": "adjust", "adjustments": {"brightness": 1.2}},
                       kind="edit", input_version_id=hosted.version_id)

    report = rebuild_report(store, context.blobs, adjusted.version_id)

    assert len(stub.seen) == 1  # nothing was asked of the provider again
    first, second = report["steps"]
    assert first["source"] == "hosted" and first["note"] == NOT_RERENDERABLE
    assert first["rebuilt_hash"] == hosted.content_hash
    assert second["source"] == "rebuilt" and second["verdict"] == "bit_exact"
    assert NOT_RERENDERABLE in report["summary"]

    principal = Principal(user_id=user_id, name="Ada", is_admin=False, token_id="t")
    body = request_rebake(store, context.blobs, principal, Metadata(actor_id=user_id),
                          adjusted.version_id,
                          {hosted.version_id: {"prompt": "a lighthouse at dawn, poster"}})
    assert run_job(context, body["job_id"], worker="test") == COMPLETED

    assert len(stub.seen) == 2 and stub.seen[1].json["prompt"] == "a lighthouse at dawn, poster"
    state, _, _ = load_job(store, body["job_id"])
    remade = state.report["recomputed"][0]
    assert remade["hosted"]["response_ids"]["x-request-id"] == "req_stub_2"
    assert remade["hosted"]["usage"] == USAGE
