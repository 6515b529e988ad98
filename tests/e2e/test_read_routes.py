"""Read-side routes over HTTP on SQLite and PostgreSQL: trees, lineage, review state with
as_of, search, taxonomy, audit and export, metrics, read-your-own-writes."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime

import pytest

from tests.e2e.conftest import assert_problem
from tests.read_history import History


class Member:
    """A user (token from History) calling the API."""

    def __init__(self, client, user_id: str, token: str) -> None:
        self.client, self.user_id, self.token = client, user_id, token

    def get(self, path: str, **kwargs):
        return self.client.get(path, headers={"Authorization": f"Bearer {self.token}"},
                               **kwargs)


@pytest.fixture
def world(client, services):
    """Two projects; ada (admin) and bob (reviewer) in ``p``, eve only in ``q``."""
    history = History(services.store)
    ada = Member(client, *history.user("ada"))
    bob = Member(client, *history.user("bob"))
    eve = Member(client, *history.user("eve"))
    p = history.project("summer", {ada.user_id: "admin", bob.user_id: "reviewer"})
    q = history.project("secret", {eve.user_id: "admin"})
    asset = history.asset(p, "fox banner", ["campaign/summer-26/social"], actor=ada.user_id)
    root = history.version(asset, ada.user_id, prompt="a red fox in the snow", seed=1)
    history.version(asset, ada.user_id, prompt="a red fox in the snow", seed=2)
    edit = history.version(asset, ada.user_id, parents=(root,), operation="inpaint",
                           prompt="a red fox in the snow, teal scarf")
    history.comment(edit, bob.user_id, "scarf colour is great")
    other = history.asset(q, "secret fox", ["campaign/summer-26/social"])
    hidden = history.version(other, eve.user_id, prompt="a red fox, secret")
    return {"h": history, "ada": ada, "bob": bob, "eve": eve, "p": p, "q": q,
            "asset": asset, "root": root, "edit": edit, "other": other, "hidden": hidden}


def caught_up(world) -> str:
    return f"min_position={world['h'].last_position}"


def tick() -> str:
    time.sleep(0.002)
    moment = datetime.now(UTC).isoformat()
    time.sleep(0.002)
    return moment


def test_tree_and_lineage(world):
    ada, asset = world["ada"], world["asset"]
    response = ada.get(f"/api/assets/{asset}/tree?{caught_up(world)}")
    assert response.status_code == 200
    tree = response.get_json()
    assert tree["projection"]["behind"] == 0
    assert response.headers["Lineage-Projection-Behind"] == "0"
    nodes = {n["version_id"]: n for n in tree["nodes"]}
    assert nodes[world["root"]]["children"] == [world["edit"]]
    assert nodes[world["edit"]]["operation"] == "inpaint"
    assert world["edit"] in tree["branch_heads"]

    chain = ada.get(f"/api/versions/{world['edit']}/lineage").get_json()["chain"]
    assert [step["version_id"] for step in chain] == [world["root"], world["edit"]]
    assert chain[-1]["recipe"]["prompt"] == "a red fox in the snow, teal scarf"


def test_without_min_position_the_answer_says_how_far_behind(world):
    response = world["ada"].get(f"/api/assets/{world['asset']}/review")
    # Nothing ran the projections yet: the asset is not in the read model.
    assert response.status_code == 404
    response = world["ada"].get(f"/api/projects/{world['p']}/metrics")
    assert response.get_json()["projection"]["behind"] == world["h"].last_position


def test_review_as_of_answers_which_version_was_agreed_then(world):
    h, bob, edit = world["h"], world["bob"], world["edit"]
    before = tick()
    approval = h.decide(edit, bob.user_id, channel="social")
    agreed = tick()
    h.revoke(edit, approval, world["ada"].user_id, "client changed their mind")
    after = tick()
    url = f"/api/assets/{world['asset']}/review"

    assert bob.get(f"{url}?as_of={before}").get_json()["approved"] == {}
    then = bob.get(f"{url}?as_of={agreed}").get_json()
    assert then["approved"]["social"]["version_id"] == edit
    assert then["approved"]["social"]["content_hash"] == h.version_hash[edit]
    assert bob.get(f"{url}?as_of={after}").get_json()["approved"] == {}
    now = bob.get(f"{url}?{caught_up(world)}").get_json()
    states = {v["version_id"]: v for v in now["versions"]}
    assert states[edit]["decisions"][0]["revoked"] is True
    assert states[edit]["open_comments"] == 1
    tree_then = bob.get(f"/api/assets/{world['asset']}/tree?as_of={agreed}").get_json()
    assert tree_then["approved"] == [edit]
    assert_problem(bob.get(f"{url}?as_of=yesterday"), 422, "as_of")


def test_search_taxonomy_facets_and_paging(world):
    ada = world["ada"]
    found = ada.get(f"/api/search?q=fox&facets=true&{caught_up(world)}").get_json()
    assert {r["version_id"] for r in found["items"]} >= {world["root"], world["edit"]}
    assert world["hidden"] not in {r["version_id"] for r in found["items"]}
    assert found["facets"]["operation"] == {"generate": 2, "inpaint": 1}
    collapsed = ada.get("/api/search?q=fox&collapse=seed").get_json()
    assert collapsed["total"] == 2
    by_tag = ada.get("/api/search?tag=campaign/summer-26&limit=2").get_json()
    assert by_tag["total"] == 3 and by_tag["next_cursor"]
    rest = ada.get(f"/api/search?tag=campaign/summer-26&limit=2&cursor={by_tag['next_cursor']}")
    assert len(rest.get_json()["items"]) == 1
    by_comment = ada.get("/api/search?q=scarf+colour").get_json()
    assert [r["version_id"] for r in by_comment["items"]] == [world["edit"]]
    assert_problem(ada.get("/api/search?tier=huge"), 422, "tier")
    assert_problem(ada.get("/api/search?bogus=1"), 422, "bogus")

    taxonomy = ada.get(f"/api/projects/{world['p']}/taxonomy").get_json()
    (campaign,) = taxonomy["tags"]
    assert (campaign["assets"], campaign["versions"]) == (1, 3)
    assert campaign["children"][0]["children"][0]["path"] == "campaign/summer-26/social"


def test_search_with_repeated_tags_requires_every_tag(world):
    """``tag=a&tag=b``: versions of assets carrying both (before, only the first
    counted)."""
    h, ada = world["h"], world["ada"]
    hero_asset = h.asset(world["p"], "hero poster", ["campaign/summer-26/print", "hero"])
    hero = h.version(hero_asset, ada.user_id, prompt="a hero fox")
    url = f"/api/search?{caught_up(world)}&tag=campaign/summer-26"

    def found(query: str) -> set[str]:
        return {r["version_id"] for r in ada.get(url + query).get_json()["items"]}

    assert hero in found("") and world["edit"] in found("")
    assert found("&tag=hero") == {hero}
    assert found("&tag=hero&tag=campaign/summer-26/social") == set()
    too_many = "".join(f"&tag=t{n}" for n in range(11))
    assert_problem(ada.get(url + too_many), 422, "tag")


def test_audit_and_export(world):
    h, bob = world["h"], world["bob"]
    approval = h.decide(world["edit"], bob.user_id, channel="print")
    h.revoke(world["edit"], approval, world["ada"].user_id, "wrong size")
    page = bob.get(f"/api/audit?type=decision&{caught_up(world)}").get_json()
    approved = page["items"][0]
    assert approved["actor_id"] == bob.user_id and approved["actor_role"] == "reviewer"
    assert approved["content_hash"] == h.version_hash[world["edit"]]
    assert approved["revoked_by"] == world["ada"].user_id
    assert all(e["project_id"] == world["p"] for e in
               bob.get("/api/audit?limit=1000").get_json()["items"])
    first = bob.get("/api/audit?limit=2").get_json()
    second = bob.get(f"/api/audit?limit=2&cursor={first['next_cursor']}").get_json()
    assert second["items"][0]["position"] > first["items"][-1]["position"]

    exported = bob.get(f"/api/audit/export?format=csv&asset={world['asset']}")
    assert exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert {r["event_type"] for r in rows} >= {"asset.created", "decision.recorded"}
    as_json = json.loads(bob.get("/api/audit/export?format=json&type=decision.revoked")
                         .get_data(as_text=True))
    assert [e["event_type"] for e in as_json] == ["decision.revoked"]


def test_audit_type_takes_the_words_people_use_and_refuses_unknown_ones(world):
    h, bob = world["h"], world["bob"]
    upload = h.version(world["asset"], world["ada"].user_id, operation="upload")
    approval = h.decide(world["edit"], bob.user_id)
    h.decide(world["root"], bob.user_id, "changes_requested")
    h.revoke(world["edit"], approval, world["ada"].user_id, "wrong size")
    wait = caught_up(world)

    def entries(word: str) -> list[dict]:
        response = bob.get(f"/api/audit?type={word}&{wait}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]

    assert [(e["decision"], e["version_id"]) for e in entries("approved")] == [
        ("approved", world["edit"])]
    assert [e["version_id"] for e in entries("changes_requested")] == [world["root"]]
    assert [e["event_type"] for e in entries("revoked")] == ["decision.revoked"]
    assert [e["event_type"] for e in entries("commented")] == ["comment.added"]
    assert [e["version_id"] for e in entries("uploaded")] == [upload]
    assert [e["version_id"] for e in entries("edited")] == [world["edit"]]
    assert len(entries("generated")) == 2
    assert len(entries("decision.recorded")) == 2 and len(entries("decision")) == 3
    for unknown in ("approve", "decision.approved", "Approved"):
        problem = assert_problem(bob.get(f"/api/audit?type={unknown}"), 422, "type")
        assert "approved, changes_requested" in str(problem["errors"]["type"])
    assert_problem(bob.get("/api/audit/export?type=nope"), 422, "decision.recorded")


def test_metrics(world):
    h = world["h"]
    final = h.version(world["asset"], world["ada"].user_id, parents=(world["edit"],),
                      tier="final")
    h.decide(final, world["bob"].user_id)
    figures = world["ada"].get(f"/api/projects/{world['p']}/metrics?{caught_up(world)}"
                               ).get_json()
    assert figures["overall"]["drafts"] == 3 and figures["overall"]["finals"] == 1
    assert figures["overall"]["approved_assets"] == 1


def test_strangers_see_nothing_through_any_route(world):
    eve, p, asset = world["eve"], world["p"], world["asset"]
    wait = caught_up(world)
    for path in (f"/api/assets/{asset}/tree", f"/api/assets/{asset}/review",
                 f"/api/versions/{world['edit']}/lineage", f"/api/projects/{p}/taxonomy",
                 f"/api/projects/{p}/metrics", f"/api/search?project={p}",
                 f"/api/audit?project={p}", f"/api/audit?asset={asset}",
                 f"/api/audit/export?project={p}", f"/api/events/stream?project={p}",
                 f"/api/assets/{asset}/review?as_of={tick()}"):
        assert_problem(eve.get(path), 404)
    mine = eve.get(f"/api/search?q=fox&{wait}").get_json()
    assert [r["version_id"] for r in mine["items"]] == [world["hidden"]]
    audit = eve.get(f"/api/audit?limit=1000&{wait}").get_json()["items"]
    assert audit and {e["project_id"] for e in audit} == {world["q"]}
    assert_problem(world["ada"].get(f"/api/projects/{world['q']}/taxonomy"), 404)
    assert eve.client.get(f"/api/assets/{asset}/tree").status_code == 401


def test_read_your_own_write_through_the_write_routes(api):
    project = api.project()
    creator = api.as_user("creator", project)
    response = creator.post(f"/api/projects/{project}/assets",
                            json={"name": "Poster", "tags": ["print/a3"]})
    assert response.status_code == 201, response.get_json()
    position = response.get_json()["position"]

    taxonomy = creator.get(f"/api/projects/{project}/taxonomy?min_position={position}")

    assert taxonomy.get_json()["tags"][0]["path"] == "print"
    assert taxonomy.get_json()["projection"]["position"] >= position
