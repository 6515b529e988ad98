"""Finding people by name, GET /api/users?q= (SQLite and PostgreSQL): a member finds the
people of their own projects, nobody else; a global admin finds everyone."""

from __future__ import annotations

from tests.e2e.conftest import assert_problem


def _names(caller, query: str) -> list[str]:
    response = caller.get("/api/users", query_string={"q": query})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["next_cursor"] is None
    return [item["name"] for item in body["items"]]


def test_members_find_only_people_they_share_a_project_with(api):
    project = api.project("Launch")
    lead = api.as_user("admin", project, "Lena Lead")
    api.as_user("viewer", project, "Mara Okafor")
    other = api.project("Elsewhere")
    api.as_user("creator", other, "Marek Novak")  # shares no project with Lena
    loner = api.user("Marta Alone")

    assert _names(lead, "mar") == ["Mara Okafor"]
    assert _names(lead, "OKAF") == ["Mara Okafor"]
    assert _names(lead, "lena") == ["Lena Lead"]
    assert _names(loner, "ma") == []  # no project: finds no one, not even by guessing
    # A global admin (who creates users) finds everyone; names starting with q first.
    assert _names(api.admin, "mar") == ["Mara Okafor", "Marek Novak", "Marta Alone"]
    assert _names(api.admin, "ar") == ["Mara Okafor", "Marek Novak", "Marta Alone"]


def test_search_wildcards_are_plain_text_and_answers_are_bounded(api):
    project = api.project()
    for n in range(25):
        api.as_user("viewer", project, f"Sam {n:02d}")
    api.as_user("viewer", project, "100% Sam_x")

    assert _names(api.admin, "0%") == ["100% Sam_x"]
    assert _names(api.admin, "m_") == ["100% Sam_x"]
    many = api.admin.get("/api/users", query_string={"q": "sam"}).get_json()["items"]
    assert len(many) == 10
    assert len(api.admin.get("/api/users", query_string={"q": "sam", "limit": 20})
               .get_json()["items"]) == 20


def test_bad_searches_are_422_problems(api):
    caller = api.as_user("viewer")
    assert_problem(caller.get("/api/users"), 422, "q")
    assert_problem(caller.get("/api/users", query_string={"q": "a"}), 422, "q")
    assert_problem(caller.get("/api/users", query_string={"q": "  a  "}), 422, "q")
    assert_problem(caller.get("/api/users", query_string={"q": "x" * 101}), 422, "q")
    assert_problem(caller.get("/api/users", query_string={"q": "a\u202eb"}), 422, "q")
    assert_problem(caller.get("/api/users", query_string={"q": "ann", "limit": 21}), 422,
                   "limit")
    assert_problem(caller.get("/api/users", query_string={"q": "ann", "page": 2}), 422,
                   "page")
    assert_problem(api.client.get("/api/users", query_string={"q": "ann"}), 401)
