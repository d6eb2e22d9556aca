"""The fast path's parts on a real index file (searching.py): where the documents lie along the rowids
(Spread) estimates how many a time range holds without counting them, within its resolution; ranking
the readable matches by the query alone scores them exactly as ranking with the reader's scope in the
MATCH expression did; one walk gives the same newest matches as before."""

from __future__ import annotations

import pytest
from cryb_plugins.search import searching
from cryb_plugins.search.build import Match
from cryb_plugins.search.documents import Doc
from cryb_plugins.search.searching import Query, Scope, Spread
from cryb_plugins.search.store import Store

BASE = 1_700_000_000_000
WORDS = ["lantern", "harbour", "beacon", "quiet", "lantern lantern", "lantern of the harbour"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    st = Store.create(tmp_path_factory.mktemp("ix"))
    docs = [
        Doc(kind="message", id=f"m{i:05d}", channel=f"c{i % 5}", community="g1", time=BASE + i * 1000,
            body=f"{WORDS[i % len(WORDS)]} {i}")
        for i in range(3000)
    ]  # fmt: skip
    st.conn.execute("BEGIN")
    st.put(docs, fresh=True)
    st.conn.execute("COMMIT")
    yield st
    st.close()


def _truth(conn, lo, hi) -> int:
    sql, args = "SELECT count(*) FROM docs WHERE 1", []
    if lo is not None:
        sql += " AND id >= ?"
        args.append(lo)
    if hi is not None:
        sql += " AND id <= ?"
        args.append(hi)
    return conn.execute(sql, args).fetchone()[0]


def test_a_spread_estimates_documents_in_a_range_and_leaves_small_ranges_to_be_counted(store, monkeypatch):
    conn = store.conn
    ids = [r for (r,) in conn.execute("SELECT id FROM docs ORDER BY id")]
    exact = Spread(conn, len(ids))
    assert exact.step == 1 and exact.between(None, None) == 3000
    monkeypatch.setattr(Spread, "MARKS", 100)
    monkeypatch.setattr(Spread, "EXACT_BELOW", 8)
    coarse = Spread(conn, len(ids))
    assert coarse.step == 31 and 60 <= len(coarse.marks) <= 140  # 3000 // 100 = 30 -> the prime 31
    for lo, hi in [(None, None), (None, ids[0]), (None, ids[1234]), (ids[100], ids[2900]), (ids[2999], None),
                   (ids[500], ids[499]), (ids[10] + 1, ids[11] - 1), (ids[1000], ids[1100])]:  # fmt: skip
        truth = _truth(conn, lo, hi)
        assert exact.between(lo, hi) == truth
        estimate = coarse.between(lo, hi)
        if estimate is None:  # too few marks: the caller counts
            assert truth < 40 * coarse.step
        else:
            assert truth >= 4 * coarse.step and abs(estimate - truth) <= 0.35 * truth, (estimate, truth)
    assert coarse.between(None, None) is not None and coarse.between(ids[0], ids[3]) is None
    # Made anew once the index has moved ~1 in 50 away from it.
    assert coarse.fresh(3000) and coarse.fresh(3060) and not coarse.fresh(3100) and not coarse.fresh(2000)


def test_ranking_the_readable_matches_scores_them_as_ranking_with_the_scope_did(store):
    conn = store.conn
    scope = Scope(frozenset({"c1", "c3"}), frozenset())
    q = Query(conn, Match('{stitle sbody} : "lantern"'), scope)
    ids = q.walk(10_000)
    assert 0 < len(ids) < 3000 and ids == sorted(ids)
    scoped = conn.execute(
        f"SELECT rowid, {searching._BM25} AS s FROM fts WHERE fts MATCH ? ORDER BY s, rowid LIMIT 25",
        (q.expr,),
    ).fetchall()
    assert q.by_rank(ids, 25, 0) == [(r, -s) for r, s in scoped]
    assert q.by_rank(ids, 5, 20) == [(r, -s) for r, s in scoped[20:25]]
    # Only the candidates are ranked: the newest 50 readable matches.
    window = q.by_rank(ids[:50], 100, 0)
    assert sorted(r for r, _ in window) == ids[:50]
    assert q.by_rank([], 5, 0) == []
    chans = {c for _, _, c, _ in q.groups(ids)}
    assert chans == {"c1", "c3"} and len(q.groups(ids)) == len(ids)
