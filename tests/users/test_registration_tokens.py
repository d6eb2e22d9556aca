"""Registration tokens over the admin API: made and shown once (only a hash kept), a use limit that
holds under concurrent sign-ups, expiry on the node's clock, revocation, and admins only."""

from __future__ import annotations

import asyncio
import hashlib

from cryb_node.appkeys import NODE
from tests.users.conftest import count
from tests.users.registration_fixtures import (
    accounts_named,
    member,
    node_admin,
    refusals,
    reg_client,
    signup,
)

TOKENS = "/api/v1/admin/registration-tokens"


async def make_token(client, admin, **spec):
    resp = await client.post(TOKENS, json=spec, headers=admin)
    out = await resp.json()
    assert resp.status == 201, out
    return out


async def listed(client, admin):
    resp = await client.get(TOKENS, headers=admin)
    assert resp.status == 200
    return (await resp.json())["tokens"]


async def test_a_token_is_shown_once_and_only_its_hash_is_kept(aiohttp_client, tmp_path):
    client = await reg_client(aiohttp_client, tmp_path, "invite")
    admin_id, admin = await node_admin(client)
    made = await make_token(client, admin, uses=3, expires_in_s=7 * 86_400)
    token = made["token"]
    assert token.startswith("rg_") and len(token) > 40
    assert (made["state"], made["uses"], made["max_uses"], made["created_by"]) == ("active", 0, 3, admin_id)
    assert made["expires_at"] - made["created_at"] == 7 * 86_400
    stored = await count(
        client, "SELECT token_hash FROM users_registration_tokens WHERE id = ?", (made["id"],)
    )
    assert stored == hashlib.sha256(token.encode()).digest()
    db = client.app[NODE].db_path
    on_disk = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert token.encode() not in on_disk and token[9:].encode() not in on_disk
    [shown] = await listed(client, admin)
    assert "token" not in shown and shown["hint"] == token[:9] and shown["id"] == made["id"]


async def test_a_token_admits_as_many_sign_ups_as_its_uses(aiohttp_client, tmp_path):
    client = await reg_client(aiohttp_client, tmp_path, "invite")
    _, admin = await node_admin(client)
    token = (await make_token(client, admin, uses=2))["token"]
    for name in ("first_in", "second_in"):
        status, out = await signup(client, name, invite=token)
        assert status == 201, out
    status, out = await signup(client, "third_out", invite=token)
    assert (status, out["code"], out["field"]) == (410, "invite_used_up", "invite")
    assert await accounts_named(client, "first_in", "second_in", "third_out") == 2
    [shown] = await listed(client, admin)
    assert (shown["uses"], shown["state"]) == (2, "used_up")
    assert await refusals(client) == ["token_used_up"]
    # which token let each account in is audited (by id)
    assert (
        await count(client, "SELECT count(*) FROM users_audit WHERE action = 'registration.token_used'") == 2
    )


async def test_concurrent_sign_ups_never_get_past_a_one_use_token(aiohttp_client, tmp_path):
    # Eight sign-ups at once all pass the early check (nothing is used yet); the count taken in each
    # account's transaction lets exactly one through and rolls the others back.
    client = await reg_client(aiohttp_client, tmp_path, "invite")
    _, admin = await node_admin(client)
    token = (await make_token(client, admin, uses=1))["token"]
    names = [f"racer_{i}" for i in range(8)]
    results = await asyncio.gather(*(signup(client, n, invite=token) for n in names))
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [410] * 7, results
    assert {out["code"] for status, out in results if status == 410} == {"invite_used_up"}
    assert await accounts_named(client, *names) == 1
    assert await count(client, "SELECT uses FROM users_registration_tokens") == 1


async def test_an_expired_token_admits_no_one(aiohttp_client, tmp_path, clock):
    # The admin's access token must outlive the hour the node's clock is moved on.
    client = await reg_client(aiohttp_client, tmp_path, "invite", clock=clock, users={"access_ttl_s": 86_400})
    _, admin = await node_admin(client)
    made = await make_token(client, admin, expires_in_s=3600)
    token = made["token"]
    clock.advance(made["expires_at"] - clock.time() - 1)  # a second before it expires
    status, out = await signup(client, "just_in_time", invite=token)
    assert status == 201, out
    clock.advance(2)
    status, out = await signup(client, "one_second_late", invite=token)
    assert (status, out["code"]) == (410, "invite_expired")
    assert [t["state"] for t in await listed(client, admin)] == ["expired"]
    assert await refusals(client) == ["token_expired"]


async def test_a_revoked_token_admits_no_one(aiohttp_client, tmp_path):
    client = await reg_client(aiohttp_client, tmp_path, "invite")
    _, admin = await node_admin(client)
    made = await make_token(client, admin)
    resp = await client.delete(f"{TOKENS}/{made['id']}", headers=admin)
    assert resp.status == 200 and (await resp.json())["state"] == "revoked"
    # again: still revoked, not an error; an unknown id is 404
    assert (await client.delete(f"{TOKENS}/{made['id']}", headers=admin)).status == 200
    missing = await client.delete(f"{TOKENS}/01nosuchtoken", headers=admin)
    assert missing.status == 404
    status, out = await signup(client, "after_revoke", invite=made["token"])
    assert (status, out["code"]) == (410, "invite_revoked")
    assert (
        await count(client, "SELECT count(*) FROM users_audit WHERE action = 'registration.token_revoked'")
        == 1
    )


async def test_token_requests_are_validated(aiohttp_client, tmp_path):
    client = await reg_client(aiohttp_client, tmp_path, "invite")
    _, admin = await node_admin(client)
    for spec, field in (({"uses": 0}, "uses"), ({"expires_in_s": 5}, "expires_in_s"), ({"what": 1}, "what")):
        resp = await client.post(TOKENS, json=spec, headers=admin)
        assert resp.status == 400 and (await resp.json())["field"] == field, spec


async def test_token_routes_are_for_node_admins_only(aiohttp_client, tmp_path):
    client = await reg_client(aiohttp_client, tmp_path, "invite")
    _, admin = await node_admin(client)
    made = await make_token(client, admin)
    _, plain = await member(client)
    for method, path, body in (
        ("GET", TOKENS, None),
        ("POST", TOKENS, {}),
        ("DELETE", f"{TOKENS}/{made['id']}", None),
    ):
        assert (await client.request(method, path, json=body, headers=plain)).status == 403, (method, path)
        assert (await client.request(method, path, json=body)).status == 401, (method, path)
    [still] = await listed(client, admin)
    assert still["state"] == "active"
    assert await count(client, "SELECT count(*) FROM users_registration_tokens") == 1
