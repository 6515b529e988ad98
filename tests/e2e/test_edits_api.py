"""Edit requests: every operation, masks (base64, blob, region), refusals."""

from __future__ import annotations

import base64

import pytest

from tests.e2e.conftest import assert_problem, png_bytes


@pytest.fixture
def scene(api):
    """A creator, an asset and a 64x64 uploaded source version."""
    project = api.project()
    asset = api.asset(project)
    source = api.upload(asset, png_bytes(64, 64))
    return project, asset, api.as_user("creator", project), source["version_id"]


def edit(caller, version_id: str, **payload):  # noqa: ANN001, ANN201
    return caller.post(f"/api/versions/{version_id}/edits", json=payload)


def mask_b64(width: int = 64, height: int = 64) -> str:
    return base64.b64encode(png_bytes(width, height, (255, 255, 255))).decode()


def test_img2img_requests_an_edit_job_on_the_source(api, scene):
    _, asset, creator, source = scene

    response = edit(creator, source, operation="img2img", prompt="watercolour", strength=0.5,
                    seed=3)

    assert response.status_code == 202
    body = response.get_json()
    assert body["kind"] == "edit" and body["input_version_id"] == source
    assert body["jobs"][0]["recipe"] == {"operation": "img2img", "tier": "draft", "seed": 3,
                                         "prompt": "watercolour", "strength": 0.5}
    job = creator.get(body["jobs"][0]["url"]).get_json()
    assert job["kind"] == "edit" and job["input_version_id"] == source


def test_inpaint_stores_the_mask_and_the_job_names_its_hash(api, scene, services):
    _, _, creator, source = scene

    by_base64 = edit(creator, source, operation="inpaint", prompt="a hat", mask=mask_b64())
    by_region = edit(creator, source, operation="inpaint", prompt="a hat",
                     region={"x": 0.25, "y": 0.25, "w": 0.5, "h": 0.5})

    assert by_base64.status_code == by_region.status_code == 202
    jobs = [creator.get(r.get_json()["jobs"][0]["url"]).get_json() for r in (by_base64,
                                                                            by_region)]
    stored = [services.store.read_stream(f"job-{job['job_id']}")[0].event.mask_hash
              for job in jobs]
    assert all(services.blobs.exists(key) for key in stored)
    by_blob = edit(creator, source, operation="inpaint", mask_blob=stored[1])
    assert by_blob.status_code == 202


def test_outpaint_upscale_and_adjust(api, scene):
    _, _, creator, source = scene

    out = edit(creator, source, operation="outpaint", margins={"left": 64, "right": 64})
    up = edit(creator, source, operation="upscale", scale=4)
    adjusted = edit(creator, source, operation="adjust",
                    adjustments={"rotate": 90, "brightness": 1.2}, tier="final")

    assert out.get_json()["jobs"][0]["recipe"]["margins"] == {
        "left": 64, "top": 0, "right": 64, "bottom": 0}
    assert up.get_json()["jobs"][0]["recipe"]["scale"] == 4
    assert adjusted.get_json()["tier"] == "final"
    assert adjusted.get_json()["jobs"][0]["recipe"] == {
        "operation": "adjust", "tier": "final",
        "adjustments": {"rotate": 90.0, "brightness": 1.2}}


def test_bad_edits_answer_precise_problems_and_append_nothing(api, scene):
    project, _, creator, source = scene
    viewer = api.as_user("viewer", project)
    foreign_asset = api.asset(api.project("other"))
    foreign = api.upload(foreign_asset, png_bytes())["version_id"]
    head = api.head()
    cases = [
        ({"operation": "inpaint", "mask": mask_b64(32, 32)}, 422,
         "mask is 32x32 but the source image is 64x64"),
        ({"operation": "inpaint", "mask": "!!!not base64"}, 422, "not valid base64"),
        ({"operation": "inpaint", "mask": base64.b64encode(b"text").decode()}, 422,
         "not a recognised image"),
        ({"operation": "inpaint", "mask_blob": "ab" * 32}, 422, "is not stored"),
        ({"operation": "inpaint"}, 422, "inpaint needs a mask"),
        ({"operation": "inpaint", "mask": mask_b64(), "region": {"x": 0, "y": 0, "w": 1,
                                                                 "h": 1}}, 422, "send one of"),
        ({"operation": "img2img", "mask": mask_b64()}, 422, "only inpaint takes mask"),
        ({"operation": "upscale", "scale": 3}, 422, "scale"),
        ({"operation": "upscale", "scale": 4, "seed": 2**32}, 422, "seed"),
        ({"operation": "outpaint", "margins": {"left": 1000}}, 422, "outpainted canvas"),
        ({"operation": "outpaint", "margins": {"left": 12}}, 422, "not a multiple of 8"),
        ({"operation": "outpaint", "margins": {"diagonal": 8}}, 422, "diagonal"),
        ({"operation": "adjust"}, 422, "adjust needs at least one adjustment"),
        ({"operation": "adjust", "adjustments": {"crop": [0, 0, 1]}}, 422, "crop"),
        ({"operation": "sharpen"}, 422, "operation"),
        ({"operation": "img2img", "strength": 2}, 422, "strength"),
        ({"operation": "img2img", "prompt": "x" * 10_000}, 422, "the limit is 2000"),
        ({"operation": "img2img", "region": {"x": 0.9, "y": 0, "w": 0.5, "h": 0.1}}, 422,
         "region"),
    ]
    for payload, status, detail in cases:
        assert_problem(edit(creator, source, **payload), status, detail)
    assert_problem(edit(viewer, source, operation="img2img"), 403, "needs the creator role")
    assert_problem(edit(creator, foreign, operation="img2img"), 404, "does not exist")
    assert api.head() == head


def test_edits_of_sources_whose_sides_are_not_multiples_of_8_need_adjust_first(api):
    project = api.project()
    asset = api.asset(project)
    odd = api.upload(asset, png_bytes(60, 64))["version_id"]
    head = api.head()

    assert_problem(edit(api.admin, odd, operation="img2img"), 422,
                   "multiples of 8, not 60x64; crop or resize it with adjust first")
    assert api.head() == head
    assert edit(api.admin, odd, operation="adjust",
                adjustments={"resize": [64, 64]}).status_code == 202


def test_a_blob_hash_is_usable_only_in_the_project_that_stored_it(api, scene, services):
    """Another project's upload or mask named by its SHA-256 answers exactly as an unknown
    hash does (no probing whether an image exists elsewhere); the project's own mask and
    upload work by hash."""
    _, asset, creator, source = scene
    elsewhere = api.project("Elsewhere")
    foreign_upload = api.upload(api.asset(elsewhere), png_bytes(64, 64, (255, 255, 255)))
    foreign_creator = api.as_user("creator", elsewhere)
    foreign_source = api.upload(api.asset(elsewhere), png_bytes(64, 64))["version_id"]
    masked = edit(foreign_creator, foreign_source, operation="inpaint",
                  mask=mask_b64()).get_json()
    foreign_mask = services.store.read_stream(
        f"job-{masked['jobs'][0]['job_id']}")[0].event.mask_hash
    head = api.head()

    keys = (foreign_upload["content_hash"], foreign_mask, "cd" * 32)
    answers = [edit(creator, source, operation="inpaint", mask_blob=key) for key in keys]

    problems = [assert_problem(answer, 422, "is not stored in this project")
                for answer in answers]
    assert len({(p["detail"].replace(key, "<hash>"), str(p.get("errors")).replace(key, "<hash>"))
                for p, key in zip(problems, keys, strict=True)}) == 1
    assert api.head() == head
    own = api.upload(asset, png_bytes(64, 64, (255, 255, 255)))
    assert edit(creator, source, operation="inpaint",
                mask_blob=own["content_hash"]).status_code == 202
