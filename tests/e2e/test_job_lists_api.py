"""Job lists: per asset, per project and the caller's own ("mine"), newest first, with
status filters, paged with ``limit``/``cursor`` like every list, from the jobs read
model; strangers get 404. SQLite and PostgreSQL (jobs recorded without running them)."""

from __future__ import annotations

import pytest

from commands.jobs import load_job, record_failure, record_start
from tests.e2e.conftest import assert_problem


@pytest.fixture
def studio(api):
    """Two projects; Cleo creates in both, Dan only in the first. Jobs in various states:
    returns (first project, its two assets, the other project's asset, callers, job ids)."""
    first, second = api.project("Summer"), api.project("Autumn")
    cleo = api.as_user("creator", first, name="cleo")
    api.admin.put(f"/api/projects/{second}/members/{cleo.user_id}", json={"role": "creator"})
    dan = api.as_user("creator", first, name="dan")
    hero, banner, other = api.asset(first, "Hero"), api.asset(first, "Banner"), api.asset(second)
    jobs = {
        "queued": generate(cleo, hero),
        "running": generate(cleo, hero),
        "failed": generate(dan, hero),
        "cancelled": generate(cleo, banner),
        "elsewhere": generate(cleo, other),
    }
    state, version, _ = load_job(api.store, jobs["running"])
    record_start(api.store, state, version, "w:1:t")
    record_failure(api.store, jobs["failed"], "input_missing", "the mask is gone", False)
    assert cleo.post(f"/api/jobs/{jobs['cancelled']}/cancel").status_code == 202
    return first, (hero, banner), other, {"cleo": cleo, "dan": dan}, jobs


def generate(caller, asset: str) -> str:
    response = caller.post(f"/api/assets/{asset}/generations",
                           json={"prompt": "a kite", "width": 64, "height": 64, "steps": 2})
    assert response.status_code == 202, response.get_json()
    return response.get_json()["jobs"][0]["job_id"]


def listed(caller, api, path: str) -> dict:
    separator = "&" if "?" in path else "?"
    response = caller.get(f"{path}{separator}min_position={api.head()}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def ids(page: dict) -> list[str]:
    return [item["job_id"] for item in page["items"]]


def test_an_assets_jobs_newest_first_with_their_status(api, studio):
    _, (hero, _), _, callers, jobs = studio

    page = listed(callers["cleo"], api, f"/api/assets/{hero}/jobs")

    assert ids(page) == [jobs["failed"], jobs["running"], jobs["queued"]]
    by_id = {item["job_id"]: item for item in page["items"]}
    assert by_id[jobs["queued"]]["status"] == "requested"
    assert (by_id[jobs["running"]]["status"], by_id[jobs["running"]]["attempts"]) == (
        "started", 1)
    failed = by_id[jobs["failed"]]
    assert failed["status"] == "failed" and failed["error"] == {
        "kind": "input_missing", "message": "the mask is gone"}
    assert failed["requested_by"] == callers["dan"].user_id
    assert failed["url"] == f"/api/jobs/{jobs['failed']}"
    assert (failed["kind"], failed["operation"], failed["tier"]) == ("generate", "generate",
                                                                     "draft")
    assert page["next_cursor"] is None and page["projection"]["behind"] == 0


def test_status_filters_keep_the_jobs_in_those_states(api, studio):
    project, (hero, _), _, callers, jobs = studio
    cleo = callers["cleo"]

    active = listed(cleo, api, f"/api/projects/{project}/jobs?status=requested,started")
    assert ids(active) == [jobs["running"], jobs["queued"]]
    ended = listed(cleo, api, f"/api/projects/{project}/jobs?status=cancelled,failed")
    assert ids(ended) == [jobs["cancelled"], jobs["failed"]]
    assert_problem(cleo.get(f"/api/assets/{hero}/jobs?status=running"), 422,
                   "unknown status running")


def test_a_projects_jobs_page_with_limit_and_cursor(api, studio):
    project, _, _, callers, jobs = studio
    cleo = callers["cleo"]
    everything = [jobs["cancelled"], jobs["failed"], jobs["running"], jobs["queued"]]

    seen, cursor = [], None
    while True:
        path = f"/api/projects/{project}/jobs?limit=3"
        page = listed(cleo, api, path + (f"&cursor={cursor}" if cursor else ""))
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything
    assert_problem(cleo.get(f"/api/projects/{project}/jobs?cursor=bm9wZQ"), 422, "cursor")


def test_mine_lists_the_callers_own_jobs_across_their_projects(api, studio):
    _, _, _, callers, jobs = studio

    mine = listed(callers["cleo"], api, "/api/users/me/jobs")
    assert ids(mine) == [jobs["elsewhere"], jobs["cancelled"], jobs["running"], jobs["queued"]]
    assert ids(listed(callers["dan"], api, "/api/users/me/jobs")) == [jobs["failed"]]
    assert ids(listed(callers["cleo"], api, "/api/users/me/jobs?status=cancelled")) == [
        jobs["cancelled"]]


def test_mine_leaves_out_projects_the_caller_was_removed_from(api, studio):
    project, _, _, callers, jobs = studio
    cleo = callers["cleo"]
    assert api.admin.delete(f"/api/projects/{project}/members/{cleo.user_id}").status_code in (
        200, 204)

    assert ids(listed(cleo, api, "/api/users/me/jobs")) == [jobs["elsewhere"]]


def test_strangers_and_unknown_ids_get_404_and_nothing_leaks(api, studio):
    project, (hero, _), other, callers, _ = studio
    stranger = api.as_user("admin")  # an admin elsewhere
    dan = callers["dan"]

    assert_problem(stranger.get(f"/api/assets/{hero}/jobs"), 404, "does not exist")
    assert_problem(stranger.get(f"/api/projects/{project}/jobs"), 404, "does not exist")
    assert_problem(dan.get(f"/api/assets/{other}/jobs"), 404, "does not exist")
    assert_problem(dan.get("/api/assets/00000000-0000-4000-8000-000000000000/jobs"), 404)
    assert_problem(api.client.get(f"/api/projects/{project}/jobs"), 401)
    assert listed(stranger, api, "/api/users/me/jobs")["items"] == []
    viewer = api.as_user("viewer", project)
    assert len(listed(viewer, api, f"/api/projects/{project}/jobs")["items"]) == 4
