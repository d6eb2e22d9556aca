"""Fixes to Whoosh-Reloaded 2.7 that the search plugin depends on for speed, applied on import.

W3PerDocReader._cached_reader caches a field's length column only when it exists: for fields without
one (every ID and BOOLEAN field) it asks the file system again for each posting. Flushing a segment
and merging segments look up a length for every posting, so one commit of 1,000 messages made
~100,000 stat() calls and a full merge of 100k documents millions (profile: 40% of indexing time in
os.path.exists). Caching the miss is safe: a segment's files never change once written.
"""

from __future__ import annotations

from typing import Any

from whoosh.codec import whoosh3

# A later Whoosh without this method (or with it fixed) is left alone: the fix is for speed only.
_orig = getattr(whoosh3.W3PerDocReader, "_cached_reader", None)


def _cached_reader(self: Any, fieldname: str, column: Any) -> Any:
    try:
        return self._readers[fieldname]
    except KeyError:
        pass
    assert _orig is not None
    reader = _orig(self, fieldname, column)
    self._readers[fieldname] = reader  # None too: the column does not exist in this segment
    return reader


if _orig is not None and not getattr(_orig, "_cryb_fixed", False):
    _cached_reader._cryb_fixed = True  # type: ignore[attr-defined]
    whoosh3.W3PerDocReader._cached_reader = _cached_reader  # type: ignore[method-assign]
