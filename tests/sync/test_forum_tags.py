"""A forum channel's tag set holds on every node: a post with a tag outside it, written straight into
a peer's log, is refused by the receivers as the origin's own API refuses it."""

from __future__ import annotations

from cryb_plugins.content.events import PostCreate

from cryb_node.clock import new_id
from tests.sync.conftest import mesh
from tests.sync.rogue import Rogue


async def test_a_post_outside_the_tag_set_is_refused_by_every_node(federation) -> None:
    a, b, c = await federation(3)
    owner = await a.user()
    com = await a.ok("POST", "/communities", owner, json={"name": "makers"})
    forum = await a.ok(
        "POST", f"/communities/{com['id']}/channels", owner, json={"name": "work", "kind": "forum"}
    )
    await a.ok("PUT", f"/channels/{forum['id']}/tags", owner, json={"tags": ["help"]})
    await mesh([a, b, c], rounds=1)
    member = await b.user()
    await b.ok("PUT", f"/communities/{com['id']}/members/@me", member, json={})
    status, body = await b.call(
        "POST", f"/channels/{forum['id']}/posts", member, json={"title": "x", "tags": ["spam"]}
    )
    assert (status, body["code"]) == (403, "unknown_tag"), body
    forged = Rogue(b.node.data_dir).forge(
        "post.create", PostCreate(channel_id=forum["id"], title="forged", tags=["spam"]),
        community=com["id"], author=member.id, target=new_id(),
    )  # fmt: skip
    ok_post = await b.ok(
        "POST", f"/channels/{forum['id']}/posts", member, json={"title": "fine", "tags": ["HELP"]}
    )
    await mesh([a, b, c], rounds=1)
    for fed in (a, c):
        row = await fed.node.db.fetchone(
            "SELECT code FROM event_refusals WHERE event_id = ?", (bytes.fromhex(forged),)
        )
        assert row is not None and row[0] == "unknown_tag", fed.name
        assert await fed.count("SELECT count(*) FROM content_posts WHERE title = 'forged'") == 0
        assert await fed.count("SELECT count(*) FROM content_posts WHERE id = ?", ok_post["id"]) == 1
