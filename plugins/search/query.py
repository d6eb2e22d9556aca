"""The search box language: operators (``from:alice in:#general community:"Book club" before:2024-05-01
after:2024-04-01 has:link has:file is:post``) plus free text with "phrases", prefix* and AND/OR/NOT.

Parsing never touches the database; names are turned into ids by the service. Anything malformed
raises a ``Problem`` (400, field ``q``) with a message a person can act on.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from whoosh import qparser
from whoosh import query as wq
from whoosh.qparser import MultifieldParser

from cryb_node.problems import Problem

from .schema import KINDS

HAS = {"link": "has_link", "file": "has_attachment", "attachment": "has_attachment"}
IS = {"post": "post", "message": "message", "comment": "comment", "user": "user", "community": "community"}
OPERATORS = ("from", "in", "community", "before", "after", "has", "is")
MAX_TERMS = 32

_OP = re.compile(r"^([A-Za-z]+):(.*)$", re.S)
_WORD_WILDCARD = re.compile(r"[^\s\"()]*[*?][^\s\"()]*")


def bad(detail: str) -> Problem:
    return Problem("invalid_query", 400, detail, field="q")


@dataclass
class Parsed:
    text: str = ""  # the free-text part, for the Whoosh parser
    words: list[str] = field(default_factory=list)  # plain words of the text (spelling suggestions)
    authors: list[str] = field(default_factory=list)  # from: usernames
    channels: list[str] = field(default_factory=list)  # in: channel names (no '#')
    communities: list[str] = field(default_factory=list)
    before: int | None = None  # ms: created strictly before
    after: int | None = None  # ms: created at or after
    has: set[str] = field(default_factory=set)  # index field names (has_link, has_attachment)
    kinds: set[str] = field(default_factory=set)


def _tokens(q: str) -> list[str]:
    """Split on whitespace, keeping "quoted parts" (also inside a token: in:"book club") together."""
    out: list[str] = []
    i, n = 0, len(q)
    while i < n:
        if q[i].isspace():
            i += 1
            continue
        j = i
        while j < n and not q[j].isspace():
            if q[j] == '"':
                close = q.find('"', j + 1)
                if close < 0:
                    raise bad('unbalanced quote: a phrase needs a closing "')
                j = close
            j += 1
        out.append(q[i:j])
        i = j
    return out


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].strip()
    return value


def _date(name: str, value: str) -> dt.datetime:
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return dt.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=dt.UTC)
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad(f"{name}: takes a date like 2024-05-01 (or an ISO 8601 time), not {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _ms(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000)


def parse(q: str, max_length: int = 256) -> Parsed:
    q = q.strip()
    if not q:
        raise bad("the query is empty")
    if len(q) > max_length:
        raise bad(f"the query is longer than {max_length} characters")
    p = Parsed()
    text: list[str] = []
    for tok in _tokens(q):
        m = _OP.match(tok)
        if m is None or m.group(2).startswith("//"):  # a URL is text, not an operator
            text.append(tok)
            continue
        name, value = m.group(1).lower(), _unquote(m.group(2))
        if name not in OPERATORS:
            raise bad(f"unknown operator {m.group(1)}: (use from: in: community: before: after: has: is:)")
        if not value:
            raise bad(f"{name}: needs a value")
        if name == "from":
            p.authors.append(value.removeprefix("@"))
        elif name == "in":
            p.channels.append(value.removeprefix("#"))
        elif name == "community":
            p.communities.append(value)
        elif name == "before":
            if p.before is not None:
                raise bad("before: can be given once")
            p.before = _ms(_date(name, value))
        elif name == "after":
            if p.after is not None:
                raise bad("after: can be given once")
            when = _date(name, value)
            # after:2024-05-01 means from the next day on; a full time means strictly after it.
            p.after = _ms(when + dt.timedelta(days=1)) if len(value) == 10 else _ms(when) + 1
        elif name == "has":
            if value.lower() not in HAS:
                raise bad(f"has: takes one of {', '.join(HAS)}, not {value!r}")
            p.has.add(HAS[value.lower()])
        elif name == "is":
            if value.lower() not in IS:
                raise bad(f"is: takes one of {', '.join(IS)}, not {value!r}")
            p.kinds.add(IS[value.lower()])
    if p.before is not None and p.after is not None and p.after >= p.before:
        raise bad("after: must be earlier than before:")
    p.text = " ".join(text)
    _check_text(p.text)
    p.words = [w.lower() for w in re.findall(r"[^\W\d_]{2,}", re.sub(r"\b(AND|OR|NOT)\b", " ", p.text))]
    return p


def _check_text(text: str) -> None:
    depth = 0
    for ch in re.sub(r'"[^"]*"', "", text):
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            raise bad("unbalanced parentheses: a ) has no (")
    if depth:
        raise bad("unbalanced parentheses: a ( is not closed")
    for word in _WORD_WILDCARD.findall(text):
        stem = re.split(r"[*?]", word, maxsplit=1)[0]
        if len(stem) < 2:
            raise bad(f"{word!r}: a wildcard needs at least two letters before it")


def text_parser(schema: object) -> MultifieldParser:
    """Free text over title and body: AND by default, phrases, prefix*, AND/OR/NOT, (groups).
    Field queries (x:y), ranges and boosts are off: operators are ours, not Whoosh's."""
    parser = MultifieldParser(["title", "body"], schema, group=qparser.AndGroup)
    for plugin in (qparser.FieldsPlugin, qparser.RangePlugin, qparser.BoostPlugin):
        parser.remove_plugin_class(plugin)
    return parser


def text_query(parser: MultifieldParser, text: str) -> wq.Query | None:
    """The Whoosh query for the free text (None: there is none, every document matches)."""
    if not text.strip():
        return None
    try:
        q = parser.parse(text)
    except Exception as err:  # the parser is lenient; anything it still refuses is the user's input
        raise bad(f"cannot parse the query: {err}") from None
    if sum(1 for _ in q.leaves()) > MAX_TERMS:
        raise bad(f"the query has more than {MAX_TERMS} terms")
    return q


def kinds_known(kinds: set[str]) -> bool:
    return kinds <= set(KINDS)
