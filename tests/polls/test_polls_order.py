"""Counts depend only on WHICH events a node holds: a poll's history made over HTTP (votes, changes,
withdrawals, an end), replayed into fresh nodes in reversed and shuffled orders (votes before their
poll, the end before the votes), reads the same on every replica."""

from __future__ import annotations

import random
from pathlib import Path

import msgspec
from cryb_plugins.polls import POLLS
from cryb_plugins.polls.events import PollVote

from cryb_node.appkeys import NODE
from cryb_node.clock import pack
from cryb_node.events import verify
from cryb_node.node import Node
from tests.content.conftest import Space, content_config
from tests.polls.test_polls_api import poll_message
from tests.support.api import ok
from tests.sync.rogue import Rogue


async def test_poll_counts_are_the_same_in_any_arrival_order(space: Space, tmp_path: Path) -> None:
    c, o, m = space.client, space.owner, space.member
    third = await space.join()
    single = await poll_message(space)
    multi = await poll_message(space, multiple=True)
    for who, pid, choices in (
        (m, single, [0]),
        (o, single, [1]),
        (third, single, [2]),
        (m, single, [1]),
        (third, single, []),
        (m, multi, [0, 2]),
        (o, multi, [2]),
        (m, multi, [1]),
    ):
        await ok(c, "PUT", f"/polls/{pid['id']}/vote", who, json={"choices": choices})  # fmt: skip
    await ok(c, "POST", f"/polls/{single['id']}/end", o)
    origin = c.app[NODE]
    polls = origin.services.require(POLLS)
    ids = [single["id"], multi["id"]]
    expected = msgspec.to_builtins(await polls.many(o.id, ids))
    assert [[a["count"] for a in p["answers"]] for p in expected["polls"]] == [[0, 2, 0], [0, 1, 1]]
    rows = await origin.db.fetchall(
        "SELECT e.id, e.body, e.sig, c.content FROM events e LEFT JOIN event_content c ON c.event_id = e.id"
        " ORDER BY e.pos"
    )
    keys = await origin.db.fetchall("SELECT origin, node_key, cert, created_at FROM log_keys")
    orders = [list(reversed(rows))] + [random.Random(seed).sample(rows, len(rows)) for seed in range(3)]
    for n, order in enumerate(orders):
        replica = Node(content_config(tmp_path / f"replica{n}"))
        async with replica.running(background=False):

            def replay(conn, order=order, replica=replica):
                conn.executemany(
                    "INSERT OR IGNORE INTO log_keys VALUES (?, ?, ?, ?)", [tuple(k) for k in keys]
                )
                for _event_id, raw, sig, content in order:
                    replica.events.ingest(conn, raw, sig, content, verify(raw, sig, content))

            await replica.db.write(replay)
            got = msgspec.to_builtins(await replica.services.require(POLLS).many(o.id, ids))
        assert got == expected, n


async def test_forged_votes_are_refused_in_any_arrival_order(space: Space, tmp_path: Path) -> None:
    """A peer's vote for two answers of a single-choice poll and one at the deadline: refused on
    every replica, also when it arrives before its poll, or before governance that precedes it
    (a late governance event re-decides later votes, and must not undo the poll's own rule)."""
    c, o, m = space.client, space.owner, space.member
    msg = await poll_message(space, duration_s=60)
    await ok(c, "PUT", f"/polls/{msg['id']}/vote", m, json={"choices": [0]})
    await ok(c, "POST", f"/communities/{space.community}/roles", o, json={"name": "later"})
    origin = c.app[NODE]
    polls = origin.services.require(POLLS)
    closes_at = (await polls.get(o.id, msg["id"])).closes_at
    rogue = Rogue(origin.data_dir)  # written behind the node's back, as a hostile peer's log would hold
    forged = {
        rogue.forge("poll.vote", PollVote(channel_id=space.text, choices=[0, 1]), community=space.community,
                    author=m.id, target=msg["id"], hlc=pack(closes_at - 2000, 0)): "invalid_choice",
        rogue.forge("poll.vote", PollVote(channel_id=space.text, choices=[1]), community=space.community,
                    author=m.id, target=msg["id"], hlc=pack(closes_at, 0)): "poll_closed",
    }  # fmt: skip
    expected = msgspec.to_builtins(await polls.get(o.id, msg["id"]))
    rows = await origin.db.fetchall(
        "SELECT e.id, e.body, e.sig, c.content FROM events e LEFT JOIN event_content c ON c.event_id = e.id"
        " ORDER BY e.pos"
    )
    keys = await origin.db.fetchall("SELECT origin, node_key, cert, created_at FROM log_keys")
    orders = [list(reversed(rows))] + [random.Random(seed).sample(rows, len(rows)) for seed in range(5)]
    for n, order in enumerate(orders):
        replica = Node(content_config(tmp_path / f"forged{n}"))
        async with replica.running(background=False):

            def replay(conn, order=order, replica=replica):
                conn.executemany(
                    "INSERT OR IGNORE INTO log_keys VALUES (?, ?, ?, ?)", [tuple(k) for k in keys]
                )
                for _event_id, raw, sig, content in order:
                    replica.events.ingest(conn, raw, sig, content, verify(raw, sig, content))

            await replica.db.write(replay)
            got = msgspec.to_builtins(await replica.services.require(POLLS).get(o.id, msg["id"]))
            refusals = await replica.db.fetchall("SELECT lower(hex(event_id)), code FROM event_refusals")
        assert got == expected, n
        assert dict(tuple(r) for r in refusals) == forged, n
