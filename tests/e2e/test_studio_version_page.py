"""The version page: recipe, lineage chain, export and provenance links, and "Rebuild"
with the job's verdict once it has one."""

from __future__ import annotations

import secrets

from app.sessions import LOGIN_COOKIE, SESSION_COOKIE
from commands.signin import csrf_token
from projections.registry import make_runner
from tests.e2e.conftest import png_bytes
from workers import rebuild as _registers_rebuild_jobs  # noqa: F401 - the rebuild kind
from workers.job_runner import COMPLETED, JobContext, run_job


def test_rebuild_from_the_version_page_shows_its_verdict(api, client, services):
    project = api.project()
    asset = api.asset(project, name="Poster")
    version = api.upload(asset, png_bytes(96, 64, (30, 60, 90)))["version_id"]
    make_runner(services.engine).catch_up()
    value = secrets.token_urlsafe(8)
    client.set_cookie(LOGIN_COOKIE, value)
    client.post("/login", data={"token": api.admin.token, "csrf_token": value})
    token = csrf_token(client.get_cookie(SESSION_COOKIE).value)

    page = client.get(f"/versions/{version}").get_data(as_text=True)
    assert "Rebuild" in page and f"/api/versions/{version}/export?format=png" in page
    assert f"/api/versions/{version}/provenance" in page and "96×64" in page

    response = client.post(f"/versions/{version}/rebuild", data={"csrf_token": token})
    assert response.status_code == 303
    job_id = response.location.split("rebuild=", 1)[1]
    waiting = client.get(response.location).get_data(as_text=True)
    assert "data-rebuild-pending" in waiting

    assert run_job(JobContext(services.store, services.blobs), job_id, worker="test") \
        == COMPLETED
    done = client.get(f"{response.location}&fragment=rebuild").get_data(as_text=True)
    assert "data-rebuild-pending" not in done
    assert "verdict-bit_exact" in done and "Bit exact" in done
    other = api.upload(api.asset(project), png_bytes())["version_id"]
    assert client.get(f"/versions/{other}?rebuild={job_id}").status_code == 404
