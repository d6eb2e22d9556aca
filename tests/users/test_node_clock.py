"""Every expiry of the users plugin is judged by the node's clock: a test moves it (SteppedClock)
and access tokens, refresh tokens, lockouts, mailed links, API tokens and listed sessions follow."""

from __future__ import annotations

from typing import Any

from cryb_plugins.users import emails
from cryb_plugins.users.service import CLI

from cryb_node.app import build_app
from tests.support.clock import SteppedClock
from tests.users.conftest import users_config, users_service
from tests.users_fixtures import PASSWORD, auth, register_user


async def node(aiohttp_client: Any, tmp_path: Any, clock: SteppedClock, **users: Any) -> Any:
    cfg = users_config(tmp_path / "data", users, rate_limits={"enabled": False})
    return await aiohttp_client(build_app(cfg, clock=clock))


async def sign_in(client: Any, login: str, password: str = PASSWORD) -> tuple[int, Any]:
    resp = await client.post("/api/v1/auth/login", json={"login": login, "password": password})
    return resp.status, await resp.json()


async def me_status(client: Any, token: str) -> int:
    return (await client.get("/api/v1/users/@me", headers=auth(token))).status


async def test_an_access_token_expires_when_the_node_clock_passes_its_life(aiohttp_client, tmp_path, clock):
    client = await node(aiohttp_client, tmp_path, clock, access_ttl_s=60)
    await register_user(client, "ticking")
    _, pair = await sign_in(client, "ticking")
    clock.advance(59)
    assert await me_status(client, pair["access_token"]) == 200
    clock.advance(1)
    assert await me_status(client, pair["access_token"]) == 401
    # its refresh token still swaps for a pair that works
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert resp.status == 200 and await me_status(client, (await resp.json())["access_token"]) == 200


async def test_a_refresh_token_expires_with_its_session(aiohttp_client, tmp_path, clock):
    client = await node(aiohttp_client, tmp_path, clock, refresh_ttl_s=300)
    await register_user(client, "sleeper")
    _, pair = await sign_in(client, "sleeper")
    sessions = await client.get("/api/v1/users/@me/sessions", headers=auth(pair["access_token"]))
    assert len((await sessions.json())["sessions"]) == 2  # registration's and this sign-in's
    clock.advance(301)
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert resp.status == 401 and (await resp.json())["code"] == "invalid_refresh_token"
    _, fresh = await sign_in(client, "sleeper")
    sessions = await client.get("/api/v1/users/@me/sessions", headers=auth(fresh["access_token"]))
    assert [s["current"] for s in (await sessions.json())["sessions"]] == [True]  # the expired are not listed


async def test_a_sign_in_lockout_ends_when_the_node_clock_passes_it(aiohttp_client, tmp_path, clock):
    client = await node(aiohttp_client, tmp_path, clock, account_failure_limit=2, lockout_s=60)
    await register_user(client, "forgetful")
    for _ in range(2):
        assert (await sign_in(client, "forgetful", "not the password"))[0] == 401
    status, body = await sign_in(client, "forgetful")
    assert (status, body["code"]) == (429, "login_locked")
    clock.advance(61)
    assert (await sign_in(client, "forgetful"))[0] == 200


async def test_a_password_reset_link_expires(aiohttp_client, tmp_path, clock):
    client = await node(aiohttp_client, tmp_path, clock, reset_token_ttl_s=600)
    user_id, _ = await register_user(client, "resetting")
    users = users_service(client)
    confirm = "/api/v1/auth/password-reset/confirm"
    late = (await emails.send_reset(users, user_id, CLI)).split("token=")[1]
    clock.advance(601)
    resp = await client.post(confirm, json={"token": late, "new_password": "another long password"})
    assert resp.status == 400 and (await resp.json())["code"] == "invalid_email_token"
    in_time = (await emails.send_reset(users, user_id, CLI)).split("token=")[1]
    clock.advance(599)
    resp = await client.post(confirm, json={"token": in_time, "new_password": "another long password"})
    assert resp.status == 204


async def test_an_api_token_expires(aiohttp_client, tmp_path, clock):
    client = await node(aiohttp_client, tmp_path, clock, access_ttl_s=86_400)
    _, token = await register_user(client, "scripter")
    resp = await client.post(
        "/api/v1/tokens", json={"name": "cron", "scopes": ["read"], "expires_in_s": 60}, headers=auth(token)
    )
    made = await resp.json()
    assert resp.status == 201 and made["expires_at"] - made["created_at"] == 60
    assert await me_status(client, made["token"]) == 200
    clock.advance(61)
    assert await me_status(client, made["token"]) == 401
