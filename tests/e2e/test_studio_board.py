"""The board and the review queue as pages: cards with their status per channel, the
filters by status, tier and tag level, the search box, and the versions waiting for a
reviewer's decision, oldest first."""

from __future__ import annotations

import re
import secrets

import pytest

from app.sessions import LOGIN_COOKIE
from projections.registry import make_runner
from tests.e2e.conftest import png_bytes


def sign_in(client, token: str) -> None:  # noqa: ANN001
    value = secrets.token_urlsafe(8)
    client.set_cookie(LOGIN_COOKIE, value)
    assert client.post("/login", data={"token": token, "csrf_token": value}).status_code == 303


def card_names(html: str) -> list[str]:
    return re.findall(r'<h2 class="card-name"><bdi>([^<]*)</bdi>', html)


def names_with(client, project: str, query: str) -> list[str]:  # noqa: ANN001
    response = client.get(f"/projects/{project}?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return card_names(response.get_data(as_text=True))


def shoe_asset(api, project: str) -> str:  # noqa: ANN001
    items = api.admin.get(f"/api/projects/{project}/assets?limit=10").get_json()["items"]
    return next(item["asset_id"] for item in items if item["name"] == "Shoe")


@pytest.fixture
def board(api, services):  # noqa: ANN001, ANN201
    project = api.project("Launch")
    api.admin.put(f"/api/projects/{project}/channels/social",
                  json={"min_width": 32, "min_height": 32})
    approved = api.asset(project, name="Bottle", tags=["campaign/summer/social"])
    asked = api.asset(project, name="Shoe", tags=["campaign/winter"])
    api.asset(project, name="Empty banner")
    reviewer = api.as_user("reviewer", project, name="Rita")
    creator = api.as_user("creator", project, name="Ben")
    bottle = api.upload(approved, png_bytes(), creator)["version_id"]
    shoe = api.upload(asked, png_bytes(color=(9, 9, 9)), creator, tier="final")["version_id"]
    reviewer.post(f"/api/versions/{bottle}/decisions",
                  json={"decision": "approved", "channel": "social"})
    reviewer.post(f"/api/versions/{shoe}/comments", json={"body": "laces glow at night"})
    reviewer.post(f"/api/versions/{shoe}/decisions",
                  json={"decision": "changes_requested", "channel": "social"})
    make_runner(services.engine).catch_up()
    return project, reviewer


def test_cards_show_status_per_channel_and_filter_by_status_tier_tag_and_text(
        api, client, board):
    project, reviewer = board
    sign_in(client, reviewer.token)

    page = client.get(f"/projects/{project}").get_data(as_text=True)
    assert card_names(page) == ["Empty banner", "Shoe", "Bottle"]  # newest first
    assert "social</span>Approved" in page and "social</span>No versions" in page
    assert "social</span>Changes requested" in page
    assert names_with(client, project, "status=changes_requested") == ["Shoe"]
    # A version made after the change request: the shoe needs review again.
    api.upload(shoe_asset(api, project), png_bytes(color=(8, 8, 8)))
    make_runner(api.services.engine).catch_up()
    page = client.get(f"/projects/{project}").get_data(as_text=True)
    assert "social</span>Needs review" in page
    assert "social</span>Changes requested" not in page

    def names(query: str) -> list[str]:
        return names_with(client, project, query)

    assert names("status=approved") == ["Bottle"]
    assert names("status=empty") == ["Empty banner"]
    assert names("tier=final") == ["Shoe"]
    assert names("tag=campaign") == ["Shoe", "Bottle"]
    assert names("tag=campaign/summer") == ["Bottle"]
    assert names("q=laces") == ["Shoe"]  # found through a comment
    assert names("q=laces&status=approved") == []
    assert client.get(f"/projects/{project}?status=bogus").status_code == 422
    fragment = client.get(f"/projects/{project}?fragment=cards&status=approved")
    assert fragment.get_data(as_text=True).startswith('<div id="cards"')


def test_the_review_queue_lists_undecided_versions_oldest_first_until_decided(
        api, client, board):
    project, reviewer = board
    upload = _uploads_by_cleo(api, project)
    first, second = upload(), upload()
    make_runner(api.services.engine).catch_up()
    sign_in(client, reviewer.token)

    queue = client.get("/?fragment=queue").get_data(as_text=True)
    waiting = _waiting(queue)
    assert waiting.index(first) < waiting.index(second)
    assert "Poster" in queue and "by <bdi>Cleo</bdi>" in queue

    reviewer.post(f"/api/versions/{first}/decisions", json={"decision": "approved"})
    make_runner(api.services.engine).catch_up()
    queue = client.get("/?fragment=queue").get_data(as_text=True)
    assert first not in queue and second in queue


def test_a_version_something_was_made_from_leaves_the_queue_and_the_backlog(
        api, client, board):
    project, reviewer = board
    upload = _uploads_by_cleo(api, project)
    first, other = upload(), upload()
    edit = upload(parent_version_id=first)
    make_runner(api.services.engine).catch_up()
    sign_in(client, reviewer.token)

    waiting = _waiting(client.get("/?fragment=queue").get_data(as_text=True))
    assert first not in waiting and waiting.index(other) < waiting.index(edit)
    backlog = client.get(f"/projects/{project}/dashboard.csv?range=all").get_data(as_text=True)
    assert "review backlog,versions,2" in backlog


def _uploads_by_cleo(api, project: str):  # noqa: ANN202
    """A function uploading a new image to the project's asset "Poster" as its creator
    Cleo (form fields as keywords); it returns the version id."""
    asset = api.asset(project, name="Poster")
    creator = api.as_user("creator", project, name="Cleo")
    made = iter(range(1, 200))

    def upload(**form: str) -> str:
        shade = next(made)
        return api.upload(asset, png_bytes(color=(shade, shade, shade)), creator,
                          **form)["version_id"]
    return upload


def _waiting(queue: str) -> list[str]:
    """The version ids the queue fragment lists, in order."""
    return re.findall(r'data-version-id="([0-9a-f-]{36})"', queue)
