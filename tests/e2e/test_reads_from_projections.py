"""GET /api/assets/{id} (also ``?as_of=``), /api/versions/{id}, /api/projects/{id},
/api/templates/{id} and /api/models answer from the read tables (SQLite and PostgreSQL):
the same answer after the projections are replayed from the log, the tree's answer to the
same "as of" question, the caller's own writes at once, and membership decided on every
request."""

from __future__ import annotations

import time
import urllib.parse
from datetime import UTC, datetime

import pytest

from commands.models import register_model
from events.store import Metadata
from projections.registry import make_runner
from tests.e2e.conftest import assert_problem, png_bytes


def _moment() -> datetime:
    time.sleep(0.05)
    moment = datetime.now(UTC)
    time.sleep(0.05)
    return moment


def _at(moment: datetime) -> str:
    return urllib.parse.quote(moment.isoformat())


@pytest.fixture
def history(api):
    """A project with a channel, policies and a member; an asset whose tags, versions,
    comments, decisions and pins changed over time; a revised template. Returns the ids
    and moments between the changes."""
    project = api.project(min_drafts_before_final=2)
    api.admin.put(f"/api/projects/{project}/channels/social",
                  json={"min_width": 64, "min_height": 64})
    creator = api.as_user("creator", project)
    reviewer = api.as_user("reviewer", project)
    asset = api.asset(project, tags=["zeta"])
    first = api.upload(asset, png_bytes(64, 64))["version_id"]
    moments = [_moment()]
    creator.post(f"/api/assets/{asset}/tags", json={"tag": "alpha"})
    second = api.upload(asset, png_bytes(64, 64, (9, 9, 9)),
                        parent_version_id=first)["version_id"]
    comment = creator.post(f"/api/versions/{second}/comments",
                           json={"body": "darker sky"}).get_json()
    decision = reviewer.post(f"/api/versions/{second}/decisions",
                             json={"decision": "approved", "channel": "social"}).get_json()
    creator.post(f"/api/versions/{first}/pins", json={"label": "client's pick"})
    moments.append(_moment())
    creator.post(f"/api/comments/{comment['comment_id']}/resolve")
    reviewer.post(f"/api/decisions/{decision['decision_id']}/revoke", json={"reason": "oops"})
    creator.delete(f"/api/assets/{asset}/tags/zeta")
    template = creator.post(f"/api/projects/{project}/templates", json={
        "name": "Shot", "prompt": "a {thing}"}).get_json()["template_id"]
    creator.patch(f"/api/templates/{template}", json={"prompt": "two {thing}s"})
    return {"project": project, "asset": asset, "versions": [first, second],
            "template": template, "moments": moments, "creator": creator}


def _answers(api, h) -> dict[str, tuple[int, object, str | None]]:
    paths = [f"/api/assets/{h['asset']}", f"/api/projects/{h['project']}",
             f"/api/templates/{h['template']}",
             *(f"/api/versions/{v}" for v in h["versions"]),
             *(f"/api/assets/{h['asset']}?as_of={_at(m)}" for m in h["moments"])]
    answers = {}
    for path in paths:
        response = api.admin.get(path)
        answers[path] = (response.status_code, response.get_json(), response.headers.get("ETag"))
    return answers


def test_answers_are_the_same_after_the_projections_are_replayed(api, history):
    before = _answers(api, history)

    make_runner(api.services.engine).replay()

    assert _answers(api, history) == before
    assert all(status == 200 for status, _, _ in before.values())


def test_an_asset_as_of_a_time_is_the_trees_answer_to_the_same_question(api, history):
    asset = history["asset"]
    for moment in (*history["moments"], None):
        query = f"?as_of={_at(moment)}" if moment else ""
        mine = api.admin.get(f"/api/assets/{asset}{query}").get_json()
        tree = api.admin.get(f"/api/assets/{asset}/tree{query}").get_json()
        review = api.admin.get(f"/api/assets/{asset}/review{query}").get_json()

        assert mine["tags"] == tree["asset"]["tags"]
        assert [v["version_id"] for v in mine["versions"]] == \
            [n["version_id"] for n in tree["nodes"]]
        assert mine["heads"] == tree["branch_heads"]
        assert [p["pin_id"] for p in mine["pins"]] == [p["pin_id"] for p in review["pins"]]
        open_comments = sum(v["open_comments"] for v in review["versions"])
        assert mine["counts"]["open_comments"] == open_comments
        standing = {d["decision_id"] for v in review["versions"] for d in v["decisions"]
                    if not d["revoked"]}
        assert {d["decision_id"] for d in mine["decisions"] if not d["revoked"]} == standing
    # Tags read as the tree reads them (normalised, in order), not in the order added.
    first, second = (api.admin.get(f"/api/assets/{asset}?as_of={_at(m)}").get_json()
                     for m in history["moments"])
    assert first["tags"] == ["zeta"] and second["tags"] == ["alpha", "zeta"]
    assert second["counts"]["open_comments"] == 1
    assert [d["revoked"] for d in second["decisions"]] == [False]
    now = api.admin.get(f"/api/assets/{asset}").get_json()
    assert now["tags"] == ["alpha"] and now["counts"]["open_comments"] == 0
    assert [d["revoked"] for d in now["decisions"]] == [True]


def test_the_etag_as_of_a_time_is_the_version_the_last_write_before_it_answered(api):
    project = api.project()
    asset = api.asset(project)
    tagged = api.admin.post(f"/api/assets/{asset}/tags", json={"tag": "hero"})
    between = _moment()
    api.admin.post(f"/api/assets/{asset}/tags", json={"tag": "later"})

    then = api.admin.get(f"/api/assets/{asset}?as_of={_at(between)}")
    now = api.admin.get(f"/api/assets/{asset}")

    assert then.headers["ETag"] == tagged.headers["ETag"]
    assert then.get_json()["version"] == tagged.get_json()["version"]
    assert now.get_json()["version"] == tagged.get_json()["version"] + 1


def test_reads_show_the_callers_own_writes_and_membership_is_decided_at_once(api, history):
    project, asset, creator = history["project"], history["asset"], history["creator"]
    version = history["versions"][0]
    routes = [f"/api/assets/{asset}", f"/api/versions/{version}",
              f"/api/versions/{version}/image", f"/api/projects/{project}",
              f"/api/templates/{history['template']}"]

    api.admin.put(f"/api/projects/{project}/channels/print",
                  json={"min_width": 128, "min_height": 128})
    assert [c["name"] for c in creator.get(f"/api/projects/{project}").get_json()[
        "channels"]] == ["print", "social"]
    creator.post(f"/api/assets/{asset}/tags", json={"tag": "fresh"})
    assert "fresh" in creator.get(f"/api/assets/{asset}").get_json()["tags"]
    assert all(creator.get(path).status_code == 200 for path in routes)

    api.admin.delete(f"/api/projects/{project}/members/{creator.user_id}")

    for path in routes:
        assert_problem(creator.get(path), 404, "does not exist")


def test_the_model_registry_reads_the_same_after_a_replay(api, services):
    inspected = {"kind": "pipeline", "spec": "/srv/models/flux", "path": "/srv/models/flux",
                 "family": "flux", "pipeline_class": "FluxPipeline",
                 "components": ["transformer"], "files": {"t.safetensors": "c" * 64},
                 "weights_hash": "d" * 64}
    register_model(services.store, Metadata(actor_id="cli"), inspected, "flux", "final")
    register_model(services.store, Metadata(actor_id="cli"),
                   {**inspected, "weights_hash": "e" * 64}, "flux")
    before = api.admin.get("/api/models").get_json()

    make_runner(api.services.engine).replay("models")

    assert api.admin.get("/api/models").get_json() == before
    (item,) = before["items"]
    assert (item["revision"], item["previous_weights_hashes"]) == (2, ["d" * 64])
    assert item["weights_hash"] == "e" * 64 and before["tiers"]["final"] == "flux"
