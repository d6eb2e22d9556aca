"""The Whoosh schema and the document type the indexer writes: one document per searchable thing
(message, post, comment, user, community), keyed by ``key`` = "<kind>:<id>".

Author, community and channel are stored as ids, never names, so a rename needs no reindex; the
query parser turns names into ids at search time.
"""

from __future__ import annotations

import re

import msgspec
from whoosh import fields
from whoosh.analysis import StandardAnalyzer, StemmingAnalyzer
from whoosh.lang.porter2 import stem as porter2

# Bumped when the schema or the document rules change: an index of another version is rebuilt.
SCHEMA_VERSION = 2  # 2: time indexed in 8-bit tiers, false booleans not indexed

CONTENT_KINDS = ("message", "post", "comment")
KINDS = (*CONTENT_KINDS, "user", "community")
META_KEY = "meta:index"

_LINK = re.compile(r"(?i)\b(?:https?://|www\.)\S")


def has_link(*texts: str | None) -> bool:
    return any(t and _LINK.search(t) for t in texts)


def make_schema() -> fields.Schema:
    # Porter2 (Snowball English): whoosh's default Porter leaves "planning" as "plann".
    stem = StemmingAnalyzer(stemfn=porter2)
    return fields.Schema(
        key=fields.ID(unique=True, stored=True),
        kind=fields.ID(stored=True, sortable=True),
        author=fields.ID(stored=True),
        community=fields.ID(stored=True, sortable=True),
        channel=fields.ID(stored=True, sortable=True),
        parent=fields.ID(stored=True),  # a comment's post
        # ms since epoch (signed: unsigned ranges are broken in Whoosh). Indexed in 8-bit tiers (8 terms
        # a document) rather than Whoosh's default 4 (16 terms, a third of all postings of a message);
        # a before:/after: range still needs at most a few thousand terms.
        time=fields.NUMERIC(bits=64, stored=True, sortable=True, shift_step=8),
        has_attachment=fields.BOOLEAN(stored=True),
        has_link=fields.BOOLEAN(stored=True),
        public=fields.BOOLEAN(),  # communities: listed for everyone
        title=fields.TEXT(analyzer=stem, stored=True, field_boost=2.0),
        body=fields.TEXT(analyzer=stem, stored=True),
        # The words as written (lower-cased, unstemmed): the vocabulary for "did you mean".
        spell=fields.TEXT(analyzer=StandardAnalyzer(stoplist=None, minsize=2), phrase=False),
        meta=fields.STORED(),  # only on the META_KEY document: the index's own bookkeeping
    )


class Doc(msgspec.Struct, kw_only=True, frozen=True):
    """A document as the source reads it from the database."""

    kind: str
    id: str
    author: str = ""
    community: str = ""
    channel: str = ""
    parent: str = ""
    time: int = 0
    has_attachment: bool = False
    has_link: bool = False
    public: bool = False
    title: str = ""
    body: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    def fields(self) -> dict[str, object]:
        out: dict[str, object] = {"key": self.key, "kind": self.kind, "time": max(0, self.time)}
        # Only true flags are indexed (queries ask for true only): a posting less per flag and document.
        for name in ("has_attachment", "has_link", "public"):
            if getattr(self, name):
                out[name] = True
        # Whoosh rejects empty ID values; a field left out simply has no term.
        for name in ("author", "community", "channel", "parent", "title", "body"):
            value = getattr(self, name)
            if value:
                out[name] = value
        if self.title or self.body:
            out["spell"] = f"{self.title} {self.body}"
        return out


class Meta(msgspec.Struct, kw_only=True):
    """The index's bookkeeping, stored in the index itself so it commits atomically with the
    documents: the last event position applied and whether a (re)build finished."""

    version: int = SCHEMA_VERSION
    offset: int = 0
    complete: bool = False
    built_at: int = 0  # unix seconds the last full build finished
    optimized_at: int = 0


def key_of(kind: str, id_: str) -> str:
    return f"{kind}:{id_}"
