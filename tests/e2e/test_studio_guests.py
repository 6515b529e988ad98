"""Guest review links over HTTP: the API makes, lists and revokes them; a guest sees
only the shared assets, comments only when the link allows it, never decides, and gets
404 once the link is revoked or has expired. Guest actions name the link as actor."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from app.sessions import LOGIN_COOKIE
from commands.guests import create_guest_link, load_link
from commands.users import authenticate
from events.store import Metadata
from projections.registry import make_runner
from tests.e2e.conftest import assert_problem, png_bytes


def shared(api, permission: str = "comment"):  # noqa: ANN001, ANN201
    project = api.project("Client")
    asset = api.asset(project, name="Key art")
    version = api.upload(asset, png_bytes())["version_id"]
    secret_asset = api.asset(project, name="Secret")
    secret_version = api.upload(secret_asset, png_bytes(color=(1, 2, 3)))["version_id"]
    response = api.admin.post(f"/api/projects/{project}/guest-links", json={
        "asset_ids": [asset], "permission": permission, "expires_in_days": 2,
        "label": "client"})
    assert response.status_code == 201, response.get_json()
    link = response.get_json()
    code = link["url"].rsplit("/g/", 1)[1]
    make_runner(api.services.engine).catch_up()  # guests' pages read the read side
    return project, asset, version, secret_asset, secret_version, link, code


def join(client, code: str, name: str = "Gina") -> None:  # noqa: ANN001
    value = secrets.token_urlsafe(12)
    client.set_cookie(LOGIN_COOKIE, value)
    response = client.post(f"/g/{code}/join", data={"name": name, "csrf_token": value})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]


def guest_token(client, code: str, asset: str) -> str:  # noqa: ANN001
    page = client.get(f"/g/{code}/assets/{asset}").get_data(as_text=True)
    return page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


def test_a_guest_comments_on_shared_assets_only_and_never_decides(api, app):
    project, asset, version, secret_asset, secret_version, link, code = shared(api)
    guest = app.test_client()
    assert guest.get(f"/g/{code}/assets/{asset}").status_code == 404  # no name given yet
    assert "Your name" in guest.get(f"/g/{code}").get_data(as_text=True)
    join(guest, code)

    page = guest.get(f"/g/{code}/assets/{asset}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Approve" not in html and "Request changes" not in html and "Generate" not in html
    assert guest.get(f"/g/{code}/versions/{version}/image").status_code == 200
    assert guest.get(f"/g/{code}/assets/{secret_asset}").status_code == 404
    assert guest.get(f"/g/{code}/versions/{secret_version}/image").status_code == 404

    token = guest_token(guest, code, asset)
    posted = guest.post(f"/g/{code}/versions/{version}/comments",
                        data={"body": "Lovely", "csrf_token": token,
                              "region.x": "0.1", "region.y": "0.1", "region.w": "0.5",
                              "region.h": "0.5"}, headers={"Accept": "application/json"})
    assert posted.status_code == 201, posted.get_data(as_text=True)
    comment = posted.get_json()
    assert comment["author_id"].startswith("guest:") and comment["region"]["w"] == 0.5
    forged = guest.post(f"/g/{code}/versions/{version}/comments", data={"body": "x"})
    assert forged.status_code == 403
    other = guest.post(f"/g/{code}/versions/{secret_version}/comments",
                       data={"body": "peek", "csrf_token": token})
    assert other.status_code == 404
    # No session: the member routes and the API refuse the guest.
    decided = guest.post(f"/versions/{version}/decisions",
                         data={"decision": "approved", "csrf_token": token})
    assert decided.status_code == 303 and decided.location.startswith("/login")
    assert guest.post(f"/api/versions/{version}/decisions",
                      json={"decision": "approved"}).status_code == 401

    events = api.store.read_stream(f"asset-{asset}")
    added = [r for r in events if r.event_type == "comment.added"]
    assert [r.actor_id for r in added] == [f"link:{link['link_id']}"]
    assert not [r for r in events if r.event_type == "decision.recorded"]

    make_runner(api.services.engine).catch_up()
    listed = api.admin.get(f"/api/projects/{project}/guest-links").get_json()["items"]
    assert listed[0]["guests"] == ["Gina"] and listed[0]["asset_ids"] == [asset]
    audit = api.admin.get(f"/api/audit?asset={asset}&type=comment").get_json()["items"]
    assert audit[0]["actor_id"] == f"link:{link['link_id']}"


def test_a_view_only_link_refuses_comments(api, app):
    _, asset, version, *_, code = shared(api, permission="view")
    guest = app.test_client()
    join(guest, code)
    html = guest.get(f"/g/{code}/assets/{asset}").get_data(as_text=True)
    assert 'name="body"' not in html
    token = guest_token(guest, code, asset)
    response = guest.post(f"/g/{code}/versions/{version}/comments",
                          data={"body": "hi", "csrf_token": token},
                          headers={"Accept": "application/json"})
    assert_problem(response, 403, "look, not comment")


def test_revoked_and_expired_links_answer_404_everywhere(api, app):
    project, asset, version, *_, link, code = shared(api)
    guest = app.test_client()
    join(guest, code)
    assert api.admin.delete(f"/api/guest-links/{link['link_id']}").status_code == 204
    for path in ("", f"/assets/{asset}", f"/versions/{version}/image"):
        assert guest.get(f"/g/{code}{path}").status_code == 404, path
    assert load_link(api.store, link["link_id"])[0].revoked

    principal = authenticate(api.store, api.admin.token)
    old, _ = create_guest_link(api.store, principal, Metadata(actor_id=principal.user_id),
                               project, asset_ids=[asset], permission="view",
                               expires_in_days=1, now=datetime.now(UTC) - timedelta(days=2))
    assert app.test_client().get(f"/g/{old['code']}").status_code == 404


def test_only_project_admins_make_links_and_only_for_their_assets(api):
    project, asset, *_ = shared(api)
    reviewer = api.as_user("reviewer", project)
    response = reviewer.post(f"/api/projects/{project}/guest-links", json={"asset_ids": [asset]})
    assert_problem(response, 403, "admin")
    elsewhere = api.asset(api.project("Other"))
    response = api.admin.post(f"/api/projects/{project}/guest-links",
                              json={"asset_ids": [elsewhere]})
    assert_problem(response, 404, "does not exist")
    response = api.admin.post(f"/api/projects/{project}/guest-links",
                              json={"asset_ids": [asset], "expires_in_days": 365})
    assert_problem(response, 422, "expires_in_days")
