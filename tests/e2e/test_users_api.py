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
