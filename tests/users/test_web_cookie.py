"""The browser UI's sign-in mode: the refresh token travels only in an HttpOnly SameSite=Strict cookie."""

from __future__ import annotations

from http.cookies import SimpleCookie

from tests.users_fixtures import PASSWORD, auth

WEB = {"X-Cryb-Client": "web"}


def refresh_cookie(resp) -> tuple[str, str]:
    """(value, the raw Set-Cookie header) of the cryb_refresh cookie this response sets."""
    for header in resp.headers.getall("Set-Cookie", []):
        jar = SimpleCookie(header)
        if "cryb_refresh" in jar:
            return jar["cryb_refresh"].value, header
    raise AssertionError(f"no cryb_refresh cookie in {resp.headers.getall('Set-Cookie', [])}")


async def register_web(client, name: str = "webby") -> dict:
    resp = await client.post(
        "/api/v1/auth/register",
        json={"username": name, "email": f"{name}@example.test", "password": PASSWORD},
        headers=WEB,
    )
    assert resp.status == 201, await resp.text()
    return {"body": await resp.json(), "cookie": refresh_cookie(resp)}


async def test_web_register_sets_httponly_strict_cookie_and_hides_refresh_token(uclient):
    reg = await register_web(uclient)
    value, header = reg["cookie"]
    assert reg["body"]["refresh_token"] == "" and reg["body"]["access_token"]
    assert len(value) > 20
    lowered = header.lower()
    assert "httponly" in lowered and "samesite=strict" in lowered and "path=/api/v1/auth" in lowered
    # Plain http on loopback: not marked Secure (the browser would drop it).
    assert "secure" not in lowered.replace("samesite", "")


async def test_web_refresh_uses_the_cookie_and_rotates_it(uclient):
    reg = await register_web(uclient)
    old, _ = reg["cookie"]
    resp = await uclient.post(
        "/api/v1/auth/refresh", json={}, headers={**WEB, "Cookie": f"cryb_refresh={old}"}
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    new, _ = refresh_cookie(resp)
    assert body["refresh_token"] == "" and new != old
    assert (await uclient.get("/api/v1/users/@me", headers=auth(body["access_token"]))).status == 200


async def test_cookie_is_ignored_without_the_web_header(uclient):
    reg = await register_web(uclient)
    value, _ = reg["cookie"]
    uclient.session.cookie_jar.clear()
    resp = await uclient.post("/api/v1/auth/refresh", json={}, headers={"Cookie": f"cryb_refresh={value}"})
    assert resp.status == 400
    assert (await resp.json())["field"] == "refresh_token"


async def test_web_refresh_without_cookie_is_refused_naming_the_field(uclient):
    uclient.session.cookie_jar.clear()
    resp = await uclient.post("/api/v1/auth/refresh", json={}, headers=WEB)
    assert resp.status == 400
    assert (await resp.json())["field"] == "refresh_token"


async def test_web_login_sets_cookie_and_logout_clears_it(uclient):
    await register_web(uclient, "loggy")
    resp = await uclient.post(
        "/api/v1/auth/login", json={"login": "loggy", "password": PASSWORD}, headers=WEB
    )
    assert resp.status == 200
    body = await resp.json()
    value, _ = refresh_cookie(resp)
    assert body["refresh_token"] == ""
    resp = await uclient.post("/api/v1/auth/logout", headers={**WEB, **auth(body["access_token"])})
    assert resp.status == 204
    cleared, header = refresh_cookie(resp)
    assert cleared == "" and "max-age=0" in header.lower()
    # The session is over: its cookie no longer refreshes.
    resp = await uclient.post(
        "/api/v1/auth/refresh", json={}, headers={**WEB, "Cookie": f"cryb_refresh={value}"}
    )
    assert resp.status == 401


async def test_api_clients_still_get_the_refresh_token_in_the_body(uclient):
    resp = await uclient.post(
        "/api/v1/auth/register",
        json={"username": "apiuser", "email": "api@example.test", "password": PASSWORD},
    )
    body = await resp.json()
    assert resp.status == 201 and body["refresh_token"]
    assert not any("cryb_refresh" in h for h in resp.headers.getall("Set-Cookie", []))
