"""Chat messages over HTTP: cursor pagination (exactly once, in order, under concurrent inserts),
replies, threads, edits with history, deletes, pins, mentions, slow mode."""

from __future__ import annotations

import asyncio

from tests.content.conftest import call, make_space, ok


async def send(space, text, user=None, **extra):
    return await ok(space.client, "POST", f"/channels/{space.text}/messages", user or space.member,
                    json={"content": text, **extra})  # fmt: skip


async def page(space, user=None, **q):
    q = {k: str(v) for k, v in q.items()}
    return (await ok(space.client, "GET", f"/channels/{space.text}/messages", user or space.owner, params=q))[
        "messages"
    ]


async def test_pagination_returns_every_message_once_in_order_under_concurrent_inserts(space):
    before = [(await send(space, f"m{i}"))["id"] for i in range(60)]
    stop = asyncio.Event()
    during: list[str] = []

    async def writer(n: int) -> None:
        i = 0
        while not stop.is_set():
            during.append((await send(space, f"w{n}-{i}"))["id"])
            i += 1

    writers = [asyncio.create_task(writer(n)) for n in range(4)]
    try:
        # Walk forward from the first message with small pages while four writers insert.
        seen = [before[0]]
        cursor = before[0]
        for _ in range(500):
            got = await page(space, after=cursor, limit=7)
            if not got:
                break
            seen += [m["id"] for m in got]
            cursor = got[-1]["id"]
            if len(during) > 80:
                stop.set()
        stop.set()
        await asyncio.gather(*writers)
        while True:  # drain what the writers added after the walk's last page
            got = await page(space, after=cursor, limit=100)
            if not got:
                break
            seen += [m["id"] for m in got]
            cursor = got[-1]["id"]
    finally:
        stop.set()
        await asyncio.gather(*writers, return_exceptions=True)
    everything = before + during
    assert len(seen) == len(set(seen)), "a message came twice"
    assert set(seen) == set(everything), "a message was lost"
    # ...and backwards from the newest, the same messages in reverse.
    back: list[str] = []
    got = await page(space, limit=9)
    while got:
        back = [m["id"] for m in got] + back
        got = await page(space, before=got[0]["id"], limit=9)
    assert back == seen
    created = [m["created_at"] for m in await page(space, limit=100)]
    assert created == sorted(created)


async def test_around_returns_the_message_with_neighbours(space):
    ids = [(await send(space, f"m{i}"))["id"] for i in range(11)]
    got = [m["id"] for m in await page(space, around=ids[5], limit=5)]
    assert got == ids[3:8]


async def test_reply_and_thread(space):
    root = await send(space, "root")
    reply = await send(space, "a reply", reply_to=root["id"])
    assert reply["reply_to"] == root["id"]
    t1 = await send(space, "in thread", thread_id=root["id"])
    channel = [m["id"] for m in await page(space)]
    assert t1["id"] not in channel and reply["id"] in channel
    thread = await page(space, thread=root["id"])
    assert [m["id"] for m in thread] == [t1["id"]]
    root_now = await ok(space.client, "GET", f"/channels/{space.text}/messages/{root['id']}", space.owner)
    assert root_now["thread_count"] == 1


async def test_edit_keeps_history_for_moderators_only(space):
    m = await send(space, "first")
    c = space.client
    path = f"/channels/{space.text}/messages/{m['id']}"
    edited = await ok(c, "PATCH", path, space.member, json={"content": "second"})
    assert edited["content"] == "second" and edited["edited_at"] is not None
    await ok(c, "PATCH", path, space.member, json={"content": "third"})
    status, _ = await call(c, "PATCH", path, space.owner, json={"content": "not yours"})
    assert status == 403
    status, _ = await call(c, "GET", f"{path}/history", space.member)
    assert status == 403
    hist = await ok(c, "GET", f"{path}/history", space.owner)
    assert [v["content"] for v in hist["versions"]] == ["first", "second", "third"]


async def test_author_delete_is_a_tombstone_and_final(space):
    m = await send(space, "bye")
    c = space.client
    path = f"/channels/{space.text}/messages/{m['id']}"
    status, _ = await call(c, "DELETE", path, space.member)
    assert status == 204
    assert m["id"] not in [x["id"] for x in await page(space)]
    assert (await call(c, "GET", path, space.owner))[0] == 404
    assert (await call(c, "PATCH", path, space.member, json={"content": "back"}))[0] == 404
    assert (await call(c, "POST", f"/channels/{space.text}/messages", space.member,
                       json={"content": "x", "reply_to": m["id"]}))[0] == 400  # fmt: skip


async def test_moderator_removal_is_reversible_and_hidden_from_members(space):
    m = await send(space, "spam")
    c = space.client
    assert (await call(c, "DELETE", f"/channels/{space.text}/messages/{m['id']}?reason=spam", space.owner))[
        0
    ] == 204
    assert m["id"] not in [x["id"] for x in await page(space, user=space.member)]
    mod_view = {x["id"]: x for x in await page(space, user=space.owner)}
    assert mod_view[m["id"]]["removed"] is True
    await ok(c, "POST", f"/messages/{m['id']}/moderation", space.owner, json={"action": "approve"})
    assert m["id"] in [x["id"] for x in await page(space, user=space.member)]


async def test_pins(space):
    m = await send(space, "pin me")
    c = space.client
    assert (await call(c, "PUT", f"/channels/{space.text}/pins/{m['id']}", space.member))[0] == 403
    assert (await call(c, "PUT", f"/channels/{space.text}/pins/{m['id']}", space.owner))[0] == 204
    pins = await ok(c, "GET", f"/channels/{space.text}/pins", space.member)
    assert [p["id"] for p in pins["messages"]] == [m["id"]]
    await ok(c, "DELETE", f"/channels/{space.text}/pins/{m['id']}", space.owner)
    assert (await ok(c, "GET", f"/channels/{space.text}/pins", space.member))["messages"] == []


async def test_mentions_and_everyone_needs_permission(space):
    m = await send(space, f"hi <@{space.owner.id}> @everyone")
    assert m["mentions"] == [space.owner.id]
    assert m["mention_everyone"] is False  # members lack MENTION_EVERYONE by default
    m2 = await send(space, "@everyone look", user=space.owner)
    assert m2["mention_everyone"] is True


async def test_slow_mode_refuses_a_second_message_too_soon(cc):
    space = await make_space(cc)
    await ok(cc, "PATCH", f"/channels/{space.text}", space.owner, json={"slowmode_s": 60})
    await send(space, "one")
    resp = await cc.post(
        f"/api/v1/channels/{space.text}/messages", json={"content": "two"}, headers=space.member.h
    )
    assert resp.status == 429 and (await resp.json())["code"] == "slowmode"
    assert int(resp.headers["Retry-After"]) >= 59
    await send(space, "moderators are exempt", user=space.owner)
    await send(space, "moderators are exempt again", user=space.owner)


async def test_slow_mode_lets_the_member_send_again_once_the_wait_is_over(cc, clock):
    space = await make_space(cc)
    await ok(cc, "PATCH", f"/channels/{space.text}", space.owner, json={"slowmode_s": 60})
    await send(space, "one")
    clock.advance(30)
    resp = await cc.post(
        f"/api/v1/channels/{space.text}/messages", json={"content": "two"}, headers=space.member.h
    )
    assert resp.status == 429 and 29 <= int(resp.headers["Retry-After"]) <= 31
    clock.advance(31)
    await send(space, "two")


async def test_a_timed_out_member_is_told_how_long_is_left(cc, clock):
    space = await make_space(cc)
    until = clock.time_ms() + 600_000
    path = f"/communities/{space.community}/members/{space.member.id}/timeout"
    await ok(cc, "PUT", path, space.owner, json={"until": until})
    clock.advance(240)
    resp = await cc.post(
        f"/api/v1/channels/{space.text}/messages", json={"content": "hi"}, headers=space.member.h
    )
    assert resp.status == 403 and (await resp.json())["code"] == "timed_out"
    assert 359 <= int(resp.headers["Retry-After"]) <= 361


async def test_an_erasure_is_stamped_with_the_nodes_time(cc, clock):
    # Projections get only the connection and the event: the writer's connection carries the
    # node's clock, so what they stamp follows it (here moved ten minutes on) and not the system's.
    from cryb_node.appkeys import NODE

    space = await make_space(cc)
    said = await send(space, "soon gone")
    clock.advance(600)
    await ok(cc, "DELETE", f"/channels/{space.text}/messages/{said['id']}", space.member)
    rows = await cc.app[NODE].db.fetchall("SELECT erased_at FROM erased_content")
    assert rows and all(abs(r["erased_at"] - clock.time()) < 60 for r in rows)
