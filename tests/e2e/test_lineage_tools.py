"""Rebuild, re-bake, provenance and export over HTTP, with jobs run in-process on the
built-in tiny model (64x64, 2 steps). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib.util
import io
import json

import numpy as np
import prov
from PIL import Image, PngImagePlugin

from interchange.png_metadata import parse_generation_metadata, read_text_chunks
from tests.e2e.chain_support import PROMPT, Story
from tests.e2e.conftest import Api, assert_problem, png_bytes


def test_rebuild_over_http_reports_bit_exact_and_appends_no_version(story: Story) -> None:
    versions_before = story.creator.get(f"/api/assets/{story.asset_id}/versions").get_json()
    response = story.creator.post(f"/api/versions/{story.ids[-1]}/rebuild",
                                  json={"tolerance": {"max_channel_difference": 2}})
    assert response.headers["Location"] == response.get_json()["url"]

    status = story.run(response)

    report = status["report"]
    assert status["status"] == "completed" and status["version_ids"] == []
    assert report["verdict"] == "bit_exact" and report["chain"] == story.ids
    assert [s["operation"] for s in report["steps"]] == ["generate", "inpaint", "adjust"]
    assert report["tolerance"]["max_channel_difference"] == 2
    after = story.creator.get(f"/api/assets/{story.asset_id}/versions").get_json()
    assert after == versions_before


def test_rebuild_needs_the_creator_role_and_a_visible_version(story: Story) -> None:
    viewer = story.api.as_user("viewer", story.project_id)
    stranger = story.api.user()
    head = story.api.head()
    assert_problem(viewer.post(f"/api/versions/{story.ids[-1]}/rebuild"), 403, "creator")
    assert_problem(stranger.post(f"/api/versions/{story.ids[-1]}/rebuild"), 404)
    assert_problem(story.creator.post("/api/versions/not-a-uuid/rebuild"), 404)
    assert story.api.head() == head


def test_rebake_over_http_makes_a_sibling_branch(story: Story) -> None:
    generate, inpaint, adjust = story.ids
    decision = story.api.admin.post(f"/api/versions/{adjust}/decisions",
                                    json={"decision": "approved"})
    assert decision.status_code == 201, decision.get_json()
    response = story.creator.post(f"/api/versions/{adjust}/rebake", json={
        "overrides": {inpaint: {"prompt": "a model in a navy jacket"}}},
        headers={"Idempotency-Key": "navy-1"})
    repeat = story.creator.post(f"/api/versions/{adjust}/rebake", json={
        "overrides": {inpaint: {"prompt": "a model in a navy jacket"}}},
        headers={"Idempotency-Key": "navy-1"})
    assert repeat.get_json()["job_id"] == response.get_json()["job_id"]

    status = story.run(response)

    report = status["report"]
    assert [r["version_id"] for r in report["reused"]] == [generate]
    new_inpaint, new_adjust = status["version_ids"]
    body = story.creator.get(f"/api/versions/{new_inpaint}").get_json()
    assert body["parent_ids"] == [generate]
    assert body["recipe"]["prompt"] == "a model in a navy jacket"
    assert body["recipe"]["derived_from"] == inpaint
    review = story.creator.get(f"/api/versions/{new_adjust}").get_json()
    assert not [d for d in review.get("decisions", []) if d["decision"] == "approved"]


def test_rebake_refuses_bad_overrides_and_appends_nothing(story: Story) -> None:
    generate, inpaint, adjust = story.ids
    other = story.api.asset(story.project_id, "Other")
    uploaded = story.api.upload(other, png_bytes())
    foreign = story.api.upload(story.api.asset(story.api.project("Elsewhere")),
                               png_bytes(64, 64, (255, 255, 255)))["content_hash"]
    head = story.api.head()
    url = f"/api/versions/{adjust}/rebake"
    for mask in (foreign, "cd" * 32):  # another project's image and an unknown hash alike
        assert_problem(story.creator.post(url, json={"overrides": {inpaint: {"mask": mask}}}),
                       422, "is not stored in this project")
    assert_problem(story.creator.post(url, json={"overrides": {}}), 422, "overrides")
    assert_problem(story.creator.post(url, json={"overrides": {inpaint: {"colour": "x"}}}),
                   422, "colour")
    assert_problem(story.creator.post(url, json={"overrides": {generate: {"mask": "AAAA"}}}),
                   422, "'mask' cannot be overridden on a generate step")
    assert_problem(story.creator.post(url, json={
        "overrides": {uploaded["version_id"]: {"seed": 1}}}), 422, "not in the chain")
    assert story.api.head() == head


def test_provenance_is_valid_prov_json_with_reviews(story: Story) -> None:
    generate, inpaint, adjust = story.ids
    comment = story.creator.post(f"/api/versions/{inpaint}/comments", json={
        "body": "jacket looks too red", "region": {"x": 0.2, "y": 0.3, "w": 0.4, "h": 0.4}})
    assert comment.status_code == 201, comment.get_json()
    approve = story.api.admin.post(f"/api/versions/{adjust}/decisions",
                                   json={"decision": "approved", "note": "ship it"})
    assert approve.status_code == 201, approve.get_json()

    response = story.creator.get(f"/api/versions/{adjust}/provenance")

    assert response.status_code == 200
    document = prov.read(io.StringIO(response.get_data(as_text=True)), format="json")
    records = {str(r.identifier): r for r in document.get_records() if r.identifier}
    versions = {v["version_id"]: v for v in (
        story.creator.get(f"/api/versions/{i}").get_json() for i in story.ids)}
    for version_id, version in versions.items():
        image = records[f"img:{version['content_hash']}"]
        assert version_id in {str(v) for v in image.get_attribute("lineage:versionId")}
        step = records[f"step:{version_id}"]
        recipe = json.loads(next(iter(step.get_attribute("lineage:recipe"))))
        assert recipe["operation"] == version["recipe"]["operation"]
    assert len(list(document.get_records(prov.model.ProvDerivation))) == 2
    people = {str(next(iter(r.get_attribute("prov:label"))))
              for r in document.get_records(prov.model.ProvAgent)}
    assert {"Carla", "admin", "Lineage"} <= people
    comments = [r for r in document.get_records(prov.model.ProvEntity)
                if "jacket looks too red" in {str(v) for v in r.get_attribute("lineage:body")}]
    assert len(comments) == 1
    decisions = [r for r in document.get_records(prov.model.ProvActivity)
                 if {str(v) for v in r.get_attribute("lineage:decision")} == {"approved"}]
    assert len(decisions) == 1
    assert {str(v) for v in decisions[0].get_attribute("lineage:contentHash")} == {
        versions[adjust]["content_hash"]}


def test_export_png_carries_parameters_and_lineage_and_is_deterministic(story: Story) -> None:
    generate, inpaint, adjust = story.ids
    response = story.creator.get(f"/api/versions/{inpaint}/export?format=png")
    again = story.creator.get(f"/api/versions/{inpaint}/export")

    assert response.status_code == 200 and response.mimetype == "image/png"
    data = response.get_data()
    assert again.get_data() == data
    original = story.creator.get(f"/api/versions/{inpaint}/image").get_data()
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))),
                          np.asarray(Image.open(io.BytesIO(original))))
    imported = parse_generation_metadata(data)
    assert imported is not None and imported.tool in ("automatic1111", "forge")
    recipe = story.creator.get(f"/api/versions/{inpaint}").get_json()["recipe"]
    assert imported.recipe["prompt"] == PROMPT == recipe["prompt"]
    assert imported.recipe["seed"] == 7 and imported.recipe["steps"] == 2
    assert (imported.recipe["width"], imported.recipe["height"]) == (64, 64)
    values, _ = read_text_chunks(data)
    lineage = json.loads(values["lineage"])
    assert lineage["version_id"] == inpaint and lineage["recipe"] == recipe
    assert [step["version_id"] for step in lineage["chain"]] == [generate, inpaint]
    assert_problem(story.creator.get(f"/api/versions/{inpaint}/export?format=gif"), 422)
    if importlib.util.find_spec("c2pa") is None:
        assert_problem(story.creator.get(f"/api/versions/{inpaint}/export?c2pa=true"), 501,
                       "c2pa-python")


def test_export_of_an_upload_replaces_its_old_parameters(api: Api) -> None:
    project_id = api.project()
    asset_id = api.asset(project_id)
    buffer = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a castle\nSteps: 20, Sampler: Euler a, CFG scale: 7, "
                                "Seed: 42, Size: 64x64, Model: sd15")
    Image.new("RGB", (64, 64), "navy").save(buffer, "PNG", pnginfo=info)
    uploaded = api.upload(asset_id, buffer.getvalue())

    data = api.admin.get(f"/api/versions/{uploaded['version_id']}/export").get_data()

    values, _ = read_text_chunks(data)
    assert values["parameters"].startswith("a castle\n")
    assert data.count(b"parameters\x00") == 1
    assert parse_generation_metadata(data).recipe["seed"] == 42
    assert json.loads(values["lineage"])["chain"][0]["rebuildable"] is False
