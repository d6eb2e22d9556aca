"""The rebuild's bulk path (one open writer, a commit every BULK_COMMIT documents, live changes replayed
at each commit) with tiny pages and segments, so that creates, edits and deletes land between the
commits of a running rebuild: the finished index holds each visible document exactly once, in its
current form, and nothing deleted."""

from __future__ import annotations

import asyncio

import pytest

from cryb_node.appkeys import NODE
from tests.search.conftest import found, indexed, ok, say


@pytest.fixture
def tiny_bulk(monkeypatch):
    from cryb_plugins.search import indexer

    monkeypatch.setattr(indexer, "PAGE", 3)
    monkeypatch.setattr(indexer, "BULK_COMMIT", 5)


async def test_changes_during_a_bulk_rebuild_are_replayed_exactly_once(tiny_bulk, world):
    from cryb_plugins.search import state_of

    c, sp = world.client, world.space
    ids = [await say(c, sp.member, sp.text, f"orchard note {i}") for i in range(40)]
    await indexed(c)
    st = state_of(c.server.app[NODE])
    old_gen = st.indexer.live_gen
    st.indexer.rebuild("requested")
    created, deleted, edited = [], [], []
    i = 0
    while st.indexer.state == "rebuilding" and i < 200:
        created.append(await say(c, sp.member, sp.text, f"orchard during rebuild {i}"))
        if i < len(ids) // 2:
            await ok(c, "DELETE", f"/channels/{sp.text}/messages/{ids[i]}", sp.member)
            deleted.append(ids[i])
            target = ids[-1 - i]
            await ok(
                c,
                "PATCH",
                f"/channels/{sp.text}/messages/{target}",
                sp.member,
                json={"content": f"orchard quince {i}"},
            )
            edited.append(target)
        i += 1
        await asyncio.sleep(0.01)
    assert deleted, "the rebuild finished before any change could land in it"
    await indexed(c)
    ix = st.indexer
    assert ix.live_gen != old_gen
    keys = await ix.keys()
    assert keys == await ix.expected_keys()
    assert ix.documents() == len(keys)  # no document twice
    found_ids = {r["id"] for r in (await found(c, sp.owner, "orchard", limit=50, page=1))["results"]}
    assert not found_ids & set(deleted)
    quince = await found(c, sp.owner, "quince", limit=50)
    assert {r["id"] for r in quince["results"]} == set(edited)
    total = (await found(c, sp.owner, "orchard"))["total"]
    assert total == len(ids) - len(deleted) + len(created)
