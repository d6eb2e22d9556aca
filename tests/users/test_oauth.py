"""OpenID Connect sign-in against a real provider on loopback: account creation, state and PKCE,
id_token verification and account linking."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from cryb_node.app import build_app
from tests.users.conftest import count, users_config
from tests.users.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from tests.users_fixtures import auth, register_user


@pytest.fixture
async def oidc(aiohttp_server, aiohttp_client, tmp_path):
    provider = Provider()
    server = await aiohttp_server(provider.app(), host="127.0.0.1")
    provider.issuer = str(server.make_url("")).rstrip("/")
    oauth = [{"name": "test", "preset": "oidc", "issuer": provider.issuer, "client_id": CLIENT_ID,
              "client_secret": CLIENT_SECRET}]  # fmt: skip
    client = await aiohttp_client(build_app(users_config(tmp_path / "d", {"oauth": oauth})))
    return client, provider


async def through_provider(client, headers=None) -> str:
    """Start sign-in, let the provider approve, and return our callback path+query it redirects to."""
    start = await client.post("/api/v1/auth/oauth/test/start", headers=headers or {})
    assert start.status == 200, await start.text()
    url = (await start.json())["authorize_url"]
    params = parse_qs(urlsplit(url).query)
    assert params["code_challenge_method"] == ["S256"] and params["nonce"] and params["state"]
    async with aiohttp.ClientSession() as browser, browser.get(url, allow_redirects=False) as resp:
        assert resp.status == 302
        back = urlsplit(resp.headers["Location"])
    assert back.path == "/api/v1/auth/oauth/test/callback"
    return f"{back.path}?{back.query}"


async def test_oidc_login_creates_the_account_then_signs_it_in_again(oidc):
    client, provider = oidc
    listing = await (await client.get("/api/v1/auth/oauth")).json()
    assert listing == {"providers": [{"name": "test", "preset": "oidc"}]}
    resp = await client.get(await through_provider(client))
    assert resp.status == 200, await resp.text()
    first = await resp.json()
    assert first["created"] is True and first["linked"] is True
    me = await (await client.get("/api/v1/users/@me", headers=auth(first["tokens"]["access_token"]))).json()
    assert me["username"] == "oidc_person" and me["email"] == "oidc.person@example.test"
    assert me["email_verified"] is True
    # PKCE: the verifier we sent hashes to the challenge the provider saw (it checked).
    assert provider.token_requests[-1]["code_verifier"]

    again = await (await client.get(await through_provider(client))).json()
    assert again["created"] is False and again["user_id"] == first["user_id"]
    assert await count(client, "SELECT count(*) FROM users_accounts") == 1


async def test_state_mismatch_and_replayed_state_are_refused(oidc):
    client, _ = oidc
    path = await through_provider(client)
    forged = path.replace("state=", "state=x")
    resp = await client.get(forged)
    body = await resp.json()
    assert resp.status == 400 and body["code"] == "oauth_state_mismatch" and body["field"] == "state"
    assert await count(client, "SELECT count(*) FROM users_accounts") == 0
    assert (await client.get(path)).status == 200
    replay = await client.get(path)
    assert replay.status == 400 and (await replay.json())["code"] == "oauth_state_mismatch"
    assert await count(client, "SELECT count(*) FROM users_audit WHERE action = 'oauth.state_mismatch'") == 2


async def test_id_token_signed_by_another_key_is_refused(oidc):
    client, provider = oidc
    provider.sign_with = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    resp = await client.get(await through_provider(client))
    assert resp.status == 401 and (await resp.json())["code"] == "oauth_bad_id_token"
    assert await count(client, "SELECT count(*) FROM users_accounts") == 0


async def test_existing_account_links_the_provider_and_email_alone_never_takes_it_over(oidc):
    client, _ = oidc
    user_id, token = await register_user(client, "owner", email="oidc.person@example.test")
    # Signing in with the provider's verified email does not hand over the existing account.
    resp = await client.get(await through_provider(client))
    assert resp.status == 409 and (await resp.json())["code"] == "oauth_email_in_use"
    # The owner, signed in, links it; from then on the provider signs them in.
    linked = await (await client.get(await through_provider(client, auth(token)))).json()
    assert linked == {"user_id": user_id, "created": False, "linked": True, "tokens": None}
    again = await (await client.get(await through_provider(client))).json()
    assert again["user_id"] == user_id and again["tokens"]["access_token"]
    links = await (await client.get("/api/v1/users/@me/oauth", headers=auth(token))).json()
    assert [link["provider"] for link in links["links"]] == ["test"]
    assert (await client.delete("/api/v1/users/@me/oauth/test", headers=auth(token))).status == 204


async def test_unknown_provider_is_404(oidc):
    client, _ = oidc
    assert (await client.post("/api/v1/auth/oauth/nope/start")).status == 404


async def test_github_preset_uses_the_user_api_and_never_trusts_its_email(
    aiohttp_server, aiohttp_client, tmp_path
):
    provider = Provider()
    server = await aiohttp_server(provider.app(), host="127.0.0.1")
    base = str(server.make_url("")).rstrip("/")
    provider.issuer = base
    provider.user = {"id": 4242, "login": "octo-cat", "email": "octo@example.test"}
    oauth = [{"name": "test", "preset": "github", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
              "authorize_url": f"{base}/authorize", "token_url": f"{base}/token",
              "userinfo_url": f"{base}/userinfo"}]  # fmt: skip
    client = await aiohttp_client(build_app(users_config(tmp_path / "d", {"oauth": oauth})))
    path = await through_provider_without_nonce(client)
    result = await (await client.get(path)).json()
    assert result["created"] is True
    me = await (await client.get("/api/v1/users/@me", headers=auth(result["tokens"]["access_token"]))).json()
    # GitHub's public email is not a verified one: the account gets no address from it.
    assert me["username"] == "octo_cat" and me["email"] is None


async def through_provider_without_nonce(client) -> str:
    start = await (await client.post("/api/v1/auth/oauth/test/start")).json()
    params = parse_qs(urlsplit(start["authorize_url"]).query)
    assert "nonce" not in params and params["code_challenge_method"] == ["S256"]
    async with (
        aiohttp.ClientSession() as browser,
        browser.get(start["authorize_url"], allow_redirects=False) as resp,
    ):
        back = urlsplit(resp.headers["Location"])
    return f"{back.path}?{back.query}"
