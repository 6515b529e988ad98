"""Jobs on embedded Dramatiq workers (in-process broker + worker threads + relay), on
SQLite and PostgreSQL: versions, variations, determinism, duplicate delivery, failures,
retries and transient outages."""

from __future__ import annotations

import hashlib
import io
import threading

import pytest
from PIL import Image

from commands.jobs import load_job, retry_job
from events.domain import stream_id
from events.jobs import JobCompleted, JobStarted
from events.projects import ComputeUsed
from events.store import Metadata
from imaging.blobs import BlobStore
from tests.integration.jobs_support import (
    request_job,
    tiny_recipe,
    versions_of,
    wait_finished,
)
from workers.broker import make_broker
from workers.job_runner import COMPLETED, SKIPPED, JobContext, run_job
from workers.relay import Relay, job_message, unfinished_jobs
from workers.runtime import JobWorkers, RelayThread

PREFIX = "actortest"
RECIPE_KEYS = {
    "operation",
    "prompt",
    "negative_prompt",
    "seed",
    "steps",
    "guidance",
    "scheduler",
    "scheduler_config",
    "width",
    "height",
    "model_id",
    "model_weights_hash",
    "environment",
    "tier",
}


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models-data")


@pytest.fixture
def context(store, tmp_path, models_dir, monkeypatch) -> JobContext:
    monkeypatch.setenv("LINEAGE_DATA_DIR", str(models_dir))  # built-in model, built once
    return JobContext(store=store, blobs=BlobStore(tmp_path / "blobs"))


@pytest.fixture
def jobs(context):
    """Embedded jobs: in-process broker, two worker threads and a relay."""
    broker = make_broker(None, set_global=False)
    workers = JobWorkers(broker, context, PREFIX, threads=2).start()
    relay = RelayThread(Relay(context.store, broker, PREFIX), poll_seconds=0.1).start()
    yield workers
    relay.stop()
    workers.stop()


def test_a_requested_generation_ends_as_a_version_with_its_image_and_recipe(context, jobs, project):
    user, project_id, asset_id = project
    job_id = request_job(context.store, project_id, asset_id, user, tiny_recipe(seed=42))

    state = wait_finished(context.store, [job_id])[job_id]

    assert state.status == "completed", state.error
    [version] = versions_of(context.store, asset_id)
    assert state.version_ids == (version.version_id,)
    assert (version.job_id, version.author_id, version.parent_ids) == (job_id, user, [])
    assert (version.width, version.height, version.tier) == (64, 64, "draft")
    assert set(version.recipe) >= RECIPE_KEYS
    assert version.recipe["seed"] == 42
    image = Image.open(io.BytesIO(context.blobs.get(version.content_hash)))
    assert image.size == (64, 64)
    assert context.store.locate(version.version_id) == stream_id("asset", asset_id)
    used = [
        r.event
        for r in context.store.read_stream(stream_id("project", project_id))
        if isinstance(r.event, ComputeUsed)
    ]
    assert [(u.job_id, u.seconds) for u in used] == [(job_id, state.cost_seconds)]


def test_sixteen_variations_give_sixteen_versions_with_distinct_seeds(context, jobs, project):
    user, project_id, asset_id = project
    job_ids = [
        request_job(context.store, project_id, asset_id, user, tiny_recipe(seed=100 + i))
        for i in range(16)
    ]

    states = wait_finished(context.store, job_ids)

    assert {s.status for s in states.values()} == {"completed"}
    versions = versions_of(context.store, asset_id)
    assert len(versions) == 16
    assert sorted(v.recipe["seed"] for v in versions) == list(range(100, 116))
    assert {v.job_id for v in versions} == set(job_ids)
    assert len({v.content_hash for v in versions}) == 16


def test_the_same_recipe_twice_gives_the_same_content_hash(context, jobs, project):
    user, project_id, asset_id = project
    first, second = (
        request_job(context.store, project_id, asset_id, user, tiny_recipe(seed=9))
        for _ in range(2)
    )

    wait_finished(context.store, [first, second])

    versions = versions_of(context.store, asset_id)
    assert len({v.version_id for v in versions}) == 2
    assert len({v.content_hash for v in versions}) == 1


def test_a_duplicate_delivery_gives_one_version(context, jobs, project):
    user, project_id, asset_id = project
    job_id = request_job(context.store, project_id, asset_id, user, tiny_recipe(seed=3))
    wait_finished(context.store, [job_id])
    request_event = load_job(context.store, job_id)[2][0]
    pending = unfinished_jobs([request_event])[0]

    for _ in range(2):  # the broker delivers the same message twice more
        jobs.broker.enqueue(job_message(PREFIX, pending))
    jobs.join()

    assert len(versions_of(context.store, asset_id)) == 1
    history = [r.event for r in context.store.read_stream(stream_id("job", job_id))]
    assert sum(isinstance(e, JobCompleted) for e in history) == 1
    assert sum(isinstance(e, JobStarted) for e in history) == 1


def test_a_delivery_after_completion_is_skipped(context, project):
    user, project_id, asset_id = project
    job_id = request_job(context.store, project_id, asset_id, user, tiny_recipe(seed=4))

    assert run_job(context, job_id, worker="a") == COMPLETED
    assert run_job(context, job_id, worker="b") == SKIPPED

    assert load_job(context.store, job_id)[0].attempts == 1
    assert len(versions_of(context.store, asset_id)) == 1


def test_two_workers_running_one_job_at_once_record_one_version(context, project):
    user, project_id, asset_id = project
    job_id = request_job(context.store, project_id, asset_id, user, tiny_recipe(seed=8))
    both_started = threading.Barrier(2)

    def run(worker: str) -> None:
        both_started.wait()
        run_job(context, job_id, worker=worker)

    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    history = [r.event for r in context.store.read_stream(stream_id("job", job_id))]
    assert sum(isinstance(e, JobCompleted) for e in history) == 1
    assert len(versions_of(context.store, asset_id)) == 1
    assert load_job(context.store, job_id)[0].status == "completed"


def test_a_pipeline_error_ends_as_a_failed_job_with_a_readable_reason(context, jobs, project):
    user, project_id, asset_id = project
    job_id = request_job(
        context.store, project_id, asset_id, user, tiny_recipe(scheduler="NoSuchScheduler")
    )

    state = wait_finished(context.store, [job_id])[job_id]

    assert state.status == "failed"
    assert state.error.retryable is False
    assert "NoSuchScheduler" in state.error.message
    assert versions_of(context.store, asset_id) == []


def test_an_unknown_job_kind_fails_instead_of_retrying_forever(context, project):
    user, project_id, asset_id = project
    job_id = request_job(context.store, project_id, asset_id, user, tiny_recipe(), kind="teleport")

    run_job(context, job_id)

    state, _, _ = load_job(context.store, job_id)
    assert (state.status, state.error.kind) == ("failed", "invalid_request")
    assert "teleport" in state.error.message


def test_a_failed_edit_retried_after_its_mask_arrives_completes_with_its_parent(
    context, jobs, project
):
    user, project_id, asset_id = project
    generated = request_job(context.store, project_id, asset_id, user, tiny_recipe(seed=5))
    [parent_id] = wait_finished(context.store, [generated])[generated].version_ids
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    mask_png = buffer.getvalue()

    mask_hash = hashlib.sha256(mask_png).hexdigest()
    edit = request_job(
        context.store,
        project_id,
        asset_id,
        user,
        tiny_recipe(operation="inpaint", prompt="a blue fox", steps=2),
        kind="edit",
        input_version_id=parent_id,
        mask_hash=mask_hash,
    )

    failed = wait_finished(context.store, [edit])[edit]
    assert (failed.status, failed.error.kind) == ("failed", "input_missing")
    assert mask_hash in failed.error.message

    context.blobs.put(mask_png)
    retry_job(context.store, edit, Metadata(actor_id=user))
    done = wait_finished(context.store, [edit])[edit]

    assert done.status == "completed", done.error
    assert (done.requests, done.attempts) == (2, 2)
    edited = [v for v in versions_of(context.store, asset_id) if v.job_id == edit]
    assert [(v.operation, v.parent_ids) for v in edited] == [("inpaint", [parent_id])]
    assert edited[0].recipe["mask_hash"] == mask_hash


def test_a_blob_store_outage_is_transient_and_the_next_attempt_completes(
    context, project, tmp_path
):
    user, project_id, asset_id = project
    job_id = request_job(context.store, project_id, asset_id, user, tiny_recipe(seed=6))
    (tmp_path / "not-a-folder").write_text("a file where the blob folder should be")
    broken = JobContext(store=context.store, blobs=BlobStore(tmp_path / "not-a-folder"))

    with pytest.raises(Exception) as outage:
        run_job(broken, job_id)
    assert type(outage.value).__name__ == "ServiceUnavailable"
    assert load_job(context.store, job_id)[0].status == "started"

    assert run_job(context, job_id) == COMPLETED
    state, _, _ = load_job(context.store, job_id)
    assert (state.status, state.attempts) == ("completed", 2)
    assert len(versions_of(context.store, asset_id)) == 1


def test_an_actor_retries_a_blob_store_outage_with_backoff_until_it_completes(
    store, tmp_path, models_dir, monkeypatch, project
):
    monkeypatch.setenv("LINEAGE_DATA_DIR", str(models_dir))
    (tmp_path / "outage").write_text("a file where the blob folder should be")
    blobs = BlobStore(tmp_path / "outage")
    context = JobContext(store=store, blobs=blobs)
    broker = make_broker(None, set_global=False)
    workers = JobWorkers(broker, context, PREFIX, threads=1).start()
    relay = RelayThread(Relay(store, broker, PREFIX), poll_seconds=0.1).start()
    try:
        user, project_id, asset_id = project
        job_id = request_job(store, project_id, asset_id, user, tiny_recipe(seed=12))
        # The first attempt fails on the blob write; Dramatiq retries it after a backoff.
        while load_job(store, job_id)[0].attempts < 2:
            threading.Event().wait(0.05)
        assert load_job(store, job_id)[0].status == "started"
        blobs.root = tmp_path / "blobs"  # the volume is back
        state = wait_finished(store, [job_id])[job_id]
    finally:
        relay.stop()
        workers.stop()

    assert state.status == "completed", state.error
    assert state.attempts >= 2
    assert len(versions_of(store, asset_id)) == 1


def test_a_job_past_its_time_limit_is_failed_and_not_retried(
    store, tmp_path, models_dir, monkeypatch, project
):
    monkeypatch.setenv("LINEAGE_DATA_DIR", str(models_dir))
    context = JobContext(store=store, blobs=BlobStore(tmp_path / "blobs"))
    user, project_id, asset_id = project
    # Load the model first, under the default limit: the second below is the pipeline's,
    # not the loading's (a cold load in a fresh process can itself take over a second).
    warm = request_job(store, project_id, asset_id, user, tiny_recipe(seed=2, steps=1))
    assert run_job(context, warm) == COMPLETED
    monkeypatch.setenv("LINEAGE_JOB_TIME_LIMIT_DRAFT", "1")
    broker = make_broker(None, set_global=False)
    workers = JobWorkers(broker, context, PREFIX, threads=1).start()
    relay = RelayThread(Relay(store, broker, PREFIX), poll_seconds=0.1).start()
    try:
        job_id = request_job(
            store,
            project_id,
            asset_id,
            user,
            # Sixteen times the work that once finished within the second on a fast CI
            # machine (200 steps at 128 px); the limit stops it after about one.
            tiny_recipe(seed=13, steps=200, width=512, height=512),
        )
        state = wait_finished(store, [job_id])[job_id]
        workers.join()
    finally:
        relay.stop()
        workers.stop()

    assert (state.status, state.error.kind, state.error.retryable) == ("failed", "time_limit", True)
    assert "1 s" in state.error.message
    assert load_job(store, job_id)[0].attempts == 1
    assert [v.job_id for v in versions_of(store, asset_id)] == [warm]
    # The second it computed before the limit stopped it is counted.
    assert state.cost_seconds > 0
    used = [
        r.event.seconds
        for r in store.read_stream(stream_id("project", project_id))
        if isinstance(r.event, ComputeUsed) and r.event.job_id == job_id
    ]
    assert used == [state.cost_seconds]
