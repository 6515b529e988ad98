"""Every number a client sends is bounded, and cursors are opaque and signed: a forged or
edited cursor, a huge position, limit or If-Match answers 400/422 problem+json, never a
500 or a stream that breaks in the middle."""

from __future__ import annotations

import base64
import json

import pytest

from app.cursors import MAX_POSITION, load_or_create_key, sign, verify
from tests.e2e.conftest import assert_problem

HUGE = 9223372036854775808  # 2**63: one past PostgreSQL's BIGINT and SQLite's INTEGER


def forged(state: dict) -> str:
    """A cursor as the old, unsigned format was: base64url JSON a client can write."""
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


@pytest.fixture
def scene(api):
    project = api.project()
    for name in ("one", "two", "three"):
        api.asset(project, name)
    return project


def test_forged_cursors_are_422_on_every_list(api, scene):
    admin = api.admin
    asset = api.asset(scene, "four")
    lists = ["/api/audit?limit=1", f"/api/projects/{scene}/assets?limit=1",
             "/api/projects?limit=1", f"/api/assets/{asset}/versions?limit=1",
             "/api/search?limit=1", "/api/audit/export?format=csv"]
    for url in lists:
        for state in ({"after": HUGE}, {"after": 1}, {"index": -1}, {"o": 5}):
            response = admin.get(f"{url}&cursor={forged(state)}")
            assert_problem(response, 422, "not a cursor this server produced")


def test_an_edited_cursor_is_refused_and_the_real_one_pages_on(api, scene):
    admin = api.admin
    first = admin.get(f"/api/projects/{scene}/assets?limit=1").get_json()
    cursor = first["next_cursor"]
    body, _, tag = cursor.partition(".")
    state = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    edited = base64.urlsafe_b64encode(
        json.dumps({**state, "after": HUGE}, separators=(",", ":")).encode()).decode()

    assert_problem(admin.get(f"/api/projects/{scene}/assets?cursor={edited.rstrip('=')}.{tag}"),
                   422, "cursor")
    second = admin.get(f"/api/projects/{scene}/assets?limit=1&cursor={cursor}")
    assert second.status_code == 200
    assert second.get_json()["items"][0]["name"] == "two"


def test_a_cursor_of_another_installation_is_refused(api, scene, tmp_path):
    other_key = load_or_create_key(tmp_path / "elsewhere")
    response = api.admin.get(f"/api/projects/{scene}/assets?cursor="
                             f"{sign({'after': 1}, other_key)}")
    assert_problem(response, 422, "cursor")


def test_the_cursor_key_is_kept_under_the_data_directory(api, scene, settings):
    first = api.admin.get(f"/api/projects/{scene}/assets?limit=1").get_json()["next_cursor"]
    key_file = settings.data_dir / "cursor-key"

    assert key_file.stat().st_mode & 0o777 == 0o600
    assert verify(first, load_or_create_key(settings.data_dir))["after"] >= 1


@pytest.mark.parametrize("query", [f"min_position={HUGE}", "min_position=-1",
                                   f"limit={HUGE}", "limit=0"])
def test_huge_or_negative_query_numbers_are_422(api, scene, query):
    for url in (f"/api/audit?{query}", f"/api/projects/{scene}/taxonomy?{query}"):
        response = api.admin.get(url)
        if "limit" in query and "taxonomy" in url:
            assert_problem(response, 422, "limit")  # not a parameter there: refused too
        else:
            assert_problem(response, 422, query.partition("=")[0])


@pytest.mark.parametrize("value", [str(HUGE), "2147483648", "²", "-1", "1e3"])
def test_if_match_is_bounded(api, scene, value):
    asset = api.asset(scene, "tagged")
    head = api.head()

    response = api.admin.post(f"/api/assets/{asset}/tags", json={"tag": "hero"},
                              headers={"If-Match": value})

    assert_problem(response, 422, "If-Match")
    assert api.head() == head


@pytest.mark.parametrize("header", [str(HUGE), "٣", "-5"])
def test_a_huge_last_event_id_is_422_before_the_stream_starts(api, scene, header):
    response = api.admin.get(f"/api/events/stream?project={scene}&max_seconds=0",
                             headers={"Last-Event-ID": header})
    assert_problem(response, 422, "Last-Event-ID")
    assert_problem(api.admin.get(f"/api/events/stream?project={scene}&after={HUGE}"),
                   422, "after")


def test_the_largest_position_is_accepted(api, scene):
    response = api.admin.get(f"/api/events/stream?project={scene}&max_seconds=0",
                             headers={"Last-Event-ID": str(MAX_POSITION)})
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    response.close()
