"""Generation requests, promotion and the project policies over HTTP."""

from __future__ import annotations

import pytest

from events.store import NO_STREAM, Metadata
from tests.e2e.conftest import assert_problem, png_bytes

GOOD = {"prompt": "a red fox in snow", "width": 512, "height": 384}


@pytest.fixture
def scene(api):
    """A project with an asset and a creator in it."""
    project = api.project()
    return project, api.asset(project), api.as_user("creator", project)


def test_variations_are_one_job_each_with_consecutive_seeds(api, scene):
    _, asset, creator = scene

    response = creator.post(f"/api/assets/{asset}/generations",
                            json={**GOOD, "seed": 41, "variations": 3, "steps": 4,
                                  "guidance": 6.5, "negative_prompt": "blurry"})

    assert response.status_code == 202
    body = response.get_json()
    assert [job["seed"] for job in body["jobs"]] == [41, 42, 43]
    assert body["jobs"][0]["recipe"] == {
        "operation": "generate", "tier": "draft", "prompt": "a red fox in snow",
        "negative_prompt": "blurry", "seed": 41, "width": 512, "height": 384, "steps": 4,
        "guidance": 6.5}
    assert response.headers["Location"] == body["jobs"][0]["url"]
    job = creator.get(body["jobs"][0]["url"])
    assert job.status_code == 200 and job.get_json()["status"] == "requested"
    asset_body = creator.get(f"/api/assets/{asset}").get_json()
    assert asset_body["counts"]["pending_jobs"] == 3


def test_a_seed_is_drawn_and_recorded_when_none_is_given(scene):
    _, asset, creator = scene

    body = creator.post(f"/api/assets/{asset}/generations",
                        json={**GOOD, "variations": 2}).get_json()

    first, second = (job["seed"] for job in body["jobs"])
    assert 0 <= first < 2**32 and second == first + 1


def test_bad_generation_requests_answer_precise_problems_and_append_nothing(api, scene):
    _, asset, creator = scene
    url = f"/api/assets/{asset}/generations"
    head = api.head()
    cases = [
        ({**GOOD, "prompt": ""}, "prompt", "must not be empty"),
        ({**GOOD, "prompt": "x" * 10_000}, "prompt", "the limit is 2000"),
        ({**GOOD, "seed": -1}, "seed", "greater than or equal to 0"),
        ({**GOOD, "seed": 2**32}, "seed", "less than or equal to 4294967295"),
        ({**GOOD, "seed": "7"}, "seed", "Not a valid integer"),
        ({**GOOD, "seed": 1.5}, "seed", "Not a valid integer"),
        ({**GOOD, "width": 500}, "width", "multiple of 8"),
        ({**GOOD, "height": 4096}, "height", "within 64..1024"),
        ({**GOOD, "width": 32}, "width", "within 64..1024"),
        ({**GOOD, "width": True}, "width", "Not a valid integer"),
        ({**GOOD, "variations": 0}, "variations", "greater than or equal to 1"),
        ({**GOOD, "variations": 17}, "variations", "less than or equal to 16"),
        ({**GOOD, "tier": "ultra"}, "tier", "Must be one of"),
        ({**GOOD, "sampler": "euler"}, "sampler", "Unknown field"),
        ({**GOOD, "prompt": ["a"]}, "prompt", "Not a valid string"),
        ({**GOOD, "prompt": "fox\u0000"}, "prompt", "NUL"),
        ({**GOOD, "scheduler": "../../etc"}, "scheduler", "a scheduler a worker can run"),
        ({**GOOD, "scheduler": "FlowMatchEulerDiscreteScheduler"}, "scheduler",
         "EulerDiscreteScheduler"),
        ({**GOOD, "steps": 0}, "steps", "greater than or equal to 1"),
        ({"prompt": "fox"}, "width", "Missing data"),
    ]
    for payload, field, detail in cases:
        problem = assert_problem(creator.post(url, json=payload), 422, detail)
        assert field in problem["errors"], (payload, problem)
    assert_problem(creator.post(url, data="{", content_type="application/json"), 400,
                   "not valid JSON")
    assert_problem(creator.post(url, json={**GOOD, "seed": 2**32 - 2, "variations": 3}), 422,
                   "pass the largest seed")
    assert api.head() == head


def test_viewers_strangers_and_unknown_assets(api, scene):
    project, asset, _ = scene
    viewer = api.as_user("viewer", project)
    stranger = api.user("stranger")
    foreign = api.asset(api.project("other"))
    head = api.head()

    assert_problem(viewer.post(f"/api/assets/{asset}/generations", json=GOOD), 403,
                   "needs the creator role")
    assert_problem(stranger.post(f"/api/assets/{asset}/generations", json=GOOD), 404,
                   "does not exist")
    creator = scene[2]
    assert_problem(creator.post(f"/api/assets/{foreign}/generations", json=GOOD), 404,
                   "does not exist")
    assert_problem(creator.post("/api/assets/00000000-0000-0000-0000-000000000000/generations",
                                json=GOOD), 404, "does not exist")
    assert api.head() == head


def test_idempotent_generation_returns_the_same_jobs(api, scene):
    _, asset, creator = scene
    headers = {"Idempotency-Key": "gen-1"}

    first = creator.post(f"/api/assets/{asset}/generations", json=GOOD, headers=headers)
    head = api.head()
    again = creator.post(f"/api/assets/{asset}/generations", json=GOOD, headers=headers)

    assert again.status_code == 202 and again.get_json() == first.get_json()
    assert api.head() == head
    reused = creator.post(f"/api/assets/{asset}/tags", json={"tag": "x"}, headers=headers)
    assert_problem(reused, 409, "Idempotency-Key was already used")


def test_stale_if_match_on_generation_is_409(api, scene):
    _, asset, creator = scene
    etag = creator.get(f"/api/assets/{asset}").headers["ETag"]
    creator.post(f"/api/assets/{asset}/tags", json={"tag": "moved-on"})
    head = api.head()

    assert_problem(creator.post(f"/api/assets/{asset}/generations", json=GOOD,
                                headers={"If-Match": etag}), 409, "is at version")
    assert api.head() == head


def test_final_before_enough_drafts_is_refused_with_the_numbers(api):
    project = api.project(min_drafts_before_final=2)
    asset = api.asset(project)
    creator = api.as_user("creator", project)
    api.upload(asset, png_bytes())
    head = api.head()

    problem = assert_problem(creator.post(f"/api/assets/{asset}/generations",
                                          json={**GOOD, "tier": "final"}), 409,
                             "has 1 draft(s); the project requires 2")
    assert (problem["policy"], problem["drafts"], problem["required"]) == (
        "min_drafts_before_final", 1, 2)
    assert api.head() == head
    api.upload(asset, png_bytes(color=(0, 0, 0)))
    assert creator.post(f"/api/assets/{asset}/generations",
                        json={**GOOD, "tier": "final"}).status_code == 202


def test_final_render_cap_counts_pending_final_jobs(api):
    project = api.project(final_render_cap=2)
    asset = api.asset(project)
    creator = api.as_user("creator", project)
    url = f"/api/assets/{asset}/generations"

    assert creator.post(url, json={**GOOD, "tier": "final"}).status_code == 202
    head = api.head()
    problem = assert_problem(creator.post(url, json={**GOOD, "tier": "final", "variations": 2}),
                             409, "1 pending; 2 more would pass the cap of 2")
    assert problem["policy"] == "final_render_cap"
    assert api.head() == head
    assert creator.post(url, json={**GOOD, "tier": "final"}).status_code == 202
    assert creator.post(url, json={**GOOD, "tier": "draft", "variations": 4}).status_code == 202


def test_compute_budget_spent_refuses_every_request(api):
    from events.projects import ComputeUsed

    project = api.project(compute_budget_seconds=5)
    asset = api.asset(project)
    creator = api.as_user("creator", project)
    api.store.append(f"project-{project}", -1,
                     [ComputeUsed(job_id="j", asset_id=asset, seconds=5.5)],
                     Metadata(actor_id="worker"), stream_type="project")
    head = api.head()

    problem = assert_problem(creator.post(f"/api/assets/{asset}/generations", json=GOOD), 409,
                             "used 5.5 of its 5 GPU-seconds")
    assert problem["policy"] == "compute_budget_seconds" and problem["used_seconds"] == 5.5
    assert api.head() == head


def _generated_draft(api, asset: str, seed: int = 7) -> str:
    """A draft version as a worker would record it (jobs are not run in these tests)."""
    from events.assets import VersionCreated
    from events.store import StreamAppend

    version_id = f"00000000-0000-4000-8000-{seed:012d}"
    event = VersionCreated(
        version_id=version_id, asset_id=asset, author_id="worker", operation="generate",
        tier="draft", content_hash="ab" * 32, width=512, height=384,
        job_id=f"00000000-0000-4000-9000-{seed:012d}",
        recipe={"operation": "generate", "prompt": "a fox", "negative_prompt": "blur",
                "seed": seed, "steps": 12, "guidance": 5.0, "scheduler": "DDIMScheduler",
                "width": 512, "height": 384})
    api.store.append_streams([StreamAppend(f"asset-{asset}", "asset", -1, [event],
                                           entity_ids=(version_id,))], Metadata())
    return version_id


def test_promote_carries_the_drafts_dna_into_a_final(api, scene):
    _, asset, creator = scene
    draft = _generated_draft(api, asset)

    response = creator.post(f"/api/versions/{draft}/promote", json={"width": 1024})

    assert response.status_code == 202
    body = response.get_json()
    assert body["tier"] == "final" and body["input_version_id"] == draft
    assert body["jobs"][0]["recipe"] == {
        "operation": "generate", "tier": "final", "prompt": "a fox", "negative_prompt": "blur",
        "seed": 7, "width": 1024, "height": 384, "steps": 12, "guidance": 5.0,
        "scheduler": "DDIMScheduler", "promoted_from": draft, "derived_from": draft}
    job = creator.get(body["jobs"][0]["url"]).get_json()
    assert job["tier"] == "final"


def test_promote_refusals(api, scene):
    project, asset, creator = scene
    uploaded = api.upload(asset, png_bytes())["version_id"]
    final = api.upload(asset, png_bytes(color=(9, 9, 9)), tier="final")["version_id"]
    draft = _generated_draft(api, asset)
    viewer = api.as_user("viewer", project)
    head = api.head()

    assert_problem(creator.post(f"/api/versions/{uploaded}/promote", json={}), 422,
                   "no prompt and seed to promote")
    assert_problem(creator.post(f"/api/versions/{final}/promote", json={}), 422,
                   "is already final")
    assert_problem(creator.post(f"/api/versions/{draft}/promote", json={"width": 100}), 422,
                   "multiple of 8")
    assert_problem(viewer.post(f"/api/versions/{draft}/promote", json={}), 403, "creator")
    assert_problem(creator.post(f"/api/versions/{NO_STREAM}/promote", json={}), 404,
                   "does not exist")
    assert api.head() == head
