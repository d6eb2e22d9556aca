"""Live index commits happen in a child process (plugins/search/committer.py), so a Whoosh commit
never holds the node's GIL; a child that dies is replaced and nothing is lost."""

from __future__ import annotations

import os
import signal

from cryb_node.appkeys import NODE
from tests.search.conftest import found, indexed, make_space, ok


def child_pids(client) -> set[int]:
    from cryb_plugins.search import state_of

    committer = state_of(client.server.app[NODE]).indexer.committer
    assert committer is not None and committer._pool is not None
    return {p.pid for p in committer._pool._processes.values()}


async def test_live_batches_are_committed_by_a_child_and_a_killed_child_is_replaced(sc):
    space = await make_space(sc)
    await ok(sc, "POST", f"/channels/{space.text}/messages", space.member, json={"content": "first aardvark"})
    await indexed(sc)
    assert [h["id"] for h in (await found(sc, space.member, "aardvark"))["results"]]
    pids = child_pids(sc)
    assert len(pids) == 1 and os.getpid() not in pids
    (child,) = pids

    os.kill(child, signal.SIGKILL)
    for i in range(3):
        await ok(sc, "POST", f"/channels/{space.text}/messages", space.member, json={"content": f"zebra {i}"})
    await indexed(sc)
    hits = (await found(sc, space.member, "zebra"))["results"]
    assert len(hits) == 3  # the batch the dead child never wrote was written by its successor
    assert child_pids(sc).isdisjoint({child, os.getpid()})
