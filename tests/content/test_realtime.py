"""Realtime end to end with an independent client (websockets) on /gateway: members chat live; a
member without VIEW_CHANNEL receives nothing from that channel until a role change lets them see it;
a kicked or banned member's socket stops receiving at once (issue 6, acceptance 1 and 3). Also READY's
read state and the ack route."""

from __future__ import annotations

import asyncio
import contextlib
import json

import websockets

from cryb_node.services import Perm
from tests.content.conftest import make_space, new_user, ok


async def connect(client, token: str):
    # Uncompressed, as most bots and the bench connect (the protocol tests cover permessage-deflate).
    ws = await websockets.connect(f"ws://127.0.0.1:{client.server.port}/gateway", compression=None)
    hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert hello["op"] == "HELLO"
    await ws.send(json.dumps({"op": "IDENTIFY", "d": {"token": token}}))
    ready = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert ready["op"] == "READY"
    return ws, ready["d"]


# Frames about the community itself (its channels and members), sent on governance changes.
VIEW_FRAMES = {
    "CHANNEL_CREATE", "CHANNEL_UPDATE", "CHANNEL_DELETE", "CHANNELS_UPDATE", "COMMUNITY_UPDATE",
    "COMMUNITY_MEMBER_ADD", "COMMUNITY_MEMBER_UPDATE", "COMMUNITY_MEMBER_REMOVE",
}  # fmt: skip


async def next_dispatch(ws, name: str | None = None, timeout: float = 5.0) -> dict:
    """The next content DISPATCH (skipping presence, typing and the community's view frames)."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        noise = {"PRESENCE_UPDATE", "TYPING_START", *VIEW_FRAMES} - {name}
        if frame["op"] == "DISPATCH" and frame["t"] not in noise:
            if name is not None:
                assert frame["t"] == name, frame
            return frame


async def say(space, channel, user, text):
    return await ok(space.client, "POST", f"/channels/{channel}/messages", user, json={"content": text})


async def test_chat_is_live_and_hidden_from_members_without_view_channel_until_a_role_change(cc):
    space = await make_space(cc)
    c, owner = cc, space.owner
    alice, bob, carol = space.member, await space.join(), await space.join()
    secret = await ok(c, "POST", f"/communities/{space.community}/channels", owner, json={"name": "secret"})
    sid = secret["id"]
    await ok(c, "PUT", f"/channels/{sid}/overwrites/role/{space.community}", owner,
             json={"deny": int(Perm.VIEW_CHANNEL)})  # fmt: skip
    role = await ok(c, "POST", f"/communities/{space.community}/roles", owner, json={"name": "insiders"})
    await ok(
        c,
        "PUT",
        f"/channels/{sid}/overwrites/role/{role['id']}",
        owner,
        json={"allow": int(Perm.VIEW_CHANNEL)},
    )
    for who in (alice, bob):
        await ok(c, "PUT", f"/communities/{space.community}/members/{who.id}/roles/{role['id']}", owner)

    sockets = {}
    for name, who in (("alice", alice), ("bob", bob), ("carol", carol)):
        sockets[name], _ = await connect(c, who.token)
    try:
        sent = await say(space, sid, alice, "hi bob")
        got = await next_dispatch(sockets["bob"], "MESSAGE_CREATE")
        assert got["d"]["id"] == sent["id"] and got["d"]["content"] == "hi bob"
        reply = await say(space, sid, bob, "hi alice")
        assert (await next_dispatch(sockets["alice"], "MESSAGE_CREATE"))["d"]["id"] == sent["id"]
        assert (await next_dispatch(sockets["alice"], "MESSAGE_CREATE"))["d"]["id"] == reply["id"]

        # Carol sees neither: the next thing she gets is a message in a channel she can view.
        marker = await say(space, space.text, owner, "general marker")
        got = await next_dispatch(sockets["carol"], "MESSAGE_CREATE")
        assert got["d"]["id"] == marker["id"]

        await ok(c, "PUT", f"/communities/{space.community}/members/{carol.id}/roles/{role['id']}", owner)
        after = await say(space, sid, alice, "welcome carol")
        got = await next_dispatch(sockets["carol"], "MESSAGE_CREATE")
        assert got["d"]["id"] == after["id"] and got["d"]["channel_id"] == sid
    finally:
        for ws in sockets.values():
            await ws.close()


async def _stops_receiving(cc, action: str) -> None:
    space = await make_space(cc)
    c, owner = cc, space.owner
    target = await space.join()
    ws, _ = await connect(c, target.token)
    try:
        first = await say(space, space.text, space.member, "before")
        assert (await next_dispatch(ws, "MESSAGE_CREATE"))["d"]["id"] == first["id"]
        if action == "kick":
            await ok(c, "POST", f"/communities/{space.community}/members/{target.id}/kick", owner, json={})
        else:
            await ok(c, "PUT", f"/communities/{space.community}/bans/{target.id}", owner, json={})
        await say(space, space.text, space.member, "after")  # must not reach the removed member
        dm = await ok(c, "POST", "/dms", space.member, json={"recipients": [target.id]})
        marker = await say(space, dm["id"], space.member, "dm marker")
        while True:
            got = await next_dispatch(ws)
            assert got["t"] != "MESSAGE_CREATE" or got["d"]["channel_id"] != space.text, got
            if got["t"] == "MESSAGE_CREATE" and got["d"]["id"] == marker["id"]:
                break
    finally:
        await ws.close()


async def test_kicked_member_socket_stops_receiving_at_once(cc):
    await _stops_receiving(cc, "kick")


async def test_banned_member_socket_stops_receiving_at_once(cc):
    await _stops_receiving(cc, "ban")


async def test_dm_dispatch_reaches_participants_only(cc):
    space = await make_space(cc)
    outsider = await space.join()
    a, b = space.member, space.owner
    sockets = {}
    for name, who in (("a", a), ("b", b), ("outsider", outsider)):
        sockets[name], _ = await connect(cc, who.token)
    try:
        dm = await ok(cc, "POST", "/dms", a, json={"recipients": [b.id]})
        assert (await next_dispatch(sockets["b"], "DM_CREATE"))["d"]["id"] == dm["id"]
        m = await say(space, dm["id"], a, "private")
        assert (await next_dispatch(sockets["b"], "MESSAGE_CREATE"))["d"]["id"] == m["id"]
        marker = await say(space, space.text, a, "public")
        assert (await next_dispatch(sockets["outsider"], "MESSAGE_CREATE"))["d"]["id"] == marker["id"]
    finally:
        for ws in sockets.values():
            await ws.close()


async def test_reactions_and_votes_are_dispatched_with_counts(space):
    ws, _ = await connect(space.client, space.owner.token)
    try:
        m = await say(space, space.text, space.member, "react")
        await next_dispatch(ws, "MESSAGE_CREATE")
        await ok(space.client, "PUT", f"/messages/{m['id']}/reactions/🔥", space.member)
        got = await next_dispatch(ws, "REACTION_ADD")
        assert got["d"]["emoji"] == "🔥" and got["d"]["count"] == 1 and got["d"]["target_id"] == m["id"]
        post = await ok(
            space.client, "POST", f"/channels/{space.forum}/posts", space.member, json={"title": "v"}
        )
        await next_dispatch(ws, "POST_CREATE")
        await ok(space.client, "PUT", f"/posts/{post['id']}/vote", space.member, json={"value": 1})
        got = await next_dispatch(ws, "VOTE_UPDATE")
        assert got["d"] == {**got["d"], "target_id": post["id"], "ups": 1, "downs": 0, "score": 1}
        assert "user_id" not in got["d"]
    finally:
        await ws.close()


async def test_ready_has_unread_and_mention_counts_and_ack_clears_them(space):
    c = space.client
    first = await say(space, space.text, space.member, "one")
    await say(space, space.text, space.member, f"two <@{space.owner.id}>")
    await say(space, space.text, space.member, "three @everyone")  # no MENTION_EVERYONE: not a mention
    ws, ready = await connect(c, space.owner.token)
    with contextlib.suppress(Exception):
        await ws.close()
    state = {s["channel_id"]: s for s in ready["read_states"]}[space.text]
    assert state == {"channel_id": space.text, "last_read_id": None, "unread": 3, "mentions": 1}
    await ok(c, "POST", f"/channels/{space.text}/messages/{first['id']}/ack", space.owner)
    ws, ready = await connect(c, space.owner.token)
    await ws.close()
    state = {s["channel_id"]: s for s in ready["read_states"]}[space.text]
    assert state == {"channel_id": space.text, "last_read_id": first["id"], "unread": 2, "mentions": 1}


async def test_ready_lists_the_users_communities_and_only_the_channels_they_may_view(cc):
    """docs/gateway.md: READY carries the user's communities and visible channels, so a client
    starts from it instead of asking per community."""
    space = await make_space(cc)
    c, owner = cc, space.owner
    alice = space.member
    secret = await ok(c, "POST", f"/communities/{space.community}/channels", owner, json={"name": "secret"})
    await ok(c, "PUT", f"/channels/{secret['id']}/overwrites/role/{space.community}", owner,
             json={"deny": int(Perm.VIEW_CHANNEL)})  # fmt: skip
    other = await ok(c, "POST", "/communities", owner, json={"name": "Elsewhere"})

    ws, ready = await connect(c, alice.token)
    await ws.close()
    assert [x["id"] for x in ready["communities"]] == [space.community]
    seen = {ch["id"] for ch in ready["channels"]}
    listed = await ok(c, "GET", f"/communities/{space.community}/channels", alice)
    assert seen == {ch["id"] for ch in listed["channels"]}  # the same list the HTTP API gives
    assert space.text in seen and secret["id"] not in seen
    assert all(ch["community_id"] == space.community for ch in ready["channels"])

    ws, ready = await connect(c, owner.token)
    await ws.close()
    assert {x["id"] for x in ready["communities"]} == {space.community, other["id"]}
    assert secret["id"] in {ch["id"] for ch in ready["channels"]}


async def frames(ws, names: set[str], timeout: float = 5.0) -> dict[str, dict]:
    """Dispatches until one of each name in ``names`` has arrived (others skipped): name -> data."""
    got: dict[str, dict] = {}
    while set(got) != names:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if frame["op"] == "DISPATCH" and frame["t"] in names:
            got.setdefault(frame["t"], frame["d"])
    return got


async def nothing_named(ws, names: set[str], wait: float = 0.5) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), wait))
            assert frame.get("t") not in names, frame


async def test_open_sockets_follow_channel_community_and_member_changes_per_member(cc):
    """A member's socket gets CHANNEL_CREATE/UPDATE with their own permissions, CHANNEL_DELETE for a
    channel hidden from them now (its id only), COMMUNITY_UPDATE, and their own timeout and roles
    (issue 21, item 5: the node sent none of these)."""
    space = await make_space(cc)
    c, owner, alice = cc, space.owner, space.member
    bob = await space.join()
    ws_a, _ = await connect(c, alice.token)
    ws_b, _ = await connect(c, bob.token)
    try:
        made = await ok(c, "POST", f"/communities/{space.community}/channels", owner, json={"name": "ops"})
        got = (await frames(ws_a, {"CHANNEL_CREATE"}))["CHANNEL_CREATE"]
        assert got["id"] == made["id"] and got["name"] == "ops" and got["perms"] & int(Perm.VIEW_CHANNEL)
        assert got["perms"] & int(Perm.MANAGE_CHANNELS) == 0  # alice's permissions, not the owner's

        # Hidden from everyone but bob: alice is told it is gone (nothing else), bob gets the update.
        await ok(c, "PUT", f"/channels/{made['id']}/overwrites/role/{space.community}", owner,
                 json={"deny": int(Perm.VIEW_CHANNEL)})  # fmt: skip
        gone = (await frames(ws_a, {"CHANNEL_DELETE"}))["CHANNEL_DELETE"]
        assert gone == {"id": made["id"], "community_id": space.community}
        await ok(c, "PUT", f"/channels/{made['id']}/overwrites/member/{bob.id}", owner,
                 json={"allow": int(Perm.VIEW_CHANNEL)})  # fmt: skip
        seen = (await frames(ws_b, {"CHANNEL_UPDATE"}))["CHANNEL_UPDATE"]
        assert seen["id"] == made["id"]
        await ok(c, "PATCH", f"/channels/{made['id']}", owner, json={"topic": "secret plans"})
        # (the overwrites' own updates may come first: the hub judges each against the state it
        # finds when it fans out, which by then may hold the next change too)
        while (update := (await frames(ws_b, {"CHANNEL_UPDATE"}))["CHANNEL_UPDATE"])[
            "topic"
        ] != "secret plans":
            assert update["id"] == made["id"] and update["topic"] == ""
        await nothing_named(ws_a, {"CHANNEL_UPDATE", "CHANNEL_CREATE"})  # the topic never reaches alice

        await ok(c, "PATCH", f"/communities/{space.community}", owner, json={"name": "renamed"})
        assert (await frames(ws_a, {"COMMUNITY_UPDATE"}))["COMMUNITY_UPDATE"]["name"] == "renamed"

        # Alice is timed out: her own socket gets her channels (send permission gone) and the member
        # record with the end of the timeout; bob sees the member update.
        await ok(c, "PUT", f"/communities/{space.community}/members/{alice.id}/timeout", owner,
                 json={"duration_s": 600})  # fmt: skip
        mine = await frames(ws_a, {"CHANNELS_UPDATE", "COMMUNITY_MEMBER_UPDATE"})
        general = next(ch for ch in mine["CHANNELS_UPDATE"]["channels"] if ch["id"] == space.text)
        assert general["perms"] & int(Perm.SEND_MESSAGES) == 0
        assert mine["COMMUNITY_MEMBER_UPDATE"]["user_id"] == alice.id
        assert mine["COMMUNITY_MEMBER_UPDATE"]["timeout_until"] > 0
        theirs = (await frames(ws_b, {"COMMUNITY_MEMBER_UPDATE"}))["COMMUNITY_MEMBER_UPDATE"]
        assert theirs["user_id"] == alice.id
        await nothing_named(ws_b, {"CHANNELS_UPDATE"})  # bob's channels did not change
    finally:
        await ws_a.close()
        await ws_b.close()


async def test_a_member_who_joins_later_sees_who_is_online_already(cc):
    """Issue 21, item 1: READY told the newcomer only of communities it was in; after joining (and
    saying so with PRESENCE_UPDATE, as the web UI does) it is told who is online there."""
    space = await make_space(cc)
    alice = space.member
    carol = await new_user(cc)
    ws_a, _ = await connect(cc, alice.token)
    ws_c, ready = await connect(cc, carol.token)
    try:
        assert all(p["user_id"] != alice.id for p in ready["presences"])
        await space.join(carol)
        await ws_c.send(json.dumps({"op": "PRESENCE_UPDATE", "d": {"status": "online"}}))
        while True:
            frame = json.loads(await asyncio.wait_for(ws_c.recv(), 5))
            if frame.get("t") == "PRESENCE_UPDATE" and frame["d"]["community_id"] == space.community:
                break
        assert {"user_id": alice.id, "status": "online"} in frame["d"]["presences"]
    finally:
        await ws_a.close()
        await ws_c.close()
