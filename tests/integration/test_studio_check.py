"""The distributed run's checker (bench/studio_check.py) catches what it exists to catch:
a lost write, a doubled one, a refused write that was written anyway, a stuck job, a
job that failed without a reason and a read table that a replay would not give."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from bench.studio_check import (
    check_exactly_once,
    check_jobs,
    check_projections,
    command_id,
    job_states,
)
from events.domain import stream_id
from events.jobs import JobCompleted, JobFailed, JobRequested
from events.projects import ProjectCreated
from events.store import NO_STREAM, Metadata
from tests.read_history import History

ROUTE = "POST /api/projects"


def accepted_write(store, user: str = "u1") -> dict:
    """Append a write the way the API does for an Idempotency-Key; the driver's record."""
    key = uuid.uuid4().hex
    project = str(uuid.uuid4())
    recorded = store.append(stream_id("project", project), NO_STREAM,
                            [ProjectCreated(project_id=project, name="p")],
                            Metadata(actor_id=user, command_id=f"http:{user}:{key}"),
                            stream_type="project")
    return {"route": ROUTE, "key": key, "user_id": user, "status": 201,
            "position": str(recorded[-1].position), "body": {"project_id": project}}


def test_given_every_accepted_write_in_the_log_once_then_the_check_passes(store):
    writes = [accepted_write(store) for _ in range(3)]

    check = check_exactly_once(store.engine, writes, [])

    assert check.ok, check.detail
    assert "0 lost, 0 duplicated" in check.detail


def test_given_an_accepted_write_missing_from_the_log_then_it_is_reported_lost(store):
    writes = [accepted_write(store)]
    never_written = {"route": ROUTE, "key": "k-lost", "user_id": "u1", "status": 201,
                     "position": "1", "body": {}}

    check = check_exactly_once(store.engine, [*writes, never_written], [])

    assert not check.ok
    assert "1 lost" in check.detail and "http:u1:k-lost" in check.detail


def test_given_a_write_copied_behind_the_apps_back_then_it_is_reported_duplicated(store):
    write = accepted_write(store)
    position = int(write["position"])
    with store.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO events (position, event_id, stream_id, stream_type, stream_version, "
            "event_type, schema_version, payload, actor_id, correlation_id, causation_id, "
            "command_id, occurred_at, recorded_at, prev_hash, hash) "
            "SELECT :new, :event_id, stream_id, stream_type, stream_version + 1, event_type, "
            "schema_version, payload, actor_id, correlation_id, causation_id, command_id, "
            "occurred_at, recorded_at, prev_hash, hash FROM events WHERE position = :old"),
            {"new": position + 1, "event_id": str(uuid.uuid4()), "old": position})

    check = check_exactly_once(store.engine, [write], [])

    assert not check.ok
    assert "1 duplicated" in check.detail and command_id(write) in check.detail


def test_given_a_refused_write_whose_key_is_in_the_log_then_it_is_reported(store):
    write = accepted_write(store)
    refused = {**write, "status": 422, "definite": True}

    check = check_exactly_once(store.engine, [], [refused])

    assert not check.ok
    assert "refused but written" in check.detail


def request_job(store, outcome=None) -> str:
    job_id = str(uuid.uuid4())
    events = [JobRequested(job_id=job_id, kind="generate", project_id="p", asset_id="a",
                           requested_by="u1")]
    if outcome is not None:
        events.append(outcome(job_id))
    store.append(stream_id("job", job_id), NO_STREAM, events, Metadata(), stream_type="job")
    return job_id


def test_given_finished_jobs_then_the_job_check_passes(store):
    done = request_job(store, lambda j: JobCompleted(job_id=j, cost_seconds=0.5))
    failed = request_job(store, lambda j: JobFailed(job_id=j, error_kind="model",
                                                    message="weights missing",
                                                    retryable=False))

    check = check_jobs(job_states(store.engine), [done, failed])

    assert check.ok, check.detail
    assert "1 completed, 1 failed" in check.detail


def test_given_a_stuck_a_silent_and_an_unknown_job_then_each_is_reported(store):
    stuck = request_job(store)
    silent = request_job(store, lambda j: JobFailed(job_id=j, error_kind="x", message=" ",
                                                    retryable=False))
    unknown = str(uuid.uuid4())

    check = check_jobs(job_states(store.engine), [stuck, silent, unknown])

    assert not check.ok
    assert f"1 stuck (not completed or failed): {stuck}" in check.detail
    assert f"failed without a reason: {silent}" in check.detail
    assert f"not in the log: {unknown}" in check.detail


def test_given_a_read_row_edited_behind_the_runners_back_then_the_projection_check_names_it(
        store):
    history = History(store)
    ada, _ = history.user("ada")
    history.asset(history.project("summer", {ada: "admin"}), "hero", ["hero"])
    assert check_projections(store.engine).ok

    with store.engine.begin() as conn:
        conn.execute(text("UPDATE rm_assets SET name = 'edited by hand'"))
    check = check_projections(store.engine)

    assert not check.ok
    assert "rm_assets: 1 rows live, 1 replayed (1 only live, 1 only replayed" in check.detail
    assert "edited by hand" in check.detail
    assert check_projections(store.engine).ok  # the replay replaced the edited table
