"""Pages encoded straight from rows (plugins/content/wire.py) say exactly what the typed single-item
routes say (schemas.MessageOut / PostOut): the same keys in the same order and the same values,
for every reader (author, other member, moderator, anonymous) and every kind of row."""

from __future__ import annotations

import msgspec
from cryb_plugins.content import schemas as s
from cryb_plugins.content import wire

from tests.content.conftest import Space, call, ok


def test_wire_structs_have_the_documented_fields_in_order():
    assert wire.MessageWire.__struct_fields__ == s.MessageOut.__struct_fields__
    assert wire.PostWire.__struct_fields__ == s.PostOut.__struct_fields__
    assert wire.MessagePage.__struct_fields__ == s.MessageList.__struct_fields__
    assert wire.PostPage.__struct_fields__ == s.PostList.__struct_fields__


async def _raw(space: Space, path: str, user) -> bytes:
    resp = await space.client.get("/api/v1" + path, headers=user.h if user else {})
    assert resp.status == 200, await resp.text()
    return await resp.read()


async def test_a_message_page_says_what_each_message_says(space: Space):
    ch, owner, member = space.text, space.owner, space.member
    other = await space.join()
    path = f"/channels/{ch}/messages"
    plain = await ok(space.client, "POST", path, member, json={"content": "plain"})
    mention = await ok(space.client, "POST", path, owner, json={"content": f"hi <@{member.id}> @everyone"})
    await ok(space.client, "POST", path, member, json={"content": "reply", "reply_to": plain["id"]})
    await ok(space.client, "POST", path, other, json={"content": "in thread", "thread_id": plain["id"]})
    await ok(space.client, "PATCH", f"{path}/{mention['id']}", owner, json={"content": "edited <@x>"})
    for user, emoji in ((member, "👍"), (other, "👍"), (other, "🎉")):
        await ok(space.client, "PUT", f"/messages/{plain['id']}/reactions/{emoji}", user)
    removed = await ok(space.client, "POST", path, other, json={"content": "removed"})
    await ok(space.client, "POST", f"/messages/{removed['id']}/moderation", owner, json={"action": "remove"})
    gone = await ok(space.client, "POST", path, member, json={"content": "deleted"})
    await ok(space.client, "DELETE", f"{path}/{gone['id']}", member)
    await ok(space.client, "POST", f"/messages/{plain['id']}/moderation", owner, json={"action": "pin"})

    for reader in (owner, member, other, None):
        page = msgspec.json.decode(await _raw(space, path, reader))["messages"]
        thread = msgspec.json.decode(await _raw(space, f"{path}?thread={plain['id']}", reader))["messages"]
        ids = [m["id"] for m in page]
        assert gone["id"] not in ids
        assert (removed["id"] in ids) == (reader is owner)  # moderators see removed messages
        assert len(thread) == 1
        for item in page + thread:
            one = msgspec.json.decode(await _raw(space, f"{path}/{item['id']}", reader))
            assert list(item) == list(one)
            assert item == one
        mine = next(m for m in page if m["id"] == plain["id"])
        assert mine["thread_count"] == 1 and mine["pinned"] is True
        assert [(r["emoji"], r["count"], r["me"]) for r in mine["reactions"]] == [
            ("👍", 2, reader in (member, other)),
            ("🎉", 1, reader is other),
        ]


async def test_a_feed_page_says_what_each_post_says(space: Space):
    owner, member = space.owner, space.member
    posts = f"/channels/{space.forum}/posts"
    first = await ok(
        space.client, "POST", posts, member, json={"title": "first", "body": "**b**", "tags": ["x"]}
    )
    second = await ok(
        space.client, "POST", posts, owner, json={"title": "second", "url": "https://a.example/"}
    )
    await ok(space.client, "PUT", f"/posts/{second['id']}/vote", member, json={"value": -1})
    await ok(space.client, "PUT", f"/posts/{first['id']}/reactions/🔥", owner)
    removed = await ok(space.client, "POST", posts, member, json={"title": "removed"})
    await ok(space.client, "POST", f"/posts/{removed['id']}/moderation", owner, json={"action": "remove"})

    for reader in (owner, member, None):
        for feed in (f"{posts}?sort=hot", f"{posts}?sort=new", f"/communities/{space.community}/posts"):
            page = msgspec.json.decode(await _raw(space, feed, reader))
            assert list(page) == ["posts", "next"]
            assert removed["id"] not in [p["id"] for p in page["posts"]]
            for item in page["posts"]:
                one = msgspec.json.decode(await _raw(space, f"/posts/{item['id']}", reader))
                assert list(item) == list(one)
                assert item["views"] == one["views"] - 1  # the single read counted a view
                assert {**item, "views": 0} == {**one, "views": 0}
    home = msgspec.json.decode(await _raw(space, "/feed/home?sort=new", member))["posts"]
    by_id = {p["id"]: p for p in home}
    assert by_id[second["id"]]["my_vote"] == -1 and by_id[first["id"]]["my_vote"] == 1
    assert by_id[first["id"]]["reactions"] == [{"emoji": "🔥", "count": 1, "me": False}]
    status, _ = await call(space.client, "GET", "/feed/home", None)
    assert status == 401
