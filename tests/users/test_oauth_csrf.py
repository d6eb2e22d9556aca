"""OAuth sign-in state is bound to the browser that started the flow (no login CSRF): a callback
URL carried to another browser neither signs that browser in nor links an account."""

from __future__ import annotations

import aiohttp
import pytest

from cryb_node.app import build_app
from tests.users.conftest import count, users_config
from tests.users.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from tests.users.test_oauth import through_provider
from tests.users_fixtures import auth, register_user


@pytest.fixture
async def node_and_provider(aiohttp_server, aiohttp_client, tmp_path):
    provider = Provider()
    server = await aiohttp_server(provider.app(), host="127.0.0.1")
    provider.issuer = str(server.make_url("")).rstrip("/")
    oauth = [{"name": "test", "preset": "oidc", "issuer": provider.issuer, "client_id": CLIENT_ID,
              "client_secret": CLIENT_SECRET}]  # fmt: skip
    return await aiohttp_client(build_app(users_config(tmp_path / "d", {"oauth": oauth}))), provider


async def _in_another_browser(client, path: str) -> aiohttp.ClientResponse:
    """The victim's browser: no cookies from the attacker's session."""
    async with aiohttp.ClientSession() as browser:
        resp = await browser.get(client.make_url(path))
        await resp.read()
        return resp


async def test_start_sets_a_lax_httponly_cookie_bound_to_the_state(node_and_provider):
    client, _ = node_and_provider
    start = await client.post("/api/v1/auth/oauth/test/start")
    cookie = start.cookies["cryb_oauth"]
    assert cookie.value and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie["path"] == "/api/v1/auth/oauth" and int(cookie["max-age"]) <= 600
    redirect = await client.get("/api/v1/auth/oauth/test/login", allow_redirects=False)
    assert redirect.status == 302 and redirect.cookies["cryb_oauth"]["samesite"] == "Lax"


async def test_login_callback_opened_in_another_browser_is_refused(node_and_provider):
    client, _ = node_and_provider
    path = await through_provider(client)  # the attacker's flow, with the attacker's provider account
    resp = await _in_another_browser(client, path)
    assert resp.status == 400
    assert (await resp.json())["code"] == "oauth_state_mismatch"
    assert await count(client, "SELECT count(*) FROM users_accounts") == 0
    # The state is spent: the attacker cannot retry it from their own browser either.
    assert (await client.get(path)).status == 400


async def test_link_callback_opened_in_another_browser_links_nothing(node_and_provider):
    client, _ = node_and_provider
    _, token = await register_user(client, "victim", email="victim@example.test")
    path = await through_provider(client, auth(token))
    resp = await _in_another_browser(client, path)
    assert resp.status == 400 and (await resp.json())["code"] == "oauth_state_mismatch"
    assert await count(client, "SELECT count(*) FROM users_oauth_links") == 0


async def test_the_browser_that_started_signs_in_and_the_cookie_is_cleared(node_and_provider):
    client, provider = node_and_provider
    resp = await client.get(await through_provider(client))
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["created"] is True
    assert resp.cookies["cryb_oauth"].value == ""  # deleted once used
    # PKCE still runs: the provider checked our verifier against the challenge.
    assert provider.token_requests[-1]["code_verifier"]
