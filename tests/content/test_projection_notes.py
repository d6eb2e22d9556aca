"""What a projection learns for the realtime dispatch of an event (a vote tally, reaction counts, a
DM's participants) belongs to that node's event, not to a table shared by every node in the process.

Two nodes in one process (B is a restored copy of A, so both hold the same vote event) project that
event before either dispatches it: each node's VOTE_UPDATE must carry its own tally. A module-level
table keyed by event id gave A the tally B computed, and B nothing (no dispatch at all)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from cryb_plugins.content.dispatch import dispatchers

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from cryb_node.events import SELECT_EVENTS, Event, decode_row
from cryb_node.node import DB_FILE, Node

from .conftest import content_config, make_space, ok


def restore_copy(src: Path, dst: Path) -> None:
    """A consistent copy of a running node's database and keys (what a restore gives)."""
    dst.mkdir(parents=True)
    shutil.copytree(src / "keys", dst / "keys")
    with sqlite3.connect(src / DB_FILE) as a, sqlite3.connect(dst / DB_FILE) as b:
        a.backup(b)


async def reproject(node: Node, event_id: bytes) -> Event:
    """Run the node's own projection of a stored event again (as a catch-up or rebuild does)."""

    def job(conn: sqlite3.Connection) -> Event:
        row = conn.execute(f"{SELECT_EVENTS} WHERE e.id = ?", (event_id,)).fetchone()
        return node.events.project(conn, decode_row(node.registry, row))

    return await node.db.write(job)


async def test_two_nodes_in_one_process_dispatch_their_own_vote_tally(aiohttp_client, tmp_path):
    a = await aiohttp_client(build_app(content_config(tmp_path / "a")))
    space = await make_space(a)
    post = await ok(a, "POST", f"/channels/{space.forum}/posts", space.owner, json={"title": "p"})
    await ok(a, "PUT", f"/posts/{post['id']}/vote", space.member, json={"value": 1})
    node_a = a.app[NODE]
    vote_id = await node_a.db.fetchval(
        "SELECT event_id FROM content_votes WHERE target_id = ? AND user_id = ?",
        (post["id"], space.member.id),
    )

    restore_copy(tmp_path / "a", tmp_path / "b")
    b = await aiohttp_client(build_app(content_config(tmp_path / "b")))
    node_b = b.app[NODE]
    # The author's own upvote and the member's: 2 on both. The author withdraws theirs on B only:
    # B's tally is 1 up, A's stays 2.
    assert (await ok(a, "GET", f"/posts/{post['id']}", space.member))["ups"] == 2
    await ok(b, "PUT", f"/posts/{post['id']}/vote", space.owner, json={"value": 0})
    assert (await ok(b, "GET", f"/posts/{post['id']}", space.member))["ups"] == 1
    assert (await ok(a, "GET", f"/posts/{post['id']}", space.member))["ups"] == 2

    # Both nodes project the same event, then each dispatches it.
    ev_a = await reproject(node_a, vote_id)
    ev_b = await reproject(node_b, vote_id)
    vote = dispatchers()["vote.set"]
    out_a, out_b = vote(ev_a), vote(ev_b)
    assert out_a is not None and (out_a.data["ups"], out_a.data["score"]) == (2, 2)
    assert out_b is not None and (out_b.data["ups"], out_b.data["score"]) == (1, 1)
    assert out_a.channel_id == out_b.channel_id == space.forum
