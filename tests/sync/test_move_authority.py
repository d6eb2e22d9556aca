"""Who may author for an account that moved, decided at each event's position in the (hlc, ...)
order, so every node decides alike whatever order events arrive in: before the move its old
home's logs, from the move on only its new home's."""

from __future__ import annotations

from cryb_plugins.content.events import MessageCreate

from cryb_node.sync import homes
from tests.sync.conftest import Fed, make_community, mesh
from tests.sync.rogue import Rogue


async def _texts(f: Fed) -> set[str]:
    return {r[0] for r in await f.node.db.fetchall("SELECT content FROM content_messages")}


async def test_history_written_before_a_move_is_taken_after_the_move_arrived(federation) -> None:
    a, b = await federation(2)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    alice = await a.user()
    await a.ok("PUT", f"/communities/{cid}/members/@me", alice, json={})
    await a.ok("POST", f"/channels/{text}/messages", alice, json={"content": "written before the move"})
    await homes.move_account(a.node, alice.id, b.key, b.url)
    # b's first session with a: profiles (and so the move) come before the community's events, so
    # alice's join and post arrive at b after b re-homed her there. They were written before the
    # move, by the home she had then: taken, not refused.
    report = await b.session(a)
    assert report.rejected == 0, report
    assert "written before the move" in await _texts(b)
    assert await a.state(cid) == await b.state(cid)


async def test_a_post_by_a_moved_account_on_its_cut_off_old_node_is_refused_everywhere(federation) -> None:
    a, b = await federation(2)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    alice = await a.user()
    await a.ok("PUT", f"/communities/{cid}/members/@me", alice, json={})
    await a.ok("POST", f"/channels/{text}/messages", alice, json={"content": "before the move"})
    await mesh([a, b], rounds=1)

    # a moves alice to b while the two are cut off from each other (no session runs), and a,
    # still her home as far as its own log went, writes a post as her after the move.
    await homes.move_account(a.node, alice.id, b.key, b.url)
    # its own API refuses her now; a log that carries such a post anyway (written by an old home
    # before it noticed, or forged) is refused by every node that receives it
    status, _ = await a.call("POST", f"/channels/{text}/messages", alice, json={"content": "via the API"})
    assert status in (401, 403), status
    Rogue(a.node.data_dir).forge(
        "message.create", MessageCreate(channel_id=text, content="after the move, on a"),
        community=cid, author=alice.id, target="aftermove0000000000000000001",
    )  # fmt: skip
    await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": "the owner, later"})

    # heal: both ways, until nothing moves
    await mesh([a, b], rounds=2)
    for f in (a, b):
        texts = await _texts(f)
        assert "after the move, on a" not in texts, f.name
        assert {"before the move", "the owner, later"} <= texts, f.name  # a's log did not stall
    assert await a.state(cid) == await b.state(cid)
