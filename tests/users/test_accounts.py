"""Account management: change password, deactivate, delete with erasure (here and, by event, on peers)."""

from __future__ import annotations

from cryb_node.appkeys import NODE
from tests.users.conftest import count
from tests.users_fixtures import PASSWORD, auth, register_user


async def test_changing_password_keeps_this_session_and_ends_the_others(uclient):
    _, first = await register_user(uclient, "changer")
    other = await (
        await uclient.post("/api/v1/auth/login", json={"login": "changer", "password": PASSWORD})
    ).json()
    wrong = await uclient.post(
        "/api/v1/users/@me/password",
        json={"current_password": "not it at all", "new_password": "another good one"},
        headers=auth(first),
    )
    assert wrong.status == 403 and (await wrong.json())["field"] == "current_password"
    short = await uclient.post(
        "/api/v1/users/@me/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=auth(first),
    )
    assert short.status == 400 and (await short.json())["field"] == "new_password"
    resp = await uclient.post(
        "/api/v1/users/@me/password",
        json={"current_password": PASSWORD, "new_password": "another good one"},
        headers=auth(first),
    )
    assert resp.status == 204
    assert (await uclient.get("/api/v1/users/@me", headers=auth(first))).status == 200
    assert (await uclient.get("/api/v1/users/@me", headers=auth(other["access_token"]))).status == 401
    refresh = await uclient.post("/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert refresh.status == 401
    login = await uclient.post(
        "/api/v1/auth/login", json={"login": "changer", "password": "another good one"}
    )
    assert login.status == 200


async def test_deactivated_account_is_signed_out_and_cannot_sign_in(uclient):
    user_id, token = await register_user(uclient, "leaver")
    resp = await uclient.post(
        "/api/v1/users/@me/deactivate", json={"password": PASSWORD}, headers=auth(token)
    )
    assert resp.status == 204
    assert (await uclient.get("/api/v1/users/@me", headers=auth(token))).status == 401
    login = await uclient.post("/api/v1/auth/login", json={"login": "leaver", "password": PASSWORD})
    assert login.status == 403 and (await login.json())["code"] == "account_disabled"
    assert (await uclient.get(f"/api/v1/users/{user_id}")).status == 404


async def test_deleting_an_account_erases_pii_and_profile_content_and_frees_the_name(uclient):
    user_id, token = await register_user(uclient, "goner", email="goner@example.test")
    await uclient.patch("/api/v1/users/@me", json={"bio": "my secret life"}, headers=auth(token))
    _, ftoken = await register_user(uclient, "pal")
    await uclient.put(f"/api/v1/users/@me/friends/{user_id}", headers=auth(ftoken))
    resp = await uclient.delete("/api/v1/users/@me", json={"password": PASSWORD}, headers=auth(token))
    assert resp.status == 204

    assert (await uclient.get("/api/v1/users/@me", headers=auth(token))).status == 401
    assert (await uclient.get(f"/api/v1/users/{user_id}")).status == 404
    row = await uclient.app[NODE].db.fetchone(
        "SELECT email_ct, email_index, password_hash, last_ip_ct, status FROM users_accounts WHERE id = ?",
        (user_id,),
    )
    assert tuple(row) == (None, None, None, None, "deleted")
    # The signed event skeletons stay, their profile content is gone and remembered as erased.
    left = await count(
        uclient,
        "SELECT count(*) FROM events e JOIN event_content c ON c.event_id = e.id"
        " WHERE e.kind IN ('user.created', 'user.profile')",
    )
    assert left == 1  # only pal's user.created
    assert await count(uclient, "SELECT count(*) FROM erased_content") == 2
    assert await count(uclient, "SELECT count(*) FROM events WHERE kind = 'user.erased'") == 1
    listing = await (await uclient.get("/api/v1/users/@me/relationships", headers=auth(ftoken))).json()
    assert listing["relationships"] == []
    # Username and email can be used again.
    await register_user(uclient, "goner", email="goner@example.test")
