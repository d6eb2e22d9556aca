"""Projections depend only on WHICH events exist: a history made over HTTP, replayed into fresh nodes
in shuffled and reversed orders (as federation may deliver it), gives the same rows. The community's
governance travels with its content (content is only allowed against it, at its place in the order)."""

from __future__ import annotations

import random
from pathlib import Path

from cryb_plugins.content.events import KINDS

from cryb_node.appkeys import NODE
from cryb_node.events import verify
from cryb_node.node import Node
from tests.content.conftest import content_config, ok
from tests.content.test_emoji_icon_media import upload

# Every projection table except the node-local ones (read markers, view counts, purge windows).
TABLES = {
    "content_messages": "id",
    "content_mentions": "channel_id, user_id, hlc, message_id",
    "content_posts": "id",
    "content_comments": "id",
    "content_edits": "event_id",
    "content_deletes": "target_id, author_id",
    "content_mod": "target_id, field",
    "content_reaction_adds": "event_id",
    "content_reaction_removed": "add_id",
    "content_reaction_counts": "target_id, emoji",
    "content_votes": "target_id, user_id",
    "content_dm_channels": "id",
    "content_dm_members": "channel_id, user_id",
    "content_emojis": "id",
}


async def dump(node: Node) -> dict[str, list[tuple]]:
    return {
        t: [tuple(r) for r in await node.db.fetchall(f"SELECT * FROM {t} ORDER BY {k}")]
        for t, k in TABLES.items()
    } | {"refusals": await node.db.fetchall("SELECT kind, code FROM event_refusals")}


async def history(space) -> None:
    """A bit of everything, including edits racing deletes, re-reactions and changed votes."""
    c, m, o = space.client, space.member, space.owner
    third = await space.join()
    msgs = []
    for i in range(6):
        msgs.append(await ok(c, "POST", f"/channels/{space.text}/messages", m,
                             json={"content": f"m{i} <@{o.id}> @everyone"}))  # fmt: skip
    root = msgs[0]["id"]
    await ok(c, "POST", f"/channels/{space.text}/messages", o, json={"content": "t", "thread_id": root})
    await ok(c, "POST", f"/channels/{space.text}/messages", third, json={"content": "r", "reply_to": root})
    for i in range(3):
        await ok(c, "PATCH", f"/channels/{space.text}/messages/{msgs[1]['id']}", m, json={"content": f"e{i}"})
    await ok(c, "PATCH", f"/channels/{space.text}/messages/{msgs[2]['id']}", m, json={"content": "edited"})
    await ok(c, "DELETE", f"/channels/{space.text}/messages/{msgs[2]['id']}", m)
    await ok(c, "DELETE", f"/channels/{space.text}/messages/{msgs[3]['id']}", o)  # a moderator removal
    await ok(c, "POST", f"/messages/{msgs[3]['id']}/moderation", o, json={"action": "approve"})
    await ok(c, "POST", f"/messages/{msgs[3]['id']}/moderation", o, json={"action": "remove"})
    await ok(c, "PUT", f"/channels/{space.text}/pins/{msgs[4]['id']}", o)
    for who in (m, o, third):
        await ok(c, "PUT", f"/messages/{msgs[4]['id']}/reactions/👍", who)
    await ok(c, "DELETE", f"/messages/{msgs[4]['id']}/reactions/👍", o)
    await ok(c, "PUT", f"/messages/{msgs[4]['id']}/reactions/👍", o)
    await ok(c, "DELETE", f"/messages/{msgs[4]['id']}/reactions/👍", third)
    await ok(c, "PUT", f"/messages/{msgs[4]['id']}/reactions/🎉", third)
    posts = []
    for i in range(3):
        posts.append(await ok(c, "POST", f"/channels/{space.forum}/posts", m,
                              json={"title": f"p{i}", "body": f"**b{i}**"}))  # fmt: skip
    await ok(c, "PATCH", f"/posts/{posts[0]['id']}", m, json={"body": "new body", "nsfw": True})
    await ok(c, "DELETE", f"/posts/{posts[1]['id']}", m)
    for who, value in ((o, 1), (third, -1), (o, -1), (third, 0), (m, 1)):
        await ok(c, "PUT", f"/posts/{posts[0]['id']}/vote", who, json={"value": value})
    await ok(c, "POST", f"/posts/{posts[2]['id']}/moderation", o, json={"action": "lock"})
    top = await ok(c, "POST", f"/posts/{posts[0]['id']}/comments", o, json={"body": "top"})
    kids = []
    for i in range(3):
        kids.append(await ok(c, "POST", f"/posts/{posts[0]['id']}/comments", third,
                             json={"body": f"k{i}", "parent_id": top["id"]}))  # fmt: skip
    await ok(c, "PATCH", f"/comments/{kids[0]['id']}", third, json={"body": "k0 edited"})
    await ok(c, "DELETE", f"/comments/{kids[1]['id']}", third)
    await ok(c, "PUT", f"/comments/{kids[2]['id']}/vote", m, json={"value": 1})
    dm = await ok(c, "POST", "/dms", m, json={"recipients": [third.id]})
    await ok(c, "POST", f"/channels/{dm['id']}/messages", third, json={"content": "psst"})
    # Custom emoji: renamed twice (the later rename wins in any order, even before the create).
    media = await upload(c, o)
    emojis = f"/communities/{space.community}/emojis"
    party = await ok(c, "POST", emojis, o, json={"name": "party", "media_id": media})
    for name in ("fiesta", "fiesta_two"):
        await ok(c, "PATCH", f"{emojis}/{party['id']}", o, json={"name": name})
    ferry = await ok(c, "POST", emojis, o, json={"name": "ferry", "media_id": media})
    await ok(c, "DELETE", f"{emojis}/{ferry['id']}", o)


async def test_projections_are_the_same_in_any_arrival_order(space, tmp_path: Path):
    await history(space)
    origin = space.client.app[NODE]
    rows = await origin.db.fetchall(
        "SELECT e.id, e.body, e.sig, c.content FROM events e LEFT JOIN event_content c ON c.event_id = e.id"
        " ORDER BY e.pos"
    )
    assert {verify(r[1], r[2], r[3]).kind for r in rows} >= set(KINDS)
    keys = await origin.db.fetchall("SELECT origin, node_key, cert, created_at FROM log_keys")
    expected = await dump(origin)
    assert expected["content_messages"] and expected["content_reaction_removed"] and expected["content_edits"]
    assert sorted((r[2], r[6]) for r in expected["content_emojis"]) == [("ferry", 1), ("fiesta_two", 0)]

    orders = [list(reversed(rows))] + [random.Random(seed).sample(rows, len(rows)) for seed in range(4)]
    for n, order in enumerate(orders):
        replica = Node(content_config(tmp_path / f"replica{n}"))
        async with replica.running(background=False):

            def replay(conn, order=order, replica=replica):
                conn.executemany(
                    "INSERT OR IGNORE INTO log_keys VALUES (?, ?, ?, ?)", [tuple(k) for k in keys]
                )
                for _event_id, raw, sig, content in order:
                    body = verify(raw, sig, content)  # the exact bytes received, as a peer would check them
                    # the peer's path: a create whose payload the author's delete erased arrives bare
                    replica.events.ingest(conn, raw, sig, content, body)

            await replica.db.write(replay)
            got = await dump(replica)
        for table in TABLES:
            assert got[table] == expected[table], (n, table)
        assert not got["refusals"], n
