"""Authority at the event's place: what a banned or timed-out member posts on their own node while it
is cut off from the ban is refused on every node once the partition heals (the ban comes first in
the (hlc, id) order), and the nodes agree; what they posted before the ban stays."""

from __future__ import annotations

from tests.sync.conftest import make_community, mesh


async def _setup(federation):
    a, b = await federation(2)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    await b.session(a)
    member = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", member, json={})
    before = (await b.ok("POST", f"/channels/{text}/messages", member, json={"content": "before"}))["id"]
    await mesh([a, b])
    assert await a.count("SELECT count(*) FROM content_messages WHERE id = ?", before) == 1
    return a, b, owner, member, cid, text, before


async def _visible(fed, channel: str, viewer) -> list[str]:
    return [m["content"] for m in (await fed.ok("GET", f"/channels/{channel}/messages", viewer))["messages"]]


async def test_posts_after_a_ban_on_the_cut_off_home_node_are_refused_everywhere(federation):
    a, b, owner, member, cid, text, _ = await _setup(federation)
    # cut off: a bans the member; b has not heard and takes the member's posts
    await a.ok("PUT", f"/communities/{cid}/bans/{member.id}", owner, json={"reason": "spam"})
    after = []
    for i in range(3):
        after.append(
            (await b.ok("POST", f"/channels/{text}/messages", member, json={"content": f"after{i}"}))["id"]
        )
    assert "after0" in await _visible(b, text, member)
    # heal, both ways, in either order
    await mesh([b, a])
    viewers = {"a": owner, "b": await b.user()}
    for fed in (a, b):
        assert await _visible(fed, text, viewers[fed.name]) == ["before"], fed.name
        codes = await fed.node.db.fetchall(
            "SELECT code FROM event_refusals WHERE kind = 'message.create' AND author = ?", (member.id,)
        )
        assert [r[0] for r in codes] == ["banned"] * 3, fed.name
    assert await a.state(cid) == await b.state(cid)


async def test_posts_during_a_timeout_made_on_a_cut_off_node_are_refused_everywhere(federation):
    a, b, owner, member, cid, text, _ = await _setup(federation)
    await a.ok("PUT", f"/communities/{cid}/members/{member.id}/timeout", owner, json={"duration_s": 600})
    await b.ok("POST", f"/channels/{text}/messages", member, json={"content": "during"})
    await mesh([a, b])
    viewers = {"a": owner, "b": await b.user()}
    for fed in (a, b):
        assert await _visible(fed, text, viewers[fed.name]) == ["before"], fed.name
        row = await fed.node.db.fetchone(
            "SELECT code FROM event_refusals WHERE kind = 'message.create' AND author = ?", (member.id,)
        )
        assert row is not None and row[0] == "timed_out", fed.name
    assert await a.state(cid) == await b.state(cid)
