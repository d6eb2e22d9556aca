"""Many matches (the fast path of searching.py): newest first, the page is the same as the exact
path's, in the same order, within the reader's scope, while the total becomes "about N"; by relevance
the ranking is the exact path's.

The thresholds are lowered so a small corpus takes the fast path: FAST_MIN (matches above which a
search takes it) and SAMPLE (matches read for the estimate)."""

from __future__ import annotations

import pytest
from cryb_plugins.search import searching

from tests.search.conftest import found, indexed, ok, say


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(searching, "SAMPLE", 5)


async def test_a_newest_first_search_over_many_matches_answers_like_the_exact_path(world, monkeypatch, small):
    sp, c = world.space, world.client
    ids = []
    for i in range(14):
        channel = world.secret if i % 4 == 3 else sp.text
        ids.append(await say(c, sp.owner, channel, f"harbour light number {i}"))
    # An old message edited now: re-indexed last, still listed at the time it was written.
    await ok(
        c,
        "PATCH",
        f"/channels/{sp.text}/messages/{ids[1]}",
        sp.owner,
        json={"content": "harbour light edited"},
    )
    await indexed(c)
    exact = [await found(c, sp.member, "harbour", sort="new", limit=3, page=p) for p in (1, 2, 3, 4)]
    assert all("total_exact" not in b for b in exact)  # the exact path: few matches
    monkeypatch.setattr(searching, "FAST_MIN", 0)
    fast = [await found(c, sp.member, "harbour", sort="new", limit=3, page=p) for p in (1, 2, 3, 4)]
    for e, f in zip(exact, fast, strict=True):
        assert [r["id"] for r in f["results"]] == [r["id"] for r in e["results"]]
        assert [r["snippet"] for r in f["results"]] == [r["snippet"] for r in e["results"]]
    visible = [i for n, i in enumerate(ids) if n % 4 != 3]
    listed = [r["id"] for b in fast for r in b["results"]]
    assert listed == sorted(visible, key=ids.index, reverse=True)  # newest first, the edit in its place
    assert not set(listed) & {i for n, i in enumerate(ids) if n % 4 == 3}  # the secret channel's
    assert exact[0]["total"] == len(visible)
    first = fast[0]
    if first.get("total_exact") is False:
        assert len(visible) / 2 <= first["total"] <= 2 * len(visible)
    else:
        assert first["total"] == len(visible)
    assert [f["value"] for f in first["facets"]["channel"]] == [sp.text]
    # The owner reads the secret channel: its messages are on the owner's pages.
    mine = [
        r["id"]
        for p in (1, 2, 3, 4, 5)
        for r in (await found(c, sp.owner, "harbour", sort="new", limit=3, page=p))["results"]
    ]
    assert mine == sorted(ids, key=ids.index, reverse=True)


async def test_relevance_over_many_matches_ranks_like_the_exact_path(world, monkeypatch, small):
    sp, c = world.space, world.client
    texts = ["beacon", "beacon beacon", "beacon of the old harbour", "a beacon", "beacon beacon beacon now"]
    # bm25 gives a word in more than half the documents no weight (FTS5's floor): fillers between.
    readable = []
    for i in range(15):
        readable.append(await say(c, sp.owner, sp.text, f"quiet filler {i}"))
        secret = i % 5 == 4
        sent = await say(c, sp.owner, world.secret if secret else sp.text, f"{texts[i % 5]} {i}")
        readable += [] if secret else [sent]
    await indexed(c)
    exact = await found(c, sp.member, "beacon", limit=4)
    monkeypatch.setattr(searching, "FAST_MIN", 0)
    fast = await found(c, sp.member, "beacon", limit=4)
    assert [(r["id"], r["score"]) for r in fast["results"]] == [
        (r["id"], r["score"]) for r in exact["results"]
    ]
    assert exact["total"] == 12 and "total_exact" not in exact
    assert fast["total"] == 12 or (fast["total_exact"] is False and 6 <= fast["total"] <= 24)
    scores = [r["score"] for r in fast["results"]]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    # Without words (operators only) many matches list newest first, like the exact path.
    newest = [r["id"] for r in (await found(c, sp.member, "is:message", limit=4))["results"]]
    assert newest == readable[::-1][:4]
