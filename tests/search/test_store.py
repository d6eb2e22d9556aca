"""The index file (store.py) and the date tokens (build.py): documents of the same millisecond whose
preferred rowids clash both get in, by key, on the bulk path and the per-document path; dates inside
OR and NOT become the fewest year, month and day tokens."""

from __future__ import annotations

import datetime as dt

import pytest
from cryb_plugins.search.build import date_tags
from cryb_plugins.search.documents import ROWID_SPAN, Doc, rowid_of_time
from cryb_plugins.search.store import Store


def _ms(*ymd: int) -> int:
    return int(dt.datetime(*ymd, tzinfo=dt.UTC).timestamp() * 1000)


@pytest.mark.parametrize("fresh", [True, False])
def test_documents_whose_rowids_clash_are_both_indexed(tmp_path, monkeypatch, fresh):
    at = _ms(2024, 5, 1)
    base = rowid_of_time(at)
    monkeypatch.setattr(Doc, "rowid", lambda self: base | 7)  # every document wants the same rowid
    store = Store.create(tmp_path)
    docs = [Doc(kind="message", id=f"m{i}", channel="c1", time=at, body=f"lantern {i}") for i in range(3)]
    store.conn.execute("BEGIN")
    assert store.put(docs, fresh=fresh) == 3
    store.conn.execute("COMMIT")
    rows = store.conn.execute("SELECT id, key FROM docs ORDER BY key").fetchall()
    assert [k for _, k in rows] == ["message:m0", "message:m1", "message:m2"]
    assert all(base <= r < base + ROWID_SPAN for r, _ in rows) and len({r for r, _ in rows}) == 3
    found = store.conn.execute("SELECT count(*) FROM fts WHERE fts MATCH 'sbody : lantern'").fetchone()
    assert found[0] == 3 and store.count == 3
    # Replacing one by key keeps one document per key.
    store.write([Doc(kind="message", id="m1", channel="c1", time=at, body="quince")], [], [], None)
    assert store.documents() == 3 and store.count == 3


def test_newer_documents_have_lower_rowids():
    assert rowid_of_time(_ms(2025, 1, 1)) < rowid_of_time(_ms(2024, 1, 1)) < rowid_of_time(0)


@pytest.mark.parametrize(
    ("lo", "hi", "want"),
    [
        ((2024, 1, 1), (2024, 12, 31, 23), ["y2024"]),
        ((2024, 5, 1), (2024, 5, 31, 12), ["m202405"]),
        ((2024, 5, 30), (2024, 7, 2), ["d20240530", "d20240531", "m202406", "d20240701", "d20240702"]),
        ((2023, 12, 31), (2025, 1, 1), ["d20231231", "y2024", "d20250101"]),
    ],
)
def test_a_date_range_is_the_fewest_tokens_covering_its_days(lo, hi, want):
    assert date_tags(_ms(*lo), _ms(*hi)) == want
