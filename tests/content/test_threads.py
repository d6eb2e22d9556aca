"""The channel's thread list (GET /channels/{id}/threads): roots with replies, the most recently
active first, counts that follow replies and deletes, removed roots only for moderators."""

from __future__ import annotations

from tests.content.conftest import call, ok


async def send(space, text, user=None, **extra):
    return await ok(space.client, "POST", f"/channels/{space.text}/messages", user or space.member,
                    json={"content": text, **extra})  # fmt: skip


async def threads(space, user=None, **q):
    q = {k: str(v) for k, v in q.items()}
    got = await ok(space.client, "GET", f"/channels/{space.text}/threads", user or space.member, params=q)
    return got["threads"]


async def test_thread_list_holds_roots_with_replies_most_recently_active_first(space):
    first = await send(space, "first root")
    second = await send(space, "second root")
    await send(space, "no thread here")
    await send(space, "on first", thread_id=first["id"])
    await send(space, "on second", thread_id=second["id"])
    reply = await send(space, "on first again", user=space.owner, thread_id=first["id"])
    got = await threads(space)
    assert [t["root"]["id"] for t in got] == [first["id"], second["id"]]
    assert [t["reply_count"] for t in got] == [2, 1]
    assert got[0]["root"]["content"] == "first root" and got[0]["root"]["thread_count"] == 2
    assert got[0]["last_reply_at"] >= reply["created_at"]
    assert [t["root"]["id"] for t in await threads(space, limit=1)] == [first["id"]]


async def test_a_thread_whose_replies_are_all_deleted_leaves_the_list(space):
    root = await send(space, "root")
    reply = await send(space, "only reply", thread_id=root["id"])
    assert [t["root"]["id"] for t in await threads(space)] == [root["id"]]
    await ok(space.client, "DELETE", f"/channels/{space.text}/messages/{reply['id']}", space.member)
    assert await threads(space) == []


async def test_a_removed_root_is_listed_for_moderators_only(space):
    member = await space.join()
    root = await send(space, "root", user=member)
    await send(space, "reply", thread_id=root["id"])
    await ok(space.client, "POST", f"/messages/{root['id']}/moderation", space.owner,
             json={"action": "remove"})  # fmt: skip
    assert await threads(space) == []
    assert [t["root"]["id"] for t in await threads(space, user=space.owner)] == [root["id"]]


async def test_thread_list_refuses_bad_limits_and_unknown_channels(space):
    for bad in ("0", "101", "x"):
        status, body = await call(space.client, "GET", f"/channels/{space.text}/threads", space.member,
                                  params={"limit": bad})  # fmt: skip
        assert status == 400 and body["field"] == "limit", body
    status, _ = await call(space.client, "GET", "/channels/01hzzzzzzzzzzzzzzzzzzzzzzz/threads", space.member)
    assert status == 404
