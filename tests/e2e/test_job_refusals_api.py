"""Refusing what cannot run, before anything is queued: a job predicted to pass its
tier's time limit (the estimate calibrated by the step costs already recorded) and every
parameter a worker would reject, in generations, edits, promotions, re-bakes and
rebuilds. Each refusal is a 422 problem with the numbers and appends nothing.
SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from events.assets import VersionCreated
from events.store import Metadata, StreamAppend
from projections.registry import make_runner
from tests.e2e.chain_support import Story
from tests.e2e.conftest import assert_problem, png_bytes

BIG = {"prompt": "a cathedral", "width": 1024, "height": 1024, "steps": 200}


@pytest.fixture
def scene(api, monkeypatch):
    monkeypatch.setenv("LINEAGE_JOB_TIME_LIMIT_DRAFT", "60")
    project = api.project()
    asset = api.asset(project)
    return project, asset, api.as_user("creator", project)


def record_steps(api, asset: str, seconds_per_megapixel_step: float) -> None:
    """Generations a worker recorded, at several sizes, costing the given rate; then the
    read side catches up (the estimate is calibrated from it)."""
    versions = []
    for side in (256, 512, 768, 1024):
        version_id = str(uuid.uuid4())
        versions.append(VersionCreated(
            version_id=version_id, asset_id=asset, author_id="worker", operation="generate",
            tier="draft", content_hash="ab" * 32, width=side, height=side,
            recipe={"operation": "generate", "steps": 20, "seed": 1},
            job_id=str(uuid.uuid4()),
            cost_seconds=seconds_per_megapixel_step * side * side * 20 / 1e6))
    api.store.append_streams([StreamAppend(
        f"asset-{asset}", "asset", -1, versions, entity_ids=[v.version_id for v in versions])],
        Metadata())
    make_runner(api.services.engine).catch_up()


def test_a_job_predicted_past_its_time_limit_is_refused_with_the_estimate(api, scene):
    _, asset, creator = scene
    head = api.head()

    problem = assert_problem(creator.post(f"/api/assets/{asset}/generations", json=BIG), 422,
                             "past the draft time limit of 60 s")

    assert problem["limit_seconds"] == 60 and problem["tier"] == "draft"
    assert problem["estimate"]["seconds"] > 60
    [step] = problem["estimate"]["steps"]
    assert (step["operation"], step["megapixel_steps"]) == ("generate", 209.715)
    assert api.head() == head
    small = creator.post(f"/api/assets/{asset}/generations",
                         json={**BIG, "width": 256, "height": 256, "steps": 20})
    assert small.status_code == 202, small.get_json()


def test_the_estimate_follows_the_costs_already_recorded(api, scene):
    _, asset, creator = scene
    record_steps(api, asset, 0.01)  # a fast GPU: 2 s for the big job

    fast = creator.post(f"/api/assets/{asset}/generations", json=BIG)
    assert fast.status_code == 202, fast.get_json()

    record_steps(api, asset, 5.0)  # the model was swapped for a slow one
    record_steps(api, asset, 5.0)
    # 23.6 megapixel-steps: 24 s by the built-in prior, well past 60 s at the new rate.
    problem = assert_problem(creator.post(
        f"/api/assets/{asset}/generations",
        json={**BIG, "width": 768, "height": 768, "steps": 40}), 422, "time limit of 60 s")
    assert "recorded generate step(s) on draft" in problem["estimate"]["steps"][0]["based_on"]


def test_edits_a_worker_would_refuse_are_refused_before_queuing(api, scene):
    _, asset, creator = scene
    source = api.upload(asset, png_bytes(64, 64))["version_id"]
    url = f"/api/versions/{source}/edits"
    head = api.head()
    cases = [
        ({"operation": "adjust", "adjustments": {"crop": [16, 16, 64, 64]}},
         "does not fit inside the 64x64 image"),
        ({"operation": "adjust", "adjustments": {"resize": [4096, 64]}}, "sides in 1..1024"),
        ({"operation": "adjust", "adjustments": {"resize": [1024, 1024], "rotate": 30}},
         "over the side 1024"),
        ({"operation": "upscale", "scale": 3}, "scale"),
        ({"operation": "img2img", "strength": 0.01, "steps": 20}, "leaves no denoising step"),
        ({"operation": "img2img", "scheduler": "NoSuchScheduler"}, "a scheduler a worker"),
        ({"operation": "outpaint", "margins": {"left": 12}}, "not a multiple of 8"),
    ]
    for payload, detail in cases:
        assert_problem(creator.post(url, json=payload), 422, detail)
    assert api.head() == head
    big = api.upload(asset, png_bytes(1024, 1024))["version_id"]
    head = api.head()
    assert_problem(creator.post(f"/api/versions/{big}/edits", json={
        "operation": "img2img", "steps": 200, "strength": 1.0}), 422, "time limit of 60 s")
    assert api.head() == head


def test_re_bake_overrides_a_worker_would_refuse_are_refused(story: Story) -> None:
    generate, inpaint, adjust = story.ids
    url = f"/api/versions/{adjust}/rebake"
    head = story.api.head()
    cases = [
        ({inpaint: {"strength": 0.01}}, "leaves no denoising step"),
        ({adjust: {"adjustments": {"crop": [0, 0, 100, 100]}}},
         "does not fit inside the 64x64 image"),
        ({adjust: {"adjustments": {"resize": [0, 64]}}}, "sides in 1..1024"),
    ]
    for overrides, detail in cases:
        problem = assert_problem(story.creator.post(url, json={"overrides": overrides}), 422,
                                 detail)
        assert problem["field"] == f"overrides.{next(iter(overrides))}"
    assert story.api.head() == head


def test_promotions_re_bakes_and_rebuilds_are_held_to_their_time_limits(
        story: Story, monkeypatch) -> None:
    generate, inpaint, adjust = story.ids
    monkeypatch.setenv("LINEAGE_JOB_TIME_LIMIT_FINAL", "0")
    monkeypatch.setenv("LINEAGE_JOB_TIME_LIMIT_DRAFT", "0")
    head = story.api.head()

    problem = assert_problem(story.creator.post(f"/api/versions/{adjust}/promote", json={}),
                             422, "past the final time limit of 0 s")
    assert [s["operation"] for s in problem["estimate"]["steps"]] == [
        "generate", "inpaint", "adjust"]
    assert_problem(story.creator.post(f"/api/versions/{adjust}/rebake", json={
        "overrides": {inpaint: {"prompt": "navy"}}}), 422, "draft time limit of 0 s")
    assert_problem(story.creator.post(f"/api/versions/{adjust}/rebuild", json={}), 422,
                   "draft time limit of 0 s")
    assert story.api.head() == head


def test_a_re_bake_asking_an_upscale_scale_the_engine_cannot_run_is_refused(
        story: Story) -> None:
    """The API, re-bake overrides and the engine share one list of upscale factors: a
    scale the edit route would refuse is refused for a re-bake too, before queueing."""
    upscaled = story.run(story.creator.post(f"/api/versions/{story.ids[-1]}/edits", json={
        "operation": "upscale", "scale": 2}))["version_ids"][0]
    head = story.api.head()
    for scale in (3, 1, 16):
        problem = assert_problem(story.creator.post(
            f"/api/versions/{upscaled}/rebake",
            json={"overrides": {upscaled: {"scale": scale}}}), 422, "scale must be one of 2, 4")
        assert problem["field"] == f"overrides.{upscaled}.scale"
    assert_problem(story.creator.post(f"/api/versions/{story.ids[-1]}/edits", json={
        "operation": "upscale", "scale": 3}), 422, "scale")
    assert story.api.head() == head
