"""Promoting an edited draft over HTTP: the whole chain (generate → inpaint → adjust) is
re-made on the final tier's model as a new branch, every step recorded and visible in
the tree, the lineage and the provenance. Jobs run in-process on the built-in model;
SQLite and PostgreSQL."""

from __future__ import annotations

import shutil

from tests.e2e.chain_support import Story
from tests.e2e.conftest import assert_problem
from workers.models import builtin_dir

CARRIED = ("prompt", "negative_prompt", "seed", "steps", "guidance", "strength", "width",
           "height", "adjustments", "scheduler")


def test_promoting_an_edited_draft_remakes_every_edit_on_the_final_model(
        story: Story, chain_models, tmp_path, monkeypatch) -> None:
    generate, inpaint, adjust = story.ids
    # A final model of its own (a copy of the built-in one at another path), so the
    # recipes show which model each step ran on.
    final_model = tmp_path / "final-model"
    shutil.copytree(builtin_dir(chain_models, "txt2img"), final_model)
    monkeypatch.setenv("LINEAGE_MODEL_FINAL", str(final_model))
    drafts = {v: story.creator.get(f"/api/versions/{v}").get_json() for v in story.ids}

    response = story.creator.post(f"/api/versions/{adjust}/promote", json={})

    assert response.status_code == 202, response.get_json()
    [job] = response.get_json()["jobs"]
    assert [s["derived_from"] for s in job["steps"]] == [generate, inpaint, adjust]
    status = story.run(response)
    assert (status["kind"], status["tier"], status["status"]) == ("promote", "final",
                                                                  "completed")
    remade = status["version_ids"]
    assert len(remade) == 3 and status["report"]["new_head"] == remade[-1]
    finals = [story.creator.get(f"/api/versions/{v}").get_json() for v in remade]
    for final, draft_id in zip(finals, story.ids, strict=True):
        draft = drafts[draft_id]
        assert final["tier"] == "final" and final["operation"] == draft["operation"]
        for key in CARRIED:
            assert final["recipe"].get(key) == draft["recipe"].get(key), key
        assert final["recipe"]["promoted_from"] == adjust
        assert final["recipe"]["derived_from"] == draft_id
    # The generation ran on the final tier's model; the inpaint on the same mask.
    assert finals[0]["recipe"]["model_id"] == str(final_model)
    assert drafts[generate]["recipe"]["model_id"] == "builtin:tiny"
    assert finals[1]["recipe"]["mask_hash"] == drafts[inpaint]["recipe"]["mask_hash"]
    # The new branch hangs from the draft's generation and chains its own steps.
    assert [f["parent_ids"] for f in finals] == [[generate], [remade[0]], [remade[1]]]

    position = status_position(story, status["job_id"])
    lineage = story.creator.get(f"/api/versions/{remade[-1]}/lineage?min_position={position}")
    chain = lineage.get_json()["chain"]
    assert [s["version_id"] for s in chain] == [generate, *remade]
    assert [s["operation"] for s in chain] == ["generate", "generate", "inpaint", "adjust"]
    assert [s["derived_from"] for s in chain[1:]] == [generate, inpaint, adjust]

    tree = story.creator.get(f"/api/assets/{story.asset_id}/tree?min_position={position}")
    nodes = {n["version_id"]: n for n in tree.get_json()["nodes"]}
    assert set(nodes[generate]["children"]) == {inpaint, remade[0]}
    assert remade[-1] in tree.get_json()["branch_heads"]
    assert all(f"promoted from draft {adjust}" in nodes[v]["note"] for v in remade)

    provenance = story.creator.get(f"/api/versions/{remade[-1]}/provenance").get_json()
    entities = {e["lineage:versionId"]: e for e in provenance["entity"].values()
                if "lineage:versionId" in e}
    assert entities[remade[1]]["lineage:promotedFrom"] == adjust
    assert entities[remade[1]]["lineage:remadeFrom"] == inpaint
    operations = sorted(a["prov:type"]["$"] for a in provenance["activity"].values()
                        if a["prov:type"]["$"] != "lineage:decision")
    assert operations == ["lineage:adjust", "lineage:generate", "lineage:generate",
                          "lineage:inpaint"]
    # The promoted chain is recorded completely enough to be made again, bit for bit.
    rebuilt = story.run(story.creator.post(f"/api/versions/{remade[-1]}/rebuild", json={}))
    assert rebuilt["report"]["verdict"] == "bit_exact", rebuilt["report"]["summary"]


def status_position(story: Story, job_id: str) -> int:
    """The log position of the job's completion (for ``?min_position=``)."""
    return max(r.position for r in story.api.store.read_stream(f"job-{job_id}"))


def test_an_unedited_draft_promotes_as_one_final_generation(story: Story) -> None:
    generate = story.ids[0]
    response = story.creator.post(f"/api/versions/{generate}/promote",
                                  json={"width": 128, "steps": 3})
    status = story.run(response)
    [final_id] = status["version_ids"]
    final = story.creator.get(f"/api/versions/{final_id}").get_json()
    assert (final["width"], final["recipe"]["steps"], final["parent_ids"]) == (
        128, 3, [generate])
    assert final["recipe"]["seed"] == 3


def test_an_edited_draft_keeps_its_recorded_sizes_and_counts_every_step_under_the_cap(
        story: Story) -> None:
    adjust = story.ids[-1]
    head = story.api.head()
    assert_problem(story.creator.post(f"/api/versions/{adjust}/promote", json={"width": 128}),
                   422, "without width and height")
    response = story.api.admin.patch(f"/api/projects/{story.project_id}/policies",
                                     json={"final_render_cap": 2})
    assert response.status_code == 200
    problem = assert_problem(story.creator.post(f"/api/versions/{adjust}/promote", json={}),
                             409, "3 more would pass the cap of 2")
    assert problem["policy"] == "final_render_cap"
    story.api.admin.patch(f"/api/projects/{story.project_id}/policies",
                          json={"final_render_cap": 3})
    first = story.creator.post(f"/api/versions/{adjust}/promote", json={})
    assert first.status_code == 202
    # The queued promotion holds its three places under the cap until it finishes.
    assert_problem(story.creator.post(f"/api/versions/{story.ids[0]}/promote", json={}), 409,
                   "3 pending")
    assert story.api.head() > head
