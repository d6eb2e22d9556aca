"""The Whoosh fix the indexing speed depends on: a segment remembers that a field has no length column
instead of asking the file system again for every posting (see plugins/search/whoosh_fixes.py)."""

from __future__ import annotations

from pathlib import Path

from cryb_plugins.search import whoosh_fixes  # noqa: F401 (applies the fix)
from cryb_plugins.search.schema import Doc, make_schema
from whoosh import index as windex


def test_a_missing_length_column_is_looked_up_once_per_segment(tmp_path: Path):
    ix = windex.create_in(str(tmp_path), make_schema())
    w = ix.writer()
    for i in range(3):
        w.add_document(**Doc(kind="message", id=f"m{i}", channel="c", body=f"word {i}").fields())
    w.commit()
    with ix.searcher() as s:
        (reader, _), *_ = s.reader().leaf_readers()
        perdoc = reader._perdoc
        storage = perdoc._storage
        asked: list[str] = []
        real = storage.file_exists

        def counting(name: str) -> bool:
            asked.append(name)
            return real(name)

        storage.file_exists = counting
        try:
            for docnum in range(3):
                assert perdoc.doc_field_length(docnum, "key") == 0  # an ID field: no lengths
                assert perdoc.doc_field_length(docnum, "body") >= 1
        finally:
            del storage.file_exists
        assert len(asked) == 2  # once for "key" (absent), once for "body" (present), not per call
