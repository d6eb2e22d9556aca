"""The Whoosh schema and the document type the indexer writes: one document per searchable thing
(message, post, comment, user, community), keyed by ``key`` = "<kind>:<id>".

Author, community, channel and mentions are stored as ids, never names, so a rename needs no
reindex; the service turns names into ids at search time, and ids in snippets back into names.

Text is indexed twice: stemmed (``title``, ``body``: plain words, "reports" finds "reporting") and as
written (``words``: prefixes, wildcards and phrases, so ``connecti*`` finds "connection" and
``"we connect"`` does not find "we connected").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import msgspec
from whoosh import fields
from whoosh.analysis import Analyzer, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.lang.porter2 import stem as porter2

from cryb_node.mentions import MENTION

# Bumped when the schema or the document rules change: an index of another version is rebuilt.
# 2: time indexed in 8-bit tiers, false booleans not indexed. 3: the unstemmed ``words`` field
# (prefixes, phrases, "did you mean") replaces ``spell``; mentions, pinned, media kinds, embeds.
SCHEMA_VERSION = 3

CONTENT_KINDS = ("message", "post", "comment")
KINDS = (*CONTENT_KINDS, "user", "community")
META_KEY = "meta:index"

_LINK = re.compile(r"(?i)\b(?:https?://|www\.)\S")


# Mention tokens as the content plugin writes them: <@user>, <@&role>, and Discord's <#channel>.
USER_MENTION = re.compile(r"<@([0-9a-z]{26})>")
# Between a title and a body in ``words``: positions jump here, so no phrase spans the two.
SEPARATOR = "\x1e"
_GAP = 100


def has_link(*texts: str | None) -> bool:
    return any(t and _LINK.search(t) for t in texts)


class WordTokenizer(RegexTokenizer):
    """Whoosh's word tokenizer, minus mention tokens (ids, not words: snippets show them as names,
    ``mentions:`` finds them), with a jump in positions at SEPARATOR."""

    def __call__(  # type: ignore[override]
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        **kw: Any,
    ) -> Iterator[Any]:
        if not tokenize:
            yield from super().__call__(value, positions, chars, start_pos=start_pos,
                                        start_char=start_char, tokenize=False, **kw)  # fmt: skip
            return
        value = MENTION.sub(lambda m: " " * len(m.group(0)), value)  # same length: offsets hold
        pos, offset = start_pos, start_char
        for part in value.split(SEPARATOR):
            n = 0
            for t in super().__call__(part, positions, chars, start_pos=pos, start_char=offset, **kw):
                n += 1
                yield t
            pos, offset = pos + n + _GAP, offset + len(part) + len(SEPARATOR)


def stemming_analyzer() -> Analyzer:
    """Plain words: lower-cased, stop words out, Porter2 stems (Snowball English: whoosh's default
    Porter leaves "planning" as "plann")."""
    return WordTokenizer() | LowercaseFilter() | StopFilter() | StemFilter(stemfn=porter2)


def exact_analyzer() -> Analyzer:
    """Words as written: lower-cased, every word kept (a phrase's "the" and "a" count)."""
    return WordTokenizer() | LowercaseFilter()


STEM = stemming_analyzer()
EXACT = exact_analyzer()


def analyse(analyzer: Analyzer, text: str) -> list[str]:
    return [t.text for t in analyzer(text, mode="query")]


def make_schema() -> fields.Schema:
    stem = stemming_analyzer()
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
        has_image=fields.BOOLEAN(),
        has_video=fields.BOOLEAN(),
        has_audio=fields.BOOLEAN(),
        has_embed=fields.BOOLEAN(),  # a link post: the node makes no link previews, so its URL is its embed
        pinned=fields.BOOLEAN(),  # a pinned message, a sticky post
        mentions=fields.KEYWORD(),  # ids of the users a message, post or comment mentions
        public=fields.BOOLEAN(),  # communities: listed for everyone
        # Stemmed, for plain words only: no positions (phrases use ``words``).
        title=fields.TEXT(analyzer=stem, stored=True, field_boost=2.0, phrase=False),
        body=fields.TEXT(analyzer=stem, stored=True, phrase=False),
        # Title and body as written, with positions: prefixes, wildcards, phrases, "did you mean".
        words=fields.TEXT(analyzer=exact_analyzer()),
        meta=fields.STORED(),  # only on the META_KEY document: the index's own bookkeeping
    )


FLAGS = ("has_attachment", "has_link", "has_image", "has_video", "has_audio", "has_embed", "pinned", "public")


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
    has_image: bool = False
    has_video: bool = False
    has_audio: bool = False
    has_embed: bool = False
    pinned: bool = False
    mentions: tuple[str, ...] = ()
    public: bool = False
    title: str = ""
    body: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    def fields(self) -> dict[str, object]:
        out: dict[str, object] = {"key": self.key, "kind": self.kind, "time": max(0, self.time)}
        # Only true flags are indexed (queries ask for true only): a posting less per flag and document.
        for name in FLAGS:
            if getattr(self, name):
                out[name] = True
        # Whoosh rejects empty ID values; a field left out simply has no term.
        for name in ("author", "community", "channel", "parent", "title", "body"):
            value = getattr(self, name)
            if value:
                out[name] = value
        if self.mentions:
            out["mentions"] = " ".join(self.mentions)
        if self.title or self.body:
            out["words"] = f"{self.title}{SEPARATOR}{self.body}"
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
