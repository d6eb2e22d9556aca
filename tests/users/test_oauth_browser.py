"""OAuth sign-in from the web UI's button: the browser comes back to the callback as a top-level
navigation, and the node opens the app signed in (refresh token in the web UI's HttpOnly cookie)
instead of answering JSON. API clients still get the JSON."""

from __future__ import annotations

from tests.users.test_oauth import oidc, through_provider  # noqa: F401  (the fixture)

NAVIGATE = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}


async def test_browser_callback_sets_the_web_cookie_and_opens_the_app(oidc):  # noqa: F811
    client, _ = oidc
    resp = await client.get(await through_provider(client), headers=NAVIGATE, allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/"
    cookie = resp.cookies["cryb_refresh"]
    assert cookie.value and cookie["httponly"] and cookie["samesite"] == "Strict"
    assert cookie["path"] == "/api/v1/auth"
    # The web UI's boot step (refresh in web mode, with the cookie) signs it in.
    refreshed = await client.post("/api/v1/auth/refresh", json={}, headers={"X-Cryb-Client": "web"})
    assert refreshed.status == 200, await refreshed.text()
    access = (await refreshed.json())["access_token"]
    me = await client.get("/api/v1/users/@me", headers={"Authorization": f"Bearer {access}"})
    assert (await me.json())["username"] == "oidc_person"


async def test_api_callback_still_answers_json_without_a_cookie(oidc):  # noqa: F811
    client, _ = oidc
    resp = await client.get(await through_provider(client))
    assert resp.status == 200 and (await resp.json())["tokens"]["refresh_token"]
    assert "cryb_refresh" not in resp.cookies


async def test_browser_callback_with_a_bad_state_is_refused_and_sets_nothing(oidc):  # noqa: F811
    client, _ = oidc
    path = await through_provider(client)
    forged = path.replace("state=", "state=x")
    resp = await client.get(forged, headers=NAVIGATE, allow_redirects=False)
    assert resp.status == 400
    assert "cryb_refresh" not in resp.cookies
