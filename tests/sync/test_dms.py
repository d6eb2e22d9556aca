"""DMs to remote users are delivered through their home node: a DM's events replicate only to the
home nodes of its participants, in both directions; a node hosting no participant never sees them
(not even by reconciliation or through a relay)."""

from __future__ import annotations

from tests.support.waiting import eventually
from tests.sync.conftest import mesh


async def test_dm_reaches_the_remote_participants_home_only(federation) -> None:
    a, b, c = await federation(3)
    alice, bob, carol = await a.user(), await b.user(), await c.user()
    await mesh([a, b, c], rounds=1)  # profiles everywhere
    dm = await a.ok("POST", "/dms", alice, json={"recipients": [bob.id]})
    await a.ok("POST", f"/channels/{dm['id']}/messages", alice, json={"content": "psst, bob"})
    await mesh([a, b, c], rounds=1)
    # bob reads it on his own node, and answers there
    listed = await b.ok("GET", "/dms", bob)
    assert [d["id"] for d in listed["channels"]] == [dm["id"]]
    got = await b.ok("GET", f"/channels/{dm['id']}/messages", bob)
    assert [m["content"] for m in got["messages"]] == ["psst, bob"]

    # ... and his node's inbox tells him (notifications for remote senders come from his home)
    async def notified() -> list:
        return (await b.ok("GET", "/notifications", bob))["notifications"]

    inbox = await eventually(notified, 5)
    assert [(n["kind"], n["actor_id"], n["channel_id"]) for n in inbox] == [("dm", alice.id, dm["id"])]
    await b.ok("POST", f"/channels/{dm['id']}/messages", bob, json={"content": "hi alice"})
    await mesh([a, b, c], rounds=1)
    got = await a.ok("GET", f"/channels/{dm['id']}/messages", alice)
    assert {m["content"] for m in got["messages"]} == {"psst, bob", "hi alice"}
    # a group DM with carol reaches c as well
    group = await a.ok("POST", "/dms", alice, json={"recipients": [bob.id, carol.id], "name": "trio"})
    await a.ok("POST", f"/channels/{group['id']}/messages", alice, json={"content": "all of us"})
    for x in (a, b, c):
        for y in (a, b, c):
            if x is not y:
                await x.session(y, reconcile=True)
    got = await c.ok("GET", f"/channels/{group['id']}/messages", carol)
    assert [m["content"] for m in got["messages"]] == ["all of us"]
    # c hosts neither alice nor bob: nothing of their 1:1 DM, whatever path it might take
    assert await c.count("SELECT count(*) FROM content_dm_channels WHERE id = ?", dm["id"]) == 0
    assert await c.count("SELECT count(*) FROM content_messages WHERE channel_id = ?", dm["id"]) == 0
    n = await a.count("SELECT count(*) FROM events WHERE community IS NULL AND kind LIKE 'message.%'")
    assert n == 3
    assert await c.count("SELECT count(*) FROM events WHERE community IS NULL AND kind LIKE 'message.%'") == 1
    status, _ = await c.call("GET", f"/channels/{dm['id']}/messages", carol)
    assert status in (403, 404)
