"""Registration, sign-in, token refresh and rotation, logout, sessions and profiles, over HTTP."""

from __future__ import annotations

import jwt
import pytest

from tests.users.conftest import count, users_service
from tests.users_fixtures import PASSWORD, auth, register_user


async def test_register_login_me_refresh_logout_end_to_end(uclient):
    resp = await uclient.post(
        "/api/v1/auth/register",
        json={"username": "Alice", "email": "alice@example.test", "password": PASSWORD, "display_name": "Al"},
    )
    assert resp.status == 201
    reg = await resp.json()
    assert reg["user"]["username"] == "Alice" and reg["user"]["display_name"] == "Al"
    assert reg["user"]["email"] == "alice@example.test" and reg["user"]["email_verified"] is False
    assert reg["expires_in"] == 900 and reg["token_type"] == "Bearer"

    # Sign in by username (any case) and by email.
    for login in ("alice", "ALICE@example.test"):
        resp = await uclient.post("/api/v1/auth/login", json={"login": login, "password": PASSWORD})
        assert resp.status == 200, await resp.text()
    pair = await resp.json()

    me = await (await uclient.get("/api/v1/users/@me", headers=auth(pair["access_token"]))).json()
    assert me["id"] == reg["user"]["id"] and me["username"] == "Alice"

    resp = await uclient.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert resp.status == 200
    new = await resp.json()
    assert new["refresh_token"] != pair["refresh_token"]
    assert (await uclient.get("/api/v1/users/@me", headers=auth(new["access_token"]))).status == 200

    assert (await uclient.post("/api/v1/auth/logout", headers=auth(new["access_token"]))).status == 204
    # Both the access token and the refresh token of that session are dead now.
    resp = await uclient.get("/api/v1/users/@me", headers=auth(new["access_token"]))
    assert resp.status == 401 and (await resp.json())["code"] == "invalid_token"
    resp = await uclient.post("/api/v1/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert resp.status == 401
    # The registration session is a different one and still works.
    assert (await uclient.get("/api/v1/users/@me", headers=auth(reg["access_token"]))).status == 200


async def test_reused_refresh_token_is_refused_and_revokes_the_newer_one(uclient):
    await register_user(uclient, "bob")
    pair = await (
        await uclient.post("/api/v1/auth/login", json={"login": "bob", "password": PASSWORD})
    ).json()
    rotated = await (
        await uclient.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    ).json()

    resp = await uclient.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert resp.status == 401 and (await resp.json())["code"] == "refresh_reused"
    # The thief's or the victim's newer tokens die with the family.
    resp = await uclient.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert resp.status == 401
    resp = await uclient.get("/api/v1/users/@me", headers=auth(rotated["access_token"]))
    assert resp.status == 401
    assert await count(uclient, "SELECT count(*) FROM users_audit WHERE action = 'token.reuse'") == 1


async def test_bad_access_tokens_are_401(uclient):
    user_id, token = await register_user(uclient)
    users = users_service(uclient)
    forged = jwt.encode({"sub": user_id, "sid": "x", "exp": 2**40, "typ": "access"}, "k" * 32)
    expired = jwt.encode(
        {"sub": user_id, "sid": "x", "exp": 1, "typ": "access"}, users.keys.token, algorithm="HS256"
    )
    for bad in (forged, expired, token[:-2], "garbage"):
        resp = await uclient.get("/api/v1/users/@me", headers=auth(bad))
        assert resp.status == 401, bad
    assert (await uclient.get("/api/v1/users/@me")).status == 401
    resp = await uclient.get("/api/v1/users/@me", headers={"Authorization": f"Basic {token}"})
    assert resp.status == 401


async def test_sessions_are_listed_and_one_can_be_revoked(uclient):
    _, first = await register_user(uclient, "carol")
    second = await (
        await uclient.post("/api/v1/auth/login", json={"login": "carol", "password": PASSWORD})
    ).json()
    listing = await (await uclient.get("/api/v1/users/@me/sessions", headers=auth(first))).json()
    assert len(listing["sessions"]) == 2
    assert sum(s["current"] for s in listing["sessions"]) == 1
    other = next(s["id"] for s in listing["sessions"] if not s["current"])

    assert (await uclient.delete(f"/api/v1/users/@me/sessions/{other}", headers=auth(first))).status == 204
    assert (await uclient.get("/api/v1/users/@me", headers=auth(second["access_token"]))).status == 401
    listing = await (await uclient.get("/api/v1/users/@me/sessions", headers=auth(first))).json()
    assert [s["current"] for s in listing["sessions"]] == [True]
    # Someone else's (or an unknown) session id is a 404, not a revocation.
    _, dave = await register_user(uclient, "dave")
    resp = await uclient.delete(
        f"/api/v1/users/@me/sessions/{listing['sessions'][0]['id']}", headers=auth(dave)
    )
    assert resp.status == 404
    assert (await uclient.get("/api/v1/users/@me", headers=auth(first))).status == 200


async def test_profile_patch_is_public_and_an_event(uclient):
    user_id, token = await register_user(uclient, "erin")
    resp = await uclient.patch(
        "/api/v1/users/@me",
        json={"display_name": "Erin", "bio": "hi", "pronouns": "she/her"},
        headers=auth(token),
    )
    assert resp.status == 200 and (await resp.json())["bio"] == "hi"
    resp = await uclient.patch("/api/v1/users/@me", json={"bio": "bye"}, headers=auth(token))
    public = await (await uclient.get(f"/api/v1/users/{user_id}")).json()
    assert public == {
        "id": user_id, "username": "erin", "display_name": "Erin", "bio": "bye", "pronouns": "she/her",
        "avatar": None,
    }  # fmt: skip
    assert "email" not in public
    kinds = await count(
        uclient,
        "SELECT count(*) FROM events WHERE kind IN ('user.created', 'user.profile') AND community IS NULL",
    )
    assert kinds == 3
    assert (await uclient.get("/api/v1/users/nobody")).status == 404
    resp = await uclient.patch("/api/v1/users/@me", json={"bio": "x" * 1001}, headers=auth(token))
    assert resp.status == 400 and (await resp.json())["field"] == "bio"


@pytest.mark.parametrize(
    ("change", "status", "field", "code"),
    [
        ({"email": "not-an-email"}, 400, "email", "invalid_field"),
        ({"email": "a@b"}, 400, "email", "invalid_field"),
        ({"email": "x" * 250 + "@example.test"}, 400, "email", "invalid_field"),
        ({"password": "short"}, 400, "password", "invalid_field"),
        ({"password": "p" * 257}, 400, "password", "invalid_field"),
        ({"username": "admin"}, 400, "username", "username_reserved"),
        ({"username": "Root"}, 400, "username", "username_reserved"),
        ({"username": "ab"}, 400, "username", "invalid_field"),
        ({"username": "has space"}, 400, "username", "invalid_field"),
        ({"username": "u" * 33}, 400, "username", "invalid_field"),
        ({"display_name": "d" * 65}, 400, "display_name", "invalid_field"),
        ({"username": "Taken"}, 409, "username", "username_taken"),
        ({"email": "TAKEN@example.test"}, 409, "email", "email_taken"),
    ],
)
async def test_bad_registration_is_refused_naming_the_field_and_writes_nothing(
    uclient, change, status, field, code
):
    await register_user(uclient, "taken", email="taken@example.test")
    before = [
        await count(uclient, f"SELECT count(*) FROM {t}") for t in ("users_accounts", "events", "users_audit")
    ]
    body = {"username": "newbie", "email": "newbie@example.test", "password": PASSWORD, **change}
    resp = await uclient.post("/api/v1/auth/register", json=body)
    problem = await resp.json()
    assert (resp.status, problem["field"], problem["code"]) == (status, field, code)
    after = [
        await count(uclient, f"SELECT count(*) FROM {t}") for t in ("users_accounts", "events", "users_audit")
    ]
    assert after == before
