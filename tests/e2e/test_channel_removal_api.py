"""Removing a delivery channel over HTTP (SQLite and PostgreSQL): who may, what is
refused, and what happens to the approvals recorded for it (they stay in the audit and
stop standing, in the tree, the review state, the studio's asset page and search alike,
as the access read model's history of removals has it; the name set again brings them
back)."""

from __future__ import annotations

import re
import uuid

from projections.registry import make_runner
from tests.e2e.conftest import assert_problem, png_bytes
from tests.e2e.test_studio_board import sign_in


def _channels(api, project: str) -> list[str]:
    return [c["name"] for c in api.admin.get(f"/api/projects/{project}").get_json()["channels"]]


def test_removing_a_channel_keeps_its_decisions_in_the_audit_and_ends_its_approvals(api):
    project = api.project()
    for name, side in (("social", 32), ("print", 64)):
        assert api.admin.put(f"/api/projects/{project}/channels/{name}",
                             json={"min_width": side, "min_height": side}).status_code == 200
    asset = api.asset(project)
    version = api.upload(asset, png_bytes(64, 64))["version_id"]
    reviewer = api.as_user("reviewer", project, "Rita")
    for channel in ("social", "print"):
        response = reviewer.post(f"/api/versions/{version}/decisions",
                                 json={"decision": "approved", "channel": channel})
        assert response.status_code == 201, response.get_json()
    before = api.admin.get(f"/api/assets/{asset}/review",
                           query_string={"min_position": response.get_json()["position"]},
                           ).get_json()
    assert sorted(before["approved"]) == ["print", "social"]

    removed = api.admin.delete(f"/api/projects/{project}/channels/print")

    assert removed.status_code == 200, removed.get_json()
    assert [c["name"] for c in removed.get_json()["channels"]] == ["social"]
    position = removed.get_json()["position"]
    review = api.admin.get(f"/api/assets/{asset}/review?min_position={position}").get_json()
    assert list(review["approved"]) == ["social"]
    decisions = review["versions"][0]["decisions"]
    assert sorted(d["channel"] for d in decisions) == ["print", "social"]  # history stays
    tree = api.admin.get(f"/api/assets/{asset}/tree").get_json()
    assert tree["nodes"][0]["approved_channels"] == ["social"]
    # As of a moment before the removal, the print approval stood.
    then = api.admin.get(f"/api/assets/{asset}/review",
                         query_string={"as_of": before["versions"][0]["decisions"][-1][
                             "decided_at"]}).get_json()
    assert sorted(then["approved"]) == ["print", "social"]
    audit = api.admin.get(f"/api/audit?project={project}&min_position={position}").get_json()
    kinds = [(e["event_type"], e.get("channel")) for e in audit["items"]]
    assert ("decision.recorded", "print") in kinds
    assert ("project.channel_removed", None) in kinds
    # New decisions cannot name it; setting it again brings its standing approval back.
    assert_problem(reviewer.post(f"/api/versions/{version}/decisions",
                                 json={"decision": "approved", "channel": "print"}),
                   422, "unknown channel 'print'")
    again = api.admin.put(f"/api/projects/{project}/channels/print",
                          json={"min_width": 64, "min_height": 64}).get_json()
    review = api.admin.get(
        f"/api/assets/{asset}/review?min_position={again['position']}").get_json()
    assert sorted(review["approved"]) == ["print", "social"]


def test_channel_removal_is_for_admins_and_refuses_bad_and_unknown_names(api):
    project = api.project()
    api.admin.put(f"/api/projects/{project}/channels/print",
                  json={"min_width": 10, "min_height": 10})
    callers = [api.as_user(role, project) for role in ("viewer", "creator", "reviewer")]
    stranger = api.user("stranger")
    head = api.head()
    for caller in callers:
        problem = assert_problem(caller.delete(
            f"/api/projects/{project}/channels/print"), 403, "needs the admin role")
        assert problem["required_role"] == "admin"
    assert_problem(stranger.delete(f"/api/projects/{project}/channels/print"), 404,
                   f"project {project} does not exist")
    assert_problem(api.admin.delete(f"/api/projects/{uuid.uuid4()}/channels/print"), 404,
                   "does not exist")
    assert_problem(api.admin.delete(f"/api/projects/{project}/channels/social"), 404,
                   "has no channel 'social'; its channels: print")
    assert_problem(api.admin.delete(f"/api/projects/{project}/channels/Bad Name"), 422,
                   "channel name")
    assert_problem(api.admin.delete(f"/api/projects/{project}/channels/print",
                                    headers={"If-Match": "1"}), 409)
    assert api.head() == head
    assert _channels(api, project) == ["print"]


def test_a_repeated_removal_key_answers_the_first_result_and_appends_once(api):
    project = api.project()
    api.admin.put(f"/api/projects/{project}/channels/print",
                  json={"min_width": 10, "min_height": 10})
    headers = {"Idempotency-Key": "drop-print"}
    first = api.admin.delete(f"/api/projects/{project}/channels/print", headers=headers)
    head = api.head()
    again = api.admin.delete(f"/api/projects/{project}/channels/print", headers=headers)
    assert first.status_code == again.status_code == 200
    assert api.head() == head
    assert _channels(api, project) == []


def _standing(api, client, asset: str, position: int, as_of: str | None = None) -> dict:  # noqa: ANN001
    """The channels each view shows approved, version by version: the tree's
    ``approved_channels``, the review state's ``approved`` and the studio asset page's
    "Approved:" line (channel → version number, read as a person sees it)."""
    query = {"min_position": position, **({"as_of": as_of} if as_of else {})}
    tree = api.admin.get(f"/api/assets/{asset}/tree", query_string=query).get_json()
    review = api.admin.get(f"/api/assets/{asset}/review", query_string=query).get_json()
    page = client.get(f"/assets/{asset}", query_string=query)
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    numbers = {node["version_id"]: f"v{n}" for n, node in enumerate(tree["nodes"], 1)}
    line = re.search(r'class="muted small strip-approved">Approved: (.*?)</p>',
                     page.get_data(as_text=True))
    on_page = dict(re.findall(r">([a-z0-9_-]+) → (v\d+)</a>", line.group(1))) if line else {}
    return {
        "tree": {channel: numbers[node["version_id"]] for node in tree["nodes"]
                 for channel in node["approved_channels"]},
        "review": {channel: numbers[entry["version_id"]]
                   for channel, entry in review["approved"].items()},
        "page": on_page,
    }


def _marked_approved(client, asset: str, versions: list[str], position: int,  # noqa: ANN001
                     ) -> dict[str, set[str]]:
    """The versions the studio's compare page (the two side by side) and version pages
    call approved."""
    query = {"min_position": position}
    compare = client.get(f"/assets/{asset}/compare",
                         query_string={**query, "a": versions[0], "b": versions[1]})
    assert compare.status_code == 200, compare.get_data(as_text=True)[:300]
    halves = compare.get_data(as_text=True).split(f'data-version-id="{versions[1]}"', 1)
    pages = {version: client.get(f"/versions/{version}", query_string=query)
             for version in versions}
    assert all(page.status_code == 200 for page in pages.values())
    return {
        "compare": {version for version, half in zip(versions, halves, strict=True)
                    if 'class="approved-word"' in half},
        "version pages": {version for version, page in pages.items()
                          if 'class="approved-word"' in page.get_data(as_text=True)},
    }


def _found(api, project: str, position: int, **filters: str) -> set[str]:  # noqa: ANN001
    found = api.admin.get("/api/search", query_string={
        "project": project, "min_position": position, **filters}).get_json()
    return {item["version_id"] for item in found["items"]}


def _assert_everywhere(api, client, project: str, asset: str, versions: list[str],  # noqa: ANN001
                       position: int, standing: dict[str, str], approved: set[str]) -> None:
    """The tree, review, asset page, compare and version pages and search (approved=
    and status=) all show ``standing`` (channel -> version label) / ``approved`` ids."""
    assert _standing(api, client, asset, position) == dict.fromkeys(
        ("tree", "review", "page"), standing)
    assert _marked_approved(client, asset, versions, position) == dict.fromkeys(
        ("compare", "version pages"), approved)
    assert _found(api, project, position, approved="true") == approved
    assert _found(api, project, position, status="approved") == approved


def test_every_view_and_search_leave_a_removed_channels_approvals_out_until_it_is_set_again(
        api, client):
    project = api.project()
    for name in ("social", "print"):
        api.admin.put(f"/api/projects/{project}/channels/{name}",
                      json={"min_width": 32, "min_height": 32})
    asset = api.asset(project)
    first = api.upload(asset, png_bytes(64, 64))["version_id"]
    second = api.upload(asset, png_bytes(64, 64, (9, 9, 9)),
                        parent_version_id=first)["version_id"]
    reviewer = api.as_user("reviewer", project, "Rita")
    reviewer.post(f"/api/versions/{first}/decisions",
                  json={"decision": "approved", "channel": "social"})
    position = reviewer.post(f"/api/versions/{second}/decisions",
                             json={"decision": "approved", "channel": "print"},
                             ).get_json()["position"]
    sign_in(client, api.admin.token)
    both = {"social": "v1", "print": "v2"}
    _assert_everywhere(api, client, project, asset, [first, second], position,
                       both, {first, second})
    before_removal = api.admin.get(f"/api/assets/{asset}/review").get_json()[
        "versions"][-1]["decisions"][-1]["decided_at"]  # the print approval's time

    position = api.admin.delete(f"/api/projects/{project}/channels/print"
                                ).get_json()["position"]

    _assert_everywhere(api, client, project, asset, [first, second], position,
                       {"social": "v1"}, {first})
    assert _found(api, project, position, approved="false") == {second}
    # As of a moment before the removal, the print approval stood, everywhere.
    assert _standing(api, client, asset, position, before_removal) == dict.fromkeys(
        ("tree", "review", "page"), both)
    assert _found(api, project, position, approved="true",
                  as_of=before_removal) == {first, second}
    removed_answers = (_standing(api, client, asset, position),
                       _standing(api, client, asset, position, before_removal),
                       _found(api, project, position, approved="true"),
                       _found(api, project, position, status="approved"))

    make_runner(api.services.engine).replay()

    assert (_standing(api, client, asset, position),
            _standing(api, client, asset, position, before_removal),
            _found(api, project, position, approved="true"),
            _found(api, project, position, status="approved")) == removed_answers

    position = api.admin.put(f"/api/projects/{project}/channels/print",
                             json={"min_width": 32, "min_height": 32}).get_json()["position"]

    _assert_everywhere(api, client, project, asset, [first, second], position,
                       both, {first, second})
    make_runner(api.services.engine).replay()
    assert _standing(api, client, asset, position) == dict.fromkeys(
        ("tree", "review", "page"), both)
