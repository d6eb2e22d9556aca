"""Acceptance 3: a node offline while its peer wrote N events catches up when it returns (both
ways: it wrote too), in bounded batches, and both show the same state hash. 500 events in the
normal suite; 10,000 under -m slow. The rate is bench/sync.py's to report, never asserted here."""

from __future__ import annotations

import pytest
from cryb_plugins.content.events import Delete, MessageCreate, MessageEdit

from tests.sync.conftest import Fed, make_community


async def _write(a: Fed, cid: str, channel: str, author: str, n: int) -> None:
    """n events on a: messages, with every 50th edited and every 70th deleted by its author."""
    made = 0
    while made < n:

        def chunk(tx, start: int = made) -> int:
            k = 0
            for i in range(start, min(n, start + 500)):
                mid = f"c{i:08d}x"
                tx.append("message.create", MessageCreate(channel_id=channel, content=f"catch-up {i}"),
                          community=cid, author=author, target=mid)  # fmt: skip
                k += 1
                if i % 50 == 0 and k < 500:
                    tx.append("message.edit", MessageEdit(channel_id=channel, content=f"edited {i}"),
                              community=cid, author=author, target=mid)  # fmt: skip
                    k += 1
                if i % 70 == 0 and k < 500:
                    tx.append("message.delete", Delete(channel_id=channel), community=cid, author=author,
                              target=mid)  # fmt: skip
                    k += 1
            return k

        made += await a.node.events.transaction(chunk)


async def _catch_up(federation, n: int, batch: int) -> None:
    a, b = await federation(2, batch_events=batch)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    await b.session(a)
    bob = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", bob, json={})
    await b.session(a)
    # b goes offline; both keep writing
    await _write(a, cid, text, owner.id, n)
    for i in range(5):
        await b.ok("POST", f"/channels/{text}/messages", bob, json={"content": f"offline b {i}"})
    report = await b.session(a)
    assert report.rejected == 0 and report.forks == 0
    assert report.pulled >= n and report.pushed == 5
    assert await a.state(cid) == await b.state(cid)
    total = await a.count("SELECT count(*) FROM events WHERE community = ?", cid)
    assert await b.count("SELECT count(*) FROM events WHERE community = ?", cid) == total
    # b's vector for a's log now stands at a's head: nothing is asked for twice
    head = await a.count("SELECT seq FROM log_heads WHERE origin = ?", a.node.identity.origin)
    vec = await b.count(
        "SELECT seq FROM sync_vectors WHERE scope = ? AND origin = ?", cid, a.node.identity.origin
    )
    assert vec == head
    again = await b.session(a)
    assert again.pulled == 0 and again.pushed == 0
    got = await b.ok("GET", f"/channels/{text}/messages?limit=5", bob)
    assert got["messages"][0]["content"].startswith(("catch-up", "offline b", "edited"))


async def test_offline_node_catches_up_500_events_in_batches(federation) -> None:
    await _catch_up(federation, 500, batch=97)


@pytest.mark.slow
async def test_offline_node_catches_up_10000_events(federation) -> None:
    await _catch_up(federation, 10_000, batch=2000)
