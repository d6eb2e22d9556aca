"""A ban's delete window (member.ban delete_message_seconds) is a projection of the ban event itself:
`cryb doctor --replay` rebuilds the same purged rows from the log alone, and a peer that receives the
ban before the content it covers ends with the same rows as the node that saw it in order."""

from __future__ import annotations

import json
from pathlib import Path

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from cryb_node.events import verify
from cryb_node.node import Node
from cryb_node.sync.statehash import community_state
from tests.conftest import run_cryb
from tests.content.conftest import Space, User, call, content_config, make_space, ok
from tests.content.test_realtime import connect, next_dispatch
from tests.support.waiting import eventually


async def banned_spammer(space: Space) -> tuple[User, list[str], str, str]:
    """A member posts two messages and a post, then is banned with a one-hour delete window; the
    owner's message in between stays. Returns (the banned user, their message ids, their post id,
    the kept message id) once the API hides the purged content."""
    c = space.client
    bad = await space.join()
    spam = [
        (await ok(c, "POST", f"/channels/{space.text}/messages", bad, json={"content": f"spam {i}"}))["id"]
        for i in range(2)
    ]
    post = (await ok(c, "POST", f"/channels/{space.forum}/posts", bad, json={"title": "spam"}))["id"]
    kept = await ok(c, "POST", f"/channels/{space.text}/messages", space.owner, json={"content": "ok"})
    keep = kept["id"]
    await ok(c, "PUT", f"/communities/{space.community}/bans/{bad.id}", space.owner,
             json={"reason": "spam", "delete_message_seconds": 3600})  # fmt: skip

    async def hidden() -> bool:
        page = await ok(c, "GET", f"/channels/{space.text}/messages", space.member)
        return [m["id"] for m in page["messages"]] == [keep]

    await eventually(hidden, 15)
    assert (await call(c, "GET", f"/posts/{post}", space.member))[0] == 404
    return bad, spam, post, keep


async def test_doctor_replay_is_clean_after_a_ban_that_purges(aiohttp_client, tmp_path: Path):
    data = tmp_path / "data"
    client = await aiohttp_client(build_app(content_config(data)))
    space = await make_space(client)
    await banned_spammer(space)
    await client.close()

    res = run_cryb("--data", str(data), "doctor", "--offline", "--replay", "--json", timeout=300)
    checks = {c["check"]: c for c in json.loads(res.stdout)}
    assert checks["replay"]["ok"], checks["replay"]
    assert "events replayed: equal" in checks["replay"]["detail"]

    # the purged content stays hidden on the restarted node
    client = await aiohttp_client(build_app(content_config(data)))
    page = await ok(client, "GET", f"/channels/{space.text}/messages", space.member)
    assert [m["content"] for m in page["messages"]] == ["ok"]


async def test_a_ban_that_arrives_before_the_content_it_covers_purges_it_the_same(aiohttp_client, tmp_path):
    space = await make_space(await aiohttp_client(build_app(content_config(tmp_path / "origin"))))
    bad, spam, post, _keep = await banned_spammer(space)
    origin = space.client.app[NODE]
    rows = await origin.db.fetchall(
        "SELECT e.kind, e.body, e.sig, c.content FROM events e LEFT JOIN event_content c"
        " ON c.event_id = e.id ORDER BY e.pos"
    )
    keys = await origin.db.fetchall("SELECT origin, node_key, cert, created_at FROM log_keys")
    # as a peer may receive them: the ban first, then everything else in log order
    bans = [r for r in rows if r[0] == "member.ban"]
    assert len(bans) == 1
    order = bans + [r for r in rows if r[0] != "member.ban"]
    want = (await community_state(origin, space.community)).parts

    peer = Node(content_config(tmp_path / "peer"))
    async with peer.running(background=False):

        def deliver(conn) -> None:
            conn.executemany("INSERT OR IGNORE INTO log_keys VALUES (?, ?, ?, ?)", [tuple(k) for k in keys])
            for _kind, raw, sig, content in order:
                peer.events.ingest(conn, raw, sig, content, verify(raw, sig, content))

        await peer.db.write(deliver)
        got = (await community_state(peer, space.community)).parts
        purged = await peer.db.fetchall(
            "SELECT id FROM content_messages WHERE author_id = ? AND purged = 1 UNION ALL"
            " SELECT id FROM content_posts WHERE author_id = ? AND purged = 1",
            (bad.id, bad.id),
        )
    assert sorted(r[0] for r in purged) == sorted([*spam, post])
    assert got == want


async def test_open_sockets_are_told_what_the_ban_hid(aiohttp_client, tmp_path: Path):
    space = await make_space(await aiohttp_client(build_app(content_config(tmp_path / "data"))))
    ws, _ready = await connect(space.client, space.member.token)
    try:
        bad, spam, post, _keep = await banned_spammer(space)
        got: dict[str, list[str]] = {}
        while set(got) != {"message_ids", "post_ids"}:
            frame = await next_dispatch(ws)
            if frame["t"] == "CONTENT_PURGE":
                assert frame["d"]["user_id"] == bad.id
                got.update({k: v for k, v in frame["d"].items() if k.endswith("_ids")})
        assert sorted(got["message_ids"]) == sorted(spam) and got["post_ids"] == [post]
    finally:
        await ws.close()
