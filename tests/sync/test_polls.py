"""Polls across nodes: votes cast on two nodes converge (the same counts on both, after changes and
withdrawals too), an early end replicates, and a peer's forged votes (for someone else, after the
deadline, for two answers of a single-choice poll, naming another channel) are refused by the same
rules on the receiving node as at the API."""

from __future__ import annotations

from typing import Any

from cryb_plugins.polls.events import PollEnd, PollVote

from cryb_node.clock import pack
from tests.content.test_realtime import connect, next_dispatch
from tests.sync.conftest import Fed, make_community, mesh
from tests.sync.rogue import Rogue

POLL = {"question": "Where?", "answers": [{"text": "Here"}, {"text": "There"}, {"text": "Anywhere"}]}


async def counts(fed: Fed, poll_id: str, user: Any) -> tuple[list[int], int]:
    got = await fed.ok("GET", f"/polls/{poll_id}", user)
    return [a["count"] for a in got["answers"]], got["voters"]


async def scene(federation: Any, **poll: Any) -> tuple[Fed, Fed, Any, Any, Any, str, str, str]:
    a, b = await federation(2)
    owner, alice = await a.user(), await a.user()
    cid, text = await make_community(a, owner)
    await a.ok("PUT", f"/communities/{cid}/members/@me", alice, json={})
    msg = await a.ok("POST", f"/channels/{text}/messages", owner, json={"poll": {**POLL, **poll}})
    await b.session(a)
    bob = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", bob, json={})
    return a, b, owner, alice, bob, cid, text, msg["id"]


async def test_a_poll_voted_on_from_two_nodes_converges(federation) -> None:
    a, b, owner, alice, bob, cid, _, pid = await scene(federation, multiple=True)
    # votes on both nodes before they talk
    await a.ok("PUT", f"/polls/{pid}/vote", alice, json={"choices": [0, 1]})
    await b.ok("PUT", f"/polls/{pid}/vote", bob, json={"choices": [1]})
    await mesh([a, b])
    assert await counts(a, pid, owner) == await counts(b, pid, bob) == ([1, 2, 0], 2)
    # a changed vote and a withdrawn one converge too
    await a.ok("PUT", f"/polls/{pid}/vote", alice, json={"choices": []})
    await b.ok("PUT", f"/polls/{pid}/vote", bob, json={"choices": [2]})
    await mesh([a, b])
    assert await counts(a, pid, owner) == await counts(b, pid, bob) == ([0, 0, 1], 1)
    mine = await b.ok("GET", f"/polls/{pid}", bob)
    assert [x["me"] for x in mine["answers"]] == [False, False, True]
    assert await a.state(cid) == await b.state(cid)
    # the author ends it on a; once b has the end, b refuses votes too
    await a.ok("POST", f"/polls/{pid}/end", owner)
    await b.session(a)
    status, body = await b.call("PUT", f"/polls/{pid}/vote", bob, json={"choices": [0]})
    assert (status, body["code"]) == (409, "poll_closed")
    assert (await b.ok("GET", f"/polls/{pid}", bob))["closed"] is True


async def test_forged_peer_votes_are_refused_as_at_the_api(federation) -> None:
    a, b, owner, alice, bob, cid, text, pid = await scene(federation, duration_s=60)
    await b.ok("PUT", f"/polls/{pid}/vote", bob, json={"choices": [0]})
    await a.session(b)
    rogue = Rogue(b.node.data_dir)
    # at the deadline itself (a peer clock more than a minute ahead is refused by sync anyway)
    closes_at = (await a.ok("GET", f"/polls/{pid}", owner))["closes_at"]
    forged = {
        # ends: bob neither wrote the poll nor holds MANAGE_MESSAGES
        "forbidden": rogue.forge("poll.end", PollEnd(channel_id=text),
                                 community=cid, author=bob.id, target=pid),
        "missing_permission": rogue.forge("poll.end", PollEnd(channel_id=text, moderator=True),
                                          community=cid, author=bob.id, target=pid),
        "invalid_choice": rogue.forge("poll.vote", PollVote(channel_id=text, choices=[1, 2]),
                                      community=cid, author=bob.id, target=pid),
        "invalid_event": rogue.forge("poll.vote", PollVote(channel_id="elsewhere", choices=[1]),
                                     community=cid, author=bob.id, target=pid),
        "poll_closed": rogue.forge("poll.vote", PollVote(channel_id=text, choices=[2]),
                                   community=cid, author=bob.id, target=pid, hlc=pack(closes_at, 0)),
    }  # fmt: skip
    await a.session(b)
    for code, event_id in forged.items():
        got = await a.node.db.fetchval(
            "SELECT code FROM event_refusals WHERE event_id = ?", (bytes.fromhex(event_id),)
        )
        assert got == code, (code, got)
    assert await counts(a, pid, owner) == ([1, 0, 0], 1)
    assert (await a.ok("GET", f"/polls/{pid}", owner))["ended_at"] is None
    # a vote signed by b for a's member alice: b is not alice's home, a stores nothing of it
    someone_else = rogue.forge("poll.vote", PollVote(channel_id=text, choices=[2]),
                               community=cid, author=alice.id, target=pid)  # fmt: skip
    report = await a.session(b)
    assert report.rejected >= 1
    assert (
        await a.count("SELECT count(*) FROM poll_votes WHERE event_id = ?", bytes.fromhex(someone_else)) == 0
    )
    assert await counts(a, pid, owner) == ([1, 0, 0], 1)


async def test_a_peers_vote_reaches_local_sockets_live(federation) -> None:
    a, b, _, alice, bob, _, _, pid = await scene(federation)
    ws, _ = await connect(b.client, bob.token)
    try:
        await a.ok("PUT", f"/polls/{pid}/vote", alice, json={"choices": [1]})
        await b.session(a)
        got = (await next_dispatch(ws, "POLL_UPDATE"))["d"]
        assert (got["id"], got["counts"], got["user_id"]) == (pid, [0, 1, 0], alice.id)
    finally:
        await ws.close()
