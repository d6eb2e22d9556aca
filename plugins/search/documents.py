"""What the index holds: one document per searchable thing (message, post, comment, user, community),
keyed by ``key`` = "<kind>:<id>", in an SQLite file of its own (store.py) with one FTS5 table.

Author, community, channel and mentions are stored as ids, never names, so a rename needs no
reindex; the service turns names into ids at search time, and ids in snippets back into names.

The FTS5 table has five columns, all read by FTS5's unicode61 tokenizer (lower-cased, diacritics
removed):

- ``stitle``, ``sbody``: Porter2 stems of the plain words, stop words left out, computed here in
  Python (porter2.py, the stemmer the Whoosh index used), so "reports" finds "reporting";
- ``wtitle``, ``wbody``: the words as written, with positions: prefixes, wildcards and phrases, so
  ``connecti*`` finds "connection" and ``"we connect"`` does not find "we connected"; title and body
  are apart, so no phrase runs from one into the other;
- ``tags``: the operators as synthetic tokens (``kmessage``, ``a<author>``, ``c<channel>``,
  ``fhaslink``, ``d20240501``...), so an operator is a leaf of the MATCH expression like a word and
  AND/OR/NOT/parentheses compose them natively.

A document's rowid is its time, reversed: ``(TIME_MAX - time) << 20`` plus a small number making it
unique, so newest first is ``ORDER BY rowid`` (FTS5 walks its postings forwards, lazily, and stops
after the page; backwards it reads each term's whole doclist first: twice the time at 1M documents
with a reader's scope in the expression) and a date range is a rowid range.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zlib
from functools import lru_cache

import msgspec

from cryb_node.mentions import MENTION

from .porter2 import stem as _porter2

# Bumped when the index's layout or the document rules change: an index of another version is
# rebuilt. 2: time in 8-bit tiers. 3: the unstemmed ``words`` field, mentions, pinned, media kinds,
# embeds. 4: SQLite FTS5 replaces Whoosh. 5: rowids in reverse time order. 6: and within a
# millisecond in reverse HLC order.
SCHEMA_VERSION = 6

CONTENT_KINDS = ("message", "post", "comment")
KINDS = (*CONTENT_KINDS, "user", "community")

ROWID_SHIFT = 20  # rowid = (TIME_MAX - time_ms) << 20 | n: 2^20 documents per millisecond
ROWID_SPAN = 1 << ROWID_SHIFT
TIME_MAX = (1 << 42) - 1  # ms: the year 2109


def rowid_of_time(ms: int) -> int:
    """The smallest rowid of a millisecond (newer times have smaller rowids)."""
    return (TIME_MAX - min(TIME_MAX, max(0, ms))) << ROWID_SHIFT


_LINK = re.compile(r"(?i)\b(?:https?://|www\.)\S")
# Mention tokens as the content plugin writes them: <@user>, <@&role>, and Discord's <#channel>.
USER_MENTION = re.compile(r"<@([0-9a-z]{26})>")
# A word as FTS5's unicode61 tokenizer reads one: letters and digits (underscore separates).
WORD = re.compile(r"[^\W_]+")

# Whoosh's English stop list (the index left these out of plain words before; phrases keep them).
_STOP = "a an and are as at be by can for from have if in is it may not of on or tbd that the this to us"
STOP_WORDS = frozenset(f"{_STOP} we when will with yet you your".split(" "))

FLAGS = ("has_attachment", "has_link", "has_image", "has_video", "has_audio", "has_embed", "pinned", "public")

COLUMNS = ("stitle", "sbody", "wtitle", "wbody", "tags")
# bm25 weights by column: a title counts twice; the tags (operators) never change a rank.
WEIGHTS = (2.0, 1.0, 2.0, 1.0, 0.0)

DDL = f"""
CREATE TABLE IF NOT EXISTS docs (
    id        INTEGER PRIMARY KEY,  -- (TIME_MAX - time) << {ROWID_SHIFT} | n: FTS rowid, newest lowest
    key       TEXT NOT NULL UNIQUE, -- <kind>:<id>
    kind      TEXT NOT NULL,
    author    TEXT NOT NULL,
    community TEXT NOT NULL,
    channel   TEXT NOT NULL,
    parent    TEXT NOT NULL,
    time      INTEGER NOT NULL,
    flags     INTEGER NOT NULL,     -- bit i: FLAGS[i]
    title     TEXT NOT NULL,
    body      TEXT NOT NULL
);
-- An erasure removes every document of its author.
CREATE INDEX IF NOT EXISTS docs_author ON docs (author);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    {", ".join(COLUMNS)}, tokenize = 'unicode61 remove_diacritics 2', content = '',
    contentless_delete = 1
);
CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 1), value BLOB NOT NULL);
"""


def has_link(*texts: str | None) -> bool:
    return any(t and _LINK.search(t) for t in texts)


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """A word as the index compares it: lower-cased, diacritics removed (unicode61's rule)."""
    word = word.lower()
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


_STEMS: dict[str, str] = {}


def stem(word: str) -> str:
    # A plain dict: the bulk build stems every word of every document (an lru_cache's call costs more).
    found = _STEMS.get(word)
    if found is None:
        if len(_STEMS) > 500_000:
            _STEMS.clear()
        found = _STEMS[word] = _porter2(word)
    return found


def words(text: str) -> list[str]:
    """The words of a text as written (folded), mention tokens left out: they are ids, not words
    (snippets show them as names, ``mentions:`` finds them)."""
    if "<" in text:
        text = MENTION.sub(" ", text)
    low = text.lower()
    found = WORD.findall(low)
    return found if low.isascii() else [fold(w) for w in found]


def stems_of(ws: list[str]) -> list[str]:
    """Plain words: stop words and one-letter words out, Porter2 stems."""
    return [stem(w) for w in ws if len(w) > 1 and w not in STOP_WORDS]


def stems(text: str) -> list[str]:
    return stems_of(words(text))


def tag_id(prefix: str, value: str) -> str:
    """An id as one token: ids are lower-case letters and digits; anything else is hex-encoded."""
    if value.isascii() and value.isalnum():
        return prefix + value.lower()
    return prefix + "x" + value.encode().hex()


def time_tags(ms: int) -> str:
    return _day_tags(max(0, ms) // 86_400_000)


@lru_cache(maxsize=4096)
def _day_tags(day: int) -> str:
    d = dt.datetime.fromtimestamp(day * 86_400, tz=dt.UTC)
    return f"y{d:%Y} m{d:%Y%m} d{d:%Y%m%d}"


def flag_tag(name: str) -> str:
    return "f" + name.replace("_", "")


class Doc(msgspec.Struct, kw_only=True, frozen=True):
    """A document as the source reads it from the database."""

    kind: str
    id: str
    author: str = ""
    community: str = ""
    channel: str = ""
    parent: str = ""
    time: int = 0  # ms (the HLC's wall time)
    seq: int = 0  # the HLC's counter within that millisecond (orders documents made in one ms)
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

    @property
    def flags(self) -> int:
        return sum(1 << i for i, name in enumerate(FLAGS) if getattr(self, name))

    def tags(self) -> str:
        out = ["any", f"k{self.kind}", time_tags(self.time)]
        if self.author:
            out.append(tag_id("a", self.author))
        if self.community:
            out.append(tag_id("g", self.community))
        if self.channel:
            out.append(tag_id("c", self.channel))
        out += [tag_id("m", m) for m in self.mentions]
        out += [flag_tag(name) for name in FLAGS if getattr(self, name)]
        return " ".join(out)

    def columns(self) -> tuple[str, str, str, str, str]:
        """The FTS5 row: stemmed title and body, the words as written, the tags."""
        title, body = words(self.title), words(self.body)
        return (
            " ".join(stems_of(title)),
            " ".join(stems_of(body)),
            " ".join(title),
            " ".join(body),
            self.tags(),
        )

    def row(self) -> tuple[object, ...]:
        """The docs row after its id: key, kind, author, community, channel, parent, time, flags,
        title, body."""
        return (self.key, self.kind, self.author, self.community, self.channel, self.parent,
                max(0, self.time), self.flags, self.title, self.body)  # fmt: skip

    def rowid(self) -> int:
        """The preferred rowid (store.py moves it up on a collision)."""
        # Within a millisecond the newer (a higher HLC counter) comes first as well; the last bits
        # tell apart the documents of one HLC (a community's docs have none).
        low = (0xFFFF - (self.seq & 0xFFFF)) << 4 | (zlib.crc32(self.key.encode()) & 15)
        return rowid_of_time(self.time) | low


class Meta(msgspec.Struct, kw_only=True):
    """The index's bookkeeping, stored in the index file so it commits atomically with the
    documents: the last event position applied and whether a (re)build finished."""

    version: int = SCHEMA_VERSION
    offset: int = 0
    complete: bool = False
    built_at: int = 0  # unix seconds the last full build finished
    optimized_at: int = 0


def key_of(kind: str, id_: str) -> str:
    return f"{kind}:{id_}"
