"""Bad input gets a 4xx with a stable code and the field named, and leaves state unchanged; plus
private communities, invites, pagination and the permission cache's invalidation."""

from __future__ import annotations

import time

from cryb_node.appkeys import NODE
from cryb_node.services import PERMISSIONS, Perm
from tests.communities.conftest import call, new_user, ok

MANAGER = int(Perm.MANAGE_ROLES | Perm.KICK_MEMBERS | Perm.MANAGE_CHANNELS)


async def setup(client):
    owner, mod, member = await new_user(client), await new_user(client), await new_user(client)
    cid = (await ok(client, "POST", "/communities", owner, json={"name": "Rules"}))["id"]
    for u in (mod, member):
        await ok(client, "PUT", f"/communities/{cid}/members/@me", u, json={})
    role = await ok(
        client,
        "POST",
        f"/communities/{cid}/roles",
        owner,
        json={"name": "mgr", "perms": MANAGER, "position": 5},
    )
    await ok(client, "PUT", f"/communities/{cid}/members/{mod.id}/roles/{role['id']}", owner)
    return cid, owner, mod, member, role


async def state(client, cid, owner):
    roles = await ok(client, "GET", f"/communities/{cid}/roles", owner)
    members = await ok(client, "GET", f"/communities/{cid}/members", owner)
    channels = await ok(client, "GET", f"/communities/{cid}/channels", owner)
    count = await client.app[NODE].db.fetchval("SELECT count(*) FROM events")
    return roles, members, channels, count


async def test_bad_input_is_refused_with_a_code_and_field_and_changes_nothing(cclient):
    cid, owner, mod, member, role = await setup(cclient)
    top = await ok(cclient, "POST", f"/communities/{cid}/roles", owner, json={"name": "top", "position": 9})
    await ok(cclient, "PUT", f"/communities/{cid}/members/{member.id}/roles/{top['id']}", owner)
    ch = (await ok(cclient, "GET", f"/communities/{cid}/channels", owner))["channels"][0]["id"]
    before = await state(cclient, cid, owner)
    cases = [
        (
            owner,
            "POST",
            f"/communities/{cid}/roles",
            {"name": "x", "perms": 1 << 20},
            400,
            "unknown_permission_bits",
            "perms",
        ),
        (
            owner,
            "POST",
            f"/communities/{cid}/roles",
            {"name": "x", "perms": -1},
            400,
            "unknown_permission_bits",
            "perms",
        ),
        (
            owner,
            "PATCH",
            f"/communities/{cid}/roles/{role['id']}",
            {"perms": 1 << 30},
            400,
            "unknown_permission_bits",
            "perms",
        ),
        (
            owner,
            "PUT",
            f"/channels/{ch}/overwrites/role/{cid}",
            {"allow": 1 << 29},
            400,
            "unknown_permission_bits",
            "allow",
        ),
        (
            owner,
            "PUT",
            f"/channels/{ch}/overwrites/role/{cid}",
            {"allow": 2, "deny": 2},
            400,
            "allow_deny_overlap",
            "deny",
        ),
        (
            owner,
            "PUT",
            f"/channels/{ch}/overwrites/group/{cid}",
            {"allow": 2},
            400,
            "invalid_target_type",
            "target_type",
        ),
        (
            mod,
            "POST",
            f"/communities/{cid}/roles",
            {"name": "x", "position": 5},
            403,
            "role_hierarchy",
            "position",
        ),
        (
            mod,
            "POST",
            f"/communities/{cid}/roles",
            {"name": "x", "perms": int(Perm.BAN_MEMBERS)},
            403,
            "permission_not_held",
            "perms",
        ),
        (
            mod,
            "PATCH",
            f"/communities/{cid}/roles/{role['id']}",
            {"color": 1},
            403,
            "role_hierarchy",
            "role_id",
        ),
        (
            mod,
            "PUT",
            f"/communities/{cid}/members/{mod.id}/roles/{top['id']}",
            None,
            403,
            "role_hierarchy",
            "role_id",
        ),
        (mod, "POST", f"/communities/{cid}/members/{member.id}/kick", {}, 403, "role_hierarchy", "user_id"),
        (mod, "POST", f"/communities/{cid}/members/{owner.id}/kick", {}, 403, "target_is_owner", None),
        (owner, "POST", "/communities", {"name": "x" * 101}, 400, "invalid_field", "name"),
        (owner, "POST", "/communities", {"name": ""}, 400, "invalid_field", "name"),
        (owner, "POST", f"/communities/{cid}/channels", {"name": "c" * 101}, 400, "invalid_field", "name"),
        (
            owner,
            "POST",
            f"/communities/{cid}/channels",
            {"name": "c", "kind": "voice"},
            400,
            "invalid_field",
            "kind",
        ),
        (owner, "POST", f"/communities/{cid}/roles", {"name": "r" * 101}, 400, "invalid_field", "name"),
        (owner, "PATCH", f"/communities/{cid}", {"rules": ["x" * 301]}, 400, "invalid_field", "rules[0]"),
        (
            owner,
            "PUT",
            f"/communities/{cid}/members/{member.id}/timeout",
            {"duration_s": 29 * 86400},
            400,
            "invalid_field",
            "duration_s",
        ),
        (
            owner,
            "PUT",
            f"/communities/{cid}/members/{member.id}/timeout",
            {"until": 1},
            400,
            "out_of_range",
            "until",
        ),
        (
            owner,
            "PUT",
            f"/communities/{cid}/bans/{member.id}",
            {"delete_message_seconds": 8 * 86400},
            400,
            "invalid_field",
            "delete_message_seconds",
        ),
        (
            owner,
            "POST",
            f"/communities/{cid}/automod/rules",
            {"name": "a", "kind": "words", "action": "explode"},
            400,
            "invalid_field",
            "action",
        ),
        (owner, "DELETE", f"/communities/{cid}/roles/{cid}", None, 400, "everyone_fixed", "role_id"),
        (owner, "DELETE", f"/communities/{cid}/members/@me", None, 409, "owner_cannot_leave", None),
    ]
    for who, method, path, body, status, code, field in cases:
        got, resp = await call(cclient, method, path, who, **({"json": body} if body is not None else {}))
        assert (got, resp["code"], resp.get("field")) == (status, code, field), (method, path, body, resp)
    assert await state(cclient, cid, owner) == before


async def test_invites_expire_run_out_and_can_be_revoked(cclient, clock):
    owner = await new_user(cclient)
    cid = (await ok(cclient, "POST", "/communities", owner, json={"name": "Secret", "public": False}))["id"]
    a, b, c = await new_user(cclient), await new_user(cclient), await new_user(cclient)
    # A private community is invisible to outsiders and cannot be joined without an invite.
    for who in (a, None):
        status, body = await call(cclient, "GET", f"/communities/{cid}", who)
        assert status == 404
    assert (await call(cclient, "GET", f"/communities/{cid}/channels", a))[0] == 404
    assert (await call(cclient, "PUT", f"/communities/{cid}/members/@me", a, json={}))[0] == 404

    once = await ok(cclient, "POST", f"/communities/{cid}/invites", owner, json={"max_uses": 1})
    assert (await ok(cclient, "POST", f"/invites/{once['code']}", a))["member"] is True
    status, body = await call(cclient, "POST", f"/invites/{once['code']}", b)
    assert (status, body["code"], body["field"]) == (410, "invite_used_up", "invite")
    short = await ok(cclient, "POST", f"/communities/{cid}/invites", owner, json={"max_age_s": 1})
    revoked = await ok(cclient, "POST", f"/communities/{cid}/invites", owner, json={})
    assert (await call(cclient, "DELETE", f"/invites/{revoked['code']}", owner))[0] == 204
    status, body = await call(
        cclient, "PUT", f"/communities/{cid}/members/@me", b, json={"invite": revoked["code"]}
    )
    assert (status, body["code"]) == (410, "invite_revoked")
    clock.advance(1.05)
    status, body = await call(cclient, "POST", f"/invites/{short['code']}", c)
    assert (status, body["code"]) == (410, "invite_expired")
    members = await ok(cclient, "GET", f"/communities/{cid}/members", owner)
    assert sorted(m["user_id"] for m in members["members"]) == sorted([owner.id, a.id])
    listed = {
        i["code"]: i for i in (await ok(cclient, "GET", f"/communities/{cid}/invites", owner))["invites"]
    }
    assert listed[once["code"]]["uses"] == 1 and listed[revoked["code"]]["revoked"]


async def test_member_list_pages_with_a_cursor_without_gaps_or_repeats(cclient):
    owner = await new_user(cclient)
    cid = (await ok(cclient, "POST", "/communities", owner, json={"name": "Big"}))["id"]
    users = [await new_user(cclient) for _ in range(11)]
    for u in users:
        await ok(cclient, "PUT", f"/communities/{cid}/members/@me", u, json={})
    seen, after = [], None
    while True:
        page = await ok(
            cclient,
            "GET",
            f"/communities/{cid}/members?limit=4" + (f"&after={after}" if after else ""),
            owner,
        )
        seen += [m["user_id"] for m in page["members"]]
        if page["next"] is None:
            break
        after = page["next"]
    assert seen == sorted({owner.id, *(u.id for u in users)})


async def test_permission_cache_follows_events_and_timeouts(cclient, clock):
    cid, owner, _, member, role = await setup(cclient)
    perms = cclient.app[NODE].services.get(PERMISSIONS)
    ch = (await ok(cclient, "GET", f"/communities/{cid}/channels", owner))["channels"][0]["id"]
    first = await perms.channel(member.id, ch)
    assert first is not None and first.perms & Perm.SEND_MESSAGES
    assert await perms.channel(member.id, ch) is first  # cached
    await ok(
        cclient,
        "PUT",
        f"/channels/{ch}/overwrites/member/{member.id}",
        owner,
        json={"deny": int(Perm.SEND_MESSAGES)},
    )
    assert not (await perms.channel(member.id, ch)).perms & Perm.SEND_MESSAGES  # invalidated by the event
    await ok(cclient, "PUT", f"/communities/{cid}/members/{member.id}/roles/{role['id']}", owner)
    assert await perms.community(member.id, cid) & Perm.KICK_MEMBERS
    until = time.time_ns() // 1_000_000 + 1000
    await ok(cclient, "PUT", f"/communities/{cid}/members/{member.id}/timeout", owner, json={"until": until})
    timed = await perms.channel(member.id, ch)
    assert timed.perms == Perm.VIEW_CHANNEL | Perm.READ_HISTORY and timed.timed_out_until == until
    clock.advance(1.1)
    # No event ends a timeout: the cached entry expires with it.
    assert await perms.community(member.id, cid) & Perm.KICK_MEMBERS
    visible = await perms.visible_channels(member.id)
    assert [v.channel_id for v in visible] == [ch]
