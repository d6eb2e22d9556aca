"""Friend requests and blocks, and the core Relationships service other plugins use."""

from __future__ import annotations

from cryb_node.appkeys import NODE
from cryb_node.services import RELATIONSHIPS
from tests.users_fixtures import auth, register_user


async def rel_types(client, token):
    listing = await (await client.get("/api/v1/users/@me/relationships", headers=auth(token))).json()
    return {r["user_id"]: r["type"] for r in listing["relationships"]}


async def test_friend_request_accept_decline_cancel_remove(uclient):
    a, ta = await register_user(uclient, "amy")
    b, tb = await register_user(uclient, "ben")
    c, tc = await register_user(uclient, "cat")
    resp = await uclient.put(f"/api/v1/users/@me/friends/{b}", headers=auth(ta))
    assert (await resp.json())["type"] == "outgoing"
    assert await rel_types(uclient, tb) == {a: "incoming"}
    resp = await uclient.put(f"/api/v1/users/@me/friends/{a}", headers=auth(tb))
    assert (await resp.json())["type"] == "friend"
    assert await rel_types(uclient, ta) == {b: "friend"} and await rel_types(uclient, tb) == {a: "friend"}

    await uclient.put(f"/api/v1/users/@me/friends/{c}", headers=auth(ta))
    assert (await uclient.delete(f"/api/v1/users/@me/friends/{a}", headers=auth(tc))).status == 204  # decline
    assert await rel_types(uclient, ta) == {b: "friend"}
    await uclient.put(f"/api/v1/users/@me/friends/{c}", headers=auth(ta))
    assert (await uclient.delete(f"/api/v1/users/@me/friends/{c}", headers=auth(ta))).status == 204  # cancel
    assert await rel_types(uclient, tc) == {}
    assert (await uclient.delete(f"/api/v1/users/@me/friends/{b}", headers=auth(ta))).status == 204  # remove
    assert await rel_types(uclient, tb) == {}
    assert (await uclient.delete(f"/api/v1/users/@me/friends/{b}", headers=auth(ta))).status == 404
    resp = await uclient.put(f"/api/v1/users/@me/friends/{a}", headers=auth(ta))
    assert resp.status == 400 and (await resp.json())["field"] == "user_id"
    assert (await uclient.put("/api/v1/users/@me/friends/nobody", headers=auth(ta))).status == 404


async def test_blocked_user_cannot_send_a_friend_request_and_services_see_the_block(uclient):
    a, ta = await register_user(uclient, "blocker")
    b, tb = await register_user(uclient, "pest")
    await uclient.put(f"/api/v1/users/@me/friends/{a}", headers=auth(tb))
    assert (await uclient.put(f"/api/v1/users/@me/blocks/{b}", headers=auth(ta))).status == 204
    # Blocking dropped the pending request on both sides.
    assert await rel_types(uclient, ta) == {b: "blocked"}
    assert await rel_types(uclient, tb) == {}
    for token, other in ((tb, a), (ta, b)):
        resp = await uclient.put(f"/api/v1/users/@me/friends/{other}", headers=auth(token))
        body = await resp.json()
        assert resp.status == 403 and body["code"] == "blocked" and "blocked" in body["detail"]

    # DMs and notifications live in other plugins: they ask the core-level service, both ways.
    service = uclient.app[NODE].services.get(RELATIONSHIPS)
    assert await service.is_blocked(a, b) and await service.is_blocked(b, a)
    assert (await uclient.delete(f"/api/v1/users/@me/blocks/{b}", headers=auth(ta))).status == 204
    assert not await service.is_blocked(a, b)
    resp = await uclient.put(f"/api/v1/users/@me/friends/{a}", headers=auth(tb))
    assert resp.status == 200
