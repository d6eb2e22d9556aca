"""Issue 8, acceptance 1: a mention makes one notification for the mentioned member only, live on the
gateway and in the inbox; a muted channel makes none. Also replies, DMs, comments, role and
@everyone mentions, announcements, moderation, blocks, the inbox API, and exactly-once across a replay."""

from __future__ import annotations

import asyncio
import json

import msgspec
import websockets

from cryb_node.appkeys import NODE
from tests.content.conftest import call, make_space, new_user, ok
from tests.notifications.conftest import parts, settle
from tests.support.waiting import eventually


async def connect(client, token: str):
    ws = await websockets.connect(f"ws://127.0.0.1:{client.server.port}/gateway")
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["op"] == "HELLO"
    await ws.send(json.dumps({"op": "IDENTIFY", "d": {"token": token}}))
    ready = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert ready["op"] == "READY"
    return ws, ready["d"]


async def next_notification(ws, timeout: float = 5.0) -> dict:
    """The next NOTIFICATION_CREATE frame (message, presence and other dispatches skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if frame["op"] == "DISPATCH" and frame["t"] == "NOTIFICATION_CREATE":
                return frame


async def say(space, user, text, channel=None, **extra):
    ch = channel or space.text
    return await ok(space.client, "POST", f"/channels/{ch}/messages", user, json={"content": text, **extra})


async def inbox(client, user, **q):
    return (await ok(client, "GET", "/notifications", user, params=q))["notifications"]


async def test_a_mention_notifies_only_the_mentioned_member_live_and_in_the_inbox(nc):
    space = await make_space(nc)
    alice, bob = space.member, await space.join()
    ws_a, ready = await connect(nc, alice.token)
    ws_b, _ = await connect(nc, bob.token)
    assert ready["notifications_unread"] == 0
    try:
        msg = await say(space, space.owner, f"hello <@{alice.id}>")
        frame = await next_notification(ws_a)
        assert frame["d"]["kind"] == "mention" and frame["d"]["target_id"] == msg["id"]
        assert frame["d"]["actor_id"] == space.owner.id and "hello" in frame["d"]["preview"]
        await settle(nc)
        try:
            raise AssertionError(f"bob was notified: {await next_notification(ws_b, 0.5)}")
        except TimeoutError:
            pass
    finally:
        await ws_a.close()
        await ws_b.close()
    items = await inbox(nc, alice)
    assert [(n["kind"], n["target_id"], n["read"]) for n in items] == [("mention", msg["id"], False)]
    assert await inbox(nc, bob) == [] and await inbox(nc, space.owner) == []
    assert (await ok(nc, "GET", "/notifications/unread", alice))["unread"] == 1


async def test_a_muted_channel_gives_no_notification(nc):
    space = await make_space(nc)
    alice = space.member
    await ok(nc, "PUT", f"/notifications/preferences/channels/{space.text}", alice,
             json={"muted_until": 2**41})  # fmt: skip
    await say(space, space.owner, f"hey <@{alice.id}>")
    other = await ok(nc, "POST", f"/communities/{space.community}/channels", space.owner, json={"name": "b"})
    await say(space, space.owner, f"here <@{alice.id}>", channel=other["id"])
    await settle(nc)
    assert [n["channel_id"] for n in await inbox(nc, alice)] == [other["id"]]
    # A level of "nothing" on the community silences every channel in it.
    await ok(nc, "PUT", f"/notifications/preferences/communities/{space.community}", alice,
             json={"level": "nothing"})  # fmt: skip
    await say(space, space.owner, f"again <@{alice.id}>", channel=other["id"])
    await settle(nc)
    assert len(await inbox(nc, alice)) == 1


async def test_replies_dms_comments_roles_everyone_and_announcements(nc):
    space = await make_space(nc)
    c, owner, alice = nc, space.owner, space.member
    bob = await space.join()
    first = await say(space, alice, "a question")
    await say(space, bob, "an answer", reply_to=first["id"])
    role = await ok(c, "POST", f"/communities/{space.community}/roles", owner,
                    json={"name": "crew", "mentionable": True})  # fmt: skip
    await ok(c, "PUT", f"/communities/{space.community}/members/{bob.id}/roles/{role['id']}", owner)
    await say(space, owner, f"crew: <@&{role['id']}>")
    await say(space, owner, "@everyone meeting")
    post = await ok(c, "POST", f"/channels/{space.forum}/posts", alice, json={"title": "my post"})
    await ok(c, "POST", f"/posts/{post['id']}/comments", bob, json={"body": "nice"})
    dm = await ok(c, "POST", "/dms", alice, json={"recipients": [bob.id]})
    await say(space, alice, "psst", channel=dm["id"])
    news = await ok(c, "POST", f"/communities/{space.community}/channels", owner,
                    json={"name": "news", "kind": "announcement"})  # fmt: skip
    await say(space, owner, "v2 is out", channel=news["id"])
    await settle(c)
    got_a = [(n["kind"], n["preview"]) for n in reversed(await inbox(c, alice))]
    got_b = [(n["kind"], n["preview"]) for n in reversed(await inbox(c, bob))]
    assert got_a == [("reply", "an answer"), ("mention", "@everyone meeting"), ("comment", "nice"),
                     ("announcement", "v2 is out")]  # fmt: skip
    assert got_b == [("mention", f"crew: <@&{role['id']}>"), ("mention", "@everyone meeting"), ("dm", "psst"),
                     ("announcement", "v2 is out")]  # fmt: skip
    # "mentions" level drops announcements, keeps mentions.
    await ok(c, "PATCH", "/notifications/preferences", alice, json={"level": "mentions"})
    await say(space, owner, "v3", channel=news["id"])
    await say(space, owner, f"<@{alice.id}> v3 notes")
    await settle(c)
    assert (await inbox(c, alice))[0]["preview"] == f"<@{alice.id}> v3 notes"
    assert "v3" not in [n["preview"] for n in await inbox(c, alice)]


async def test_blocks_always_suppress_and_members_without_view_channel_are_not_told(nc):
    space = await make_space(nc)
    c, owner, alice = nc, space.owner, space.member
    bob = await space.join()
    await ok(c, "PUT", f"/users/@me/blocks/{bob.id}", alice)
    await say(space, bob, f"<@{alice.id}> hi")
    outsider = await new_user(c)
    await say(space, owner, f"<@{outsider.id}> you are not a member")
    await settle(c)
    assert await inbox(c, alice) == [] and await inbox(c, outsider) == []


async def test_friend_requests_reports_and_moderation(nc):
    space = await make_space(nc)
    c, owner, alice = nc, space.owner, space.member
    bob = await new_user(c)
    await ok(c, "PUT", f"/users/@me/friends/{alice.id}", bob)
    await ok(c, "PUT", f"/users/@me/friends/{bob.id}", alice)
    msg = await say(space, alice, "something rude")
    report = await ok(c, "POST", f"/communities/{space.community}/reports", alice,
                      json={"target_type": "message", "target_id": msg["id"], "reason": "spam"})  # fmt: skip
    await ok(c, "PATCH", f"/communities/{space.community}/reports/{report['id']}", owner,
             json={"status": "resolved", "action_taken": "removed"})  # fmt: skip
    await ok(
        c, "POST", f"/messages/{msg['id']}/moderation", owner, json={"action": "remove", "reason": "rude"}
    )
    await ok(c, "PUT", f"/communities/{space.community}/members/{alice.id}/timeout", owner,
             json={"duration_s": 60, "reason": "cool off"})  # fmt: skip

    async def four_notices() -> bool:
        await settle(c)
        return len(await inbox(c, alice)) >= 4

    await eventually(four_notices, 5)
    kinds_a = sorted(n["kind"] for n in await inbox(c, alice))
    assert kinds_a == ["friend_request", "moderation", "moderation", "report_resolved"], kinds_a
    kinds_b = [n["kind"] for n in await inbox(c, bob)]
    assert kinds_b == ["friend_accept"]


async def test_inbox_cursor_mark_read_and_delete(nc):
    space = await make_space(nc)
    c, owner, alice = nc, space.owner, space.member
    other = await make_space(c)
    await other.join(alice)
    for i in range(5):
        await say(space, owner, f"<@{alice.id}> n{i}")
    await say(other, other.owner, f"<@{alice.id}> elsewhere")
    await settle(c)
    page1 = await ok(c, "GET", "/notifications", alice, params={"limit": 4})
    page2 = await ok(c, "GET", "/notifications", alice, params={"limit": 4, "before": page1["next"]})
    previews = [n["preview"] for n in page1["notifications"] + page2["notifications"]]
    assert previews == [f"<@{alice.id}> elsewhere"] + [f"<@{alice.id}> n{i}" for i in (4, 3, 2, 1, 0)]
    assert page2["next"] is None
    newest = page1["notifications"][1]["id"]
    assert (await ok(c, "POST", f"/notifications/{newest}/read", alice))["marked"] == 1
    assert (await ok(c, "GET", "/notifications/unread", alice))["unread"] == 5
    marked = await ok(c, "POST", "/notifications/read", alice, json={"community_id": other.community})
    assert marked["marked"] == 1
    assert (await ok(c, "GET", "/notifications/unread", alice))["unread"] == 4
    assert (await ok(c, "POST", "/notifications/read", alice, json={}))["marked"] == 4
    assert (await ok(c, "GET", "/notifications/unread", alice))["unread"] == 0
    await ok(c, "DELETE", f"/notifications/{newest}", alice)
    assert newest not in [n["id"] for n in await inbox(c, alice)]
    # Someone else's notification is not found, for read and delete alike.
    intruder = await new_user(c)
    first = page1["notifications"][0]["id"]
    assert (await call(c, "POST", f"/notifications/{first}/read", intruder))[0] == 404
    assert (await call(c, "DELETE", f"/notifications/{first}", intruder))[0] == 404
    assert (await call(c, "DELETE", f"/notifications/{newest}", alice))[0] == 404


async def test_replaying_events_after_a_crash_tells_nobody_twice(nc):
    """The consumer is at-least-once; the inbox's (user, source) key makes it exactly-once."""
    space = await make_space(nc)
    alice = space.member
    await say(space, space.owner, f"<@{alice.id}> once")
    await settle(nc)
    node = nc.app[NODE]
    consumer = node.bus.consumers["notifications"]
    events = await node.db.fetchall("SELECT count(*) FROM events")
    assert events[0][0] > 0
    # Rewind the stored offset as if the node died before committing it, and let it run again.
    await consumer.stop()
    await node.db.write(
        lambda conn: conn.execute("UPDATE consumer_offsets SET pos = 0 WHERE name = 'notifications'")
    )
    await consumer.start()
    await settle(nc)
    assert len(await inbox(nc, alice)) == 1


async def test_deleted_content_leaves_no_copy_and_an_erased_user_leaves_nothing(nc):
    from tests.users_fixtures import PASSWORD

    space = await make_space(nc)
    alice, owner = space.member, space.owner
    msg = await say(space, owner, f"<@{alice.id}> secret plans")
    await say(space, alice, f"<@{owner.id}> thanks")
    await settle(nc)
    await ok(nc, "DELETE", f"/channels/{space.text}/messages/{msg['id']}", owner)
    await settle(nc)
    (n,) = await inbox(nc, alice)
    assert n["target_id"] == msg["id"] and n["preview"] == ""
    await ok(nc, "DELETE", "/users/@me", alice, json={"password": PASSWORD})
    await settle(nc)
    db = nc.app[NODE].db
    for table in ("notif_inbox", "notif_prefs", "notif_push_subs", "notif_outbox"):
        assert await db.fetchval(f"SELECT count(*) FROM {table} WHERE user_id = ?", (alice.id,)) == 0
    (theirs,) = await inbox(nc, owner)
    assert theirs["actor_id"] == alice.id and theirs["preview"] == ""


async def test_a_refused_friend_request_leaves_no_notice_behind(nc):
    """Notices commit with the caller's transaction: a request refused inside it (a block) tells nobody."""
    alice, bob = await new_user(nc), await new_user(nc)
    await ok(nc, "PUT", f"/users/@me/blocks/{alice.id}", bob)
    status, body = await call(nc, "PUT", f"/users/@me/friends/{bob.id}", alice)
    assert status == 403, body
    await asyncio.sleep(0.3)
    assert await nc.app[NODE].db.fetchval("SELECT count(*) FROM notif_pending") == 0
    assert await inbox(nc, bob) == []


async def test_with_the_plugin_disabled_friends_and_reports_still_work(aiohttp_client, tmp_path):
    from cryb_node.app import build_app
    from tests.notifications.conftest import notif_config

    cfg = notif_config(tmp_path / "data")
    cfg = msgspec.structs.replace(
        cfg,
        plugins=msgspec.structs.replace(cfg.plugins, disabled=["notifications"]),
        plugin={k: v for k, v in cfg.plugin.items() if k != "notifications"},
    )
    c = await aiohttp_client(build_app(cfg))
    space = await make_space(c)
    alice, bob = space.member, await new_user(c)
    assert (await ok(c, "PUT", f"/users/@me/friends/{alice.id}", bob))["type"] == "outgoing"
    msg = await say(space, alice, "spam")
    report = await ok(c, "POST", f"/communities/{space.community}/reports", alice,
                      json={"target_type": "message", "target_id": msg["id"], "reason": "spam"})  # fmt: skip
    await ok(c, "PATCH", f"/communities/{space.community}/reports/{report['id']}", space.owner,
             json={"status": "resolved"})  # fmt: skip
    assert (await call(c, "GET", "/notifications", alice))[0] == 404


async def test_old_read_notifications_are_forgotten_unread_ones_stay(nc):
    from cryb_plugins.notifications.queries_outbox import prune

    space = await make_space(nc)
    alice = space.member
    for text in ("old read", "old unread"):
        await say(space, space.owner, f"<@{alice.id}> {text}")
    await settle(nc)
    read = next(n for n in await inbox(nc, alice) if n["preview"].endswith("old read"))
    await ok(nc, "POST", f"/notifications/{read['id']}/read", alice)
    db, now = nc.app[NODE].db, parts(nc).svc.clock()
    assert await db.write(lambda conn: prune(conn, now, 90)) == 0  # nothing is old yet
    later = now + 91 * 86_400_000
    assert await db.write(lambda conn: prune(conn, later, 90)) == 1
    assert [n["preview"] for n in await inbox(nc, alice)] == [f"<@{alice.id}> old unread"]
