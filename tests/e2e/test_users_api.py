"""Users and tokens over HTTP: admins create users, callers manage their own tokens."""

from __future__ import annotations

from tests.e2e.conftest import assert_problem


def test_admins_create_users_whose_token_works_once_shown(api, client):
    response = api.admin.post("/api/users", json={"name": "Dana"})

    assert response.status_code == 201
    created = response.get_json()
    assert created["name"] == "Dana" and created["is_admin"] is False
    me = client.get("/api/users/me", headers={"Authorization": f"Bearer {created['token']}"})
    assert me.status_code == 200 and me.get_json()["user_id"] == created["user_id"]
    events = api.store.read_stream(f"user-{created['user_id']}")
    assert events[0].actor_id == api.admin.user_id


def test_only_global_admins_create_users(api):
    alice, admin = api.user("alice"), api.admin
    head = api.head()

    problem = assert_problem(alice.post("/api/users", json={"name": "Eve", "is_admin": True}),
                             403, "only global admins")
    assert problem["required_role"] == "global admin"
    assert_problem(admin.post("/api/users", json={"name": ""}), 422, "name")
    assert_problem(admin.post("/api/users", json={"name": "x", "user_id": "y"}), 422,
                   "user_id")
    assert api.head() == head


def test_tokens_are_issued_to_and_revoked_by_their_owner(api, client):
    alice, bob = api.user("alice"), api.user("bob")

    issued = alice.post("/api/tokens", json={"label": "ci"})
    assert issued.status_code == 201
    token = issued.get_json()
    assert token["user_id"] == alice.user_id and token["token"].startswith("lin_")
    head = api.head()
    assert_problem(bob.delete(f"/api/tokens/{token['token_id']}"), 404, "does not exist")
    assert_problem(bob.delete("/api/tokens/not-a-token"), 404, "does not exist")
    assert api.head() == head

    assert alice.delete(f"/api/tokens/{token['token_id']}",
                        json={"reason": "leaked"}).status_code == 204
    revoked = client.get("/api/users/me", headers={"Authorization": f"Bearer {token['token']}"})
    assert_problem(revoked, 401, "revoked")
    assert alice.get("/api/users/me").status_code == 200  # the other token still works
    assert api.admin.delete(f"/api/tokens/{bob.token_id}").status_code == 204
    assert_problem(bob.get("/api/users/me"), 401, "revoked")


def _keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def _post_twice(api, caller, path: str, body: dict, key: str, detail: str):  # noqa: ANN001, ANN202
    """POST ``body`` twice with one Idempotency-Key: the first answer is 201 with a
    secret, the repeat a 409 whose detail mentions ``detail`` (formatted with the first
    answer) and that appends nothing. Returns the first answer."""
    first = caller.post(path, json=body, headers=_keyed(key))
    assert first.status_code == 201
    answer = first.get_json()
    head = api.head()
    repeat = assert_problem(caller.post(path, json=body, headers=_keyed(key)), 409,
                            detail.format(**answer))
    assert api.head() == head
    assert "token" not in repeat and answer["token"] not in str(repeat)
    assert (repeat["user_id"], repeat["token_id"]) == (answer["user_id"], answer["token_id"])
    return answer


def test_a_repeated_key_creates_one_user_and_never_shows_their_secret_again(api, client):
    created = _post_twice(api, api.admin, "/api/users", {"name": "Dana"}, "dana-1",
                         "already created user {user_id} and their token {token_id}")

    registered = api.store.read_all(event_types=["user.registered"])
    assert [r.event.name for r in registered].count("Dana") == 1
    me = client.get("/api/users/me", headers={"Authorization": f"Bearer {created['token']}"})
    assert me.get_json()["token_id"] == created["token_id"]


def test_a_repeated_key_issues_one_token_and_never_shows_its_secret_again(api, client):
    alice = api.user("alice")
    issued = _post_twice(api, alice, "/api/tokens", {"label": "ci"}, "ci-token",
                          "already created token {token_id}, whose secret is shown only once")

    assert issued["user_id"] == alice.user_id
    # The key is the caller's own: another user may use the same one.
    assert api.user("bob").post("/api/tokens", json={"label": "ci"},
                                headers=_keyed("ci-token")).status_code == 201
    assert client.get("/api/users/me", headers={
        "Authorization": f"Bearer {issued['token']}"}).status_code == 200


def test_a_key_reused_across_users_and_tokens_is_refused(api):
    admin = api.admin
    assert admin.post("/api/users", json={"name": "Dana"},
                      headers=_keyed("one")).status_code == 201
    assert admin.post("/api/tokens", json={"label": "ci"},
                      headers=_keyed("two")).status_code == 201
    project = admin.post("/api/projects", json={"name": "Summer"}, headers=_keyed("three"))
    assert project.status_code == 201
    head = api.head()

    for path, body, key in [("/api/tokens", {"label": "ci"}, "one"),
                            ("/api/users", {"name": "Dana"}, "two"),
                            ("/api/users", {"name": "Dana"}, "three"),
                            ("/api/tokens", {"label": "ci"}, "three")]:
        assert_problem(admin.post(path, json=body, headers=_keyed(key)), 409,
                       "already used for a different request")
    assert api.head() == head
