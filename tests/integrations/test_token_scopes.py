"""The scope sweep: every route of the node, called with API tokens of each scope, refuses what the
scope does not cover (403 insufficient_scope, before any handler runs) and lets the rest through
to the handler. Expectations are spelled out here, not derived from the code under test."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.api import User

from .conftest import Space, ok

# Community moderation: refused to tokens without `moderate`.
MODERATE = {
    "GET /api/v1/communities/{community_id}/bans",
    "PUT /api/v1/communities/{community_id}/bans/{user_id}",
    "DELETE /api/v1/communities/{community_id}/bans/{user_id}",
    "POST /api/v1/communities/{community_id}/members/{user_id}/kick",
    "PUT /api/v1/communities/{community_id}/members/{user_id}/timeout",
    "DELETE /api/v1/communities/{community_id}/members/{user_id}/timeout",
    "POST /api/v1/messages/{target_id}/moderation",
    "POST /api/v1/posts/{target_id}/moderation",
    "POST /api/v1/comments/{target_id}/moderation",
    "POST /api/v1/communities/{community_id}/automod/check",
    "GET /api/v1/communities/{community_id}/automod/rules",
    "POST /api/v1/communities/{community_id}/automod/rules",
    "PUT /api/v1/communities/{community_id}/automod/rules/{rule_id}",
    "DELETE /api/v1/communities/{community_id}/automod/rules/{rule_id}",
    "PATCH /api/v1/communities/{community_id}/reports/{report_id}",
}
# The account's own security: no token reaches it, whatever its scopes.
SESSION_ONLY = re.compile(
    r"^(?!GET /api/v1/users/@me$)[A-Z]+ (/api/v1/(tokens|bots)(/|$)|/api/v1/users/@me"
    r"(/(password|totp|sessions|email|deactivate|export|oauth)|$)|/api/v1/auth/)"
)


def routes(space: Space) -> list[tuple[str, str, Any]]:
    out = []
    for route in space.client.app.router.routes():
        spec = getattr(route.handler, "cryb_route", None)
        if spec is not None and spec.auth != "none" and spec.path.startswith("/api/"):
            out.append((spec.method, spec.path, spec))
    assert len(out) > 150
    return sorted(out, key=lambda r: (r[1], r[0]))


async def token(space: Space, *scopes: str) -> User:
    made = await ok(space.client, "POST", "/tokens", space.owner, json={"name": "s", "scopes": list(scopes)})
    return User(space.owner.id, made["token"])


def url(path: str) -> str:
    return re.sub(r"{(\w+)(:[^}]*)?}", "zz", path)


async def refused(space: Space, who: User, method: str, path: str) -> bool:
    resp = await space.client.request(method, url(path), headers=who.h, json={})
    if resp.status != 403 or resp.content_type != "application/problem+json":
        return False
    return (await resp.json())["code"] == "insufficient_scope"


@pytest.mark.parametrize(
    "scopes", [("read",), ("read", "write"), ("read", "write", "moderate")], ids=["read", "write", "moderate"]
)
async def test_every_route_refuses_tokens_without_its_scope(space: Space, scopes: tuple[str, ...]):
    who = await token(space, *scopes)
    wrong = []
    for method, path, _ in routes(space):
        key = f"{method} {path}"
        if SESSION_ONLY.match(key) or path.startswith("/api/v1/admin/"):
            expect = True
        elif key in MODERATE:
            expect = "moderate" not in scopes
        else:
            expect = method not in ("GET", "HEAD") and "write" not in scopes
        if await refused(space, who, method, path) != expect:
            wrong.append(f"{key}: expected {'refused' if expect else 'allowed'}")
    assert not wrong, "\n".join(wrong)


async def test_the_admin_scope_reaches_admin_routes_only_while_its_owner_is_a_node_admin(hc, tmp_path):
    link = (tmp_path / "data" / "setup-link.txt").read_text().strip()
    body = {"username": "rootadmin", "email": "root@example.test", "password": "a long admin password"}
    made = await ok(hc, "POST", "/auth/setup", json={**body, "token": link.split("#token=")[1]})
    admin = User(made["user"]["id"], made["access_token"])
    plain = await ok(hc, "POST", "/tokens", admin, json={"name": "p", "scopes": ["read", "write"]})
    status = (await hc.get("/api/v1/admin/audit", headers=User(admin.id, plain["token"]).h)).status
    assert status == 403  # an admin's token without the admin scope is not an admin
    strong = await ok(hc, "POST", "/tokens", admin, json={"name": "a", "scopes": ["read", "admin"]})
    root = User(admin.id, strong["token"])
    assert (await hc.get("/api/v1/admin/audit", headers=root.h)).status == 200
    other = await ok(hc, "POST", "/auth/register", json={"username": "demoted", "email": "d@example.test",
                                                          "password": "a long user password"})  # fmt: skip
    await ok(hc, "PATCH", f"/admin/users/{other['user']['id']}", admin, json={"admin": True})
    login = await ok(hc, "POST", "/auth/login", json={"login": "demoted", "password": "a long user password"})
    promoted = User(other["user"]["id"], login["access_token"])  # signed in again: now an admin
    theirs = await ok(hc, "POST", "/tokens", promoted, json={"name": "a", "scopes": ["read", "admin"]})
    await ok(hc, "PATCH", f"/admin/users/{promoted.id}", admin, json={"admin": False})
    resp = await hc.get("/api/v1/admin/audit", headers=User(promoted.id, theirs["token"]).h)
    assert resp.status == 403  # demoted: the admin scope is worth nothing now
