"""Newest first over many matches (newest.py): the page is the same as the exact path's, in the same
order, within the reader's scope, while the walk stops early and the total becomes "about N".

The thresholds are lowered so a small corpus takes the walk: FAST_MIN (matches above which a search
walks), SAMPLE (matches read at least) and FIRST_WINDOW (documents per first window)."""

from __future__ import annotations

import random

import pytest
from cryb_plugins.search import newest
from cryb_plugins.search.schema import Doc, make_schema
from whoosh import index as windex
from whoosh import query as wq

from tests.search.conftest import found, indexed, ok, say


def _index(tmp_path, segments: list[list[tuple[int, str, str]]]):
    """A real Whoosh index of our schema: each inner list one committed segment of (time, channel, text)."""
    ix = windex.create_in(str(tmp_path), make_schema())
    n = 0
    for seg in segments:
        w = ix.writer()
        for at, chan, text in seg:
            w.add_document(**Doc(kind="message", id=f"m{n}", channel=chan, time=at, body=text).fields())
            n += 1
        w.commit(merge=False)
    return ix


def _brute(s, q, want: int) -> list[tuple[int, int]]:
    hits = [(s.stored_fields(d)["time"], d) for d in q.matcher(s).all_ids()] if s.is_atomic() else None
    if hits is None:
        hits = []
        for sub, offset in s.leaf_searchers():
            hits += [(sub.stored_fields(d)["time"], d + offset) for d in q.matcher(sub).all_ids()]
    return sorted(hits, reverse=True)[:want]


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(newest, "SAMPLE", 5)
    monkeypatch.setattr(newest, "FIRST_WINDOW", 4)
    newest._times.clear()


def test_the_walk_finds_the_newest_page_in_order_and_stops_early(tmp_path, small):
    rng = random.Random(5)
    # Three segments in time order, then a fourth of old documents (edits re-added late, with the
    # time they were written): the newest page must still be by time, not by position.
    segs, at = [], 1000
    for _ in range(3):
        seg = []
        for _ in range(200):
            at += rng.randint(1, 50)
            seg.append((at, rng.choice(["a", "b", "c"]), rng.choice(["lantern glow", "quiet night"])))
        segs.append(seg)
    late = [(at + 10 + i, "b", "lantern late") for i in range(10)] + [(at + 100, "b", "lantern newest")]
    edited = [(1000 + i * 7, "a", "lantern edited") for i in range(20)]  # re-added last, written long ago
    segs.append(late + edited)
    ix = _index(tmp_path, segs)
    from cryb_plugins.search.searching import Allowed

    with ix.searcher() as s:
        q = Allowed(wq.Term("body", "lantern"), frozenset({"a", "b"}), frozenset())
        for want in (1, 3, 20):
            w = newest.walk(s, q, want)
            assert w.hits == _brute(s, q, want)
            assert s.stored_fields(w.hits[0][1])["body"] == "lantern newest"
        exact_total = len(_brute(s, q, 10_000))
        w = newest.walk(s, q, 3)
        assert not w.exact, "three hits and a sample of five need only the newest windows"
        assert w.read < exact_total
        assert w.total >= w.read
        # A scope that reads nothing: no hits, an exact zero after walking everything.
        none = newest.walk(s, Allowed(wq.Term("body", "lantern"), frozenset({"zz"}), frozenset()), 5)
        assert none.hits == [] and none.exact and none.total == 0
        # Every channel outside the scope stays out of the hits and the sample.
        w = newest.walk(s, Allowed(wq.Term("body", "lantern"), frozenset({"c"}), frozenset()), 10)
        assert {s.stored_fields(d)["channel"] for _, d in w.hits} == {"c"}
        assert w.hits == _brute(s, Allowed(wq.Term("body", "lantern"), frozenset({"c"}), frozenset()), 10)
    # Matches spread evenly (as chat is): the estimate is near the exact count.
    (tmp_path / "u").mkdir()
    with _index(tmp_path / "u", segs[:3]).searcher() as s:
        q = Allowed(wq.Term("body", "lantern"), frozenset({"a", "b"}), frozenset())
        w = newest.walk(s, q, 3)
        exact_total = len(_brute(s, q, 10_000))
        assert not w.exact and w.read < exact_total
        assert 0.5 * exact_total <= w.total <= 2 * exact_total, (w.total, exact_total)  # "about N"


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
    monkeypatch.setattr(newest, "FAST_MIN", 0)
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
    for i in range(15):
        await say(c, sp.owner, world.secret if i % 5 == 4 else sp.text, f"{texts[i % 5]} {i}")
    await indexed(c)
    exact = await found(c, sp.member, "beacon", limit=4)
    monkeypatch.setattr(newest, "FAST_MIN", 0)
    fast = await found(c, sp.member, "beacon", limit=4)
    assert [(r["id"], r["score"]) for r in fast["results"]] == [
        (r["id"], r["score"]) for r in exact["results"]
    ]
    assert exact["total"] == 12 and "total_exact" not in exact
    assert fast["total"] == 12 or (fast["total_exact"] is False and 6 <= fast["total"] <= 24)
    scores = [r["score"] for r in fast["results"]]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    # Without words (operators only) many matches list newest first, like the exact path.
    assert [r["id"] for r in (await found(c, sp.member, "is:message", limit=4))["results"]] == [
        r["id"] for r in (await found(c, sp.member, "beacon", sort="new", limit=4))["results"]
    ]
