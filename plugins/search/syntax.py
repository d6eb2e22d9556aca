"""The search box language, parsed into a tree: words, "phrases", prefix* and wild?ards, operators
(``from:alice in:#general community:"Book club" mentions:bob has:link|file|image|video|audio|embed
pinned:true is:post before:/after:/during:2024-05-01``), combined with AND (or a space), OR, NOT and
parentheses. Every operator is a leaf like a word, so ``word NOT has:link``, ``NOT in:#c`` and
``word (from:u OR in:#c)`` mean what they say.

Precedence, tightest first: NOT (the one item after it), OR, AND. So ``from:alice cats OR dogs`` is
alice's messages about cats or dogs; parentheses group anything else.

Parsing never touches the database; the service turns names into ids (build.py then makes the
FTS5 MATCH expression). Anything malformed raises a ``Problem`` (400, field ``q``) a person can act on.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Union

from cryb_node.problems import Problem

HAS = {
    "link": "has_link",
    "file": "has_attachment",
    "attachment": "has_attachment",
    "image": "has_image",
    "video": "has_video",
    "audio": "has_audio",
    "sound": "has_audio",
    "embed": "has_embed",
}
IS = ("post", "message", "comment", "user", "community")
OPERATORS = ("from", "in", "community", "mentions", "has", "is", "pinned", "before", "after", "during")
# Operators only messages, posts and comments carry: with one of them (and no is:) a query finds only
# those, so NOT in:#c means "content elsewhere", not also every person and community.
CONTENT_ONLY = {"from", "in", "mentions", "has", "pinned"}
KEYWORDS = ("AND", "OR", "NOT")
MAX_TERMS = 32

_OP = re.compile(r"^([A-Za-z]+):(.*)$", re.S)
_WILD = re.compile(r"^\w{2,}[\w*?]*$")


def bad(detail: str) -> Problem:
    return Problem("invalid_query", 400, detail, field="q")


# -- the tree ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    text: str
    start: int  # where it is in the query ("did you mean" rewrites it in place)
    end: int


@dataclass(frozen=True)
class Phrase:
    text: str


@dataclass(frozen=True)
class Wild:
    text: str  # lower-cased, with * and ?


@dataclass(frozen=True)
class Op:
    name: str
    value: str  # normalised: a name without @ or #, a field name for has:, a kind for is:
    n: int  # its number in Parsed.ops: the service resolves each once
    lo: int | None = None  # dates: ms, inclusive
    hi: int | None = None


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Union[Word, Phrase, Wild, Op, And, Or, Not]  # noqa: UP007 (a runtime alias)


@dataclass
class Parsed:
    q: str  # the query as given, stripped
    tree: Node | None  # None: nothing to search for ('""', "()")
    ops: list[Op] = field(default_factory=list)

    def leaves(self, node: Node | None = None, negated: bool = False) -> Iterator[tuple[Node, bool]]:
        """Every leaf with whether it sits under an odd number of NOTs."""
        node = self.tree if node is None else node
        if isinstance(node, (And, Or)):
            for item in node.items:
                yield from self.leaves(item, negated)
        elif isinstance(node, Not):
            yield from self.leaves(node.item, not negated)
        elif node is not None:
            yield node, negated

    @property
    def words(self) -> list[Word]:
        """Plain words searched for (not negated): the ones "did you mean" may correct."""
        return [w for w, neg in self.leaves() if isinstance(w, Word) and not neg]

    @property
    def has_text(self) -> bool:
        """Whether any word, phrase or wildcard is searched for: if not, relevance means nothing."""
        return any(isinstance(w, (Word, Phrase, Wild)) and not neg for w, neg in self.leaves())

    @property
    def content_only(self) -> bool:
        names = {op.name for op in self.ops}
        return bool(names & CONTENT_ONLY) and "is" not in names


# -- dates ---------------------------------------------------------------------------------------


def _day(name: str, value: str) -> tuple[dt.datetime, dt.datetime | None]:
    """The moment a date names, and for a whole year, month or day the moment it ends."""
    try:
        if re.fullmatch(r"\d{4}", value):
            start = dt.datetime(int(value), 1, 1, tzinfo=dt.UTC)
            return start, start.replace(year=start.year + 1)
        if re.fullmatch(r"\d{4}-\d{2}", value):
            start = dt.datetime.strptime(value, "%Y-%m").replace(tzinfo=dt.UTC)
            return start, (start + dt.timedelta(days=32)).replace(day=1)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            start = dt.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=dt.UTC)
            return start, start + dt.timedelta(days=1)
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad(f"{name}: takes a date like 2024-05-01 (or an ISO 8601 time), not {value!r}") from None
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)), None


def _ms(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000)


def _dates(name: str, value: str) -> tuple[int | None, int | None]:
    start, end = _day(name, value)
    if name == "before":  # strictly before the day (or the moment)
        return None, _ms(start) - 1
    if name == "after":  # after:2024-05-01 means from the next day on; a full time, strictly after it
        return (_ms(end) if end is not None else _ms(start) + 1), None
    if end is None:
        raise bad(f"during: takes a day, month or year like 2024-05-01, 2024-05 or 2024, not {value!r}")
    return _ms(start), _ms(end) - 1


# -- tokens --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    kind: str  # ( ) phrase word op kw
    text: str
    start: int = 0
    end: int = 0


def _tokens(q: str) -> list[_Tok]:
    """Parentheses, "phrases", and whitespace-separated words and operators (a quoted value keeps
    its spaces: in:"book club"). A ( inside a word is part of it, and so is its ), e.g. a URL."""
    out: list[_Tok] = []
    i, n = 0, len(q)
    while i < n:
        ch = q[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append(_Tok(ch, ch, i, i + 1))
            i += 1
        elif ch == '"':
            close = q.find('"', i + 1)
            if close < 0:
                raise bad('unbalanced quote: a phrase needs a closing "')
            out.append(_Tok("phrase", q[i + 1 : close], i, close + 1))
            i = close + 1
        else:
            j, depth = i, 0
            while j < n and not q[j].isspace():
                if q[j] == '"':
                    close = q.find('"', j + 1)
                    if close < 0:
                        raise bad('unbalanced quote: a phrase needs a closing "')
                    j = close
                elif q[j] == "(":
                    depth += 1
                elif q[j] == ")":
                    if depth == 0:
                        break
                    depth -= 1
                j += 1
            text = q[i:j]
            kind = "kw" if text in KEYWORDS else "op" if _is_op(text) else "word"
            out.append(_Tok(kind, text, i, j))
            i = j
    return out


def _is_op(text: str) -> bool:
    m = _OP.match(text)
    return m is not None and not m.group(2).startswith("//")  # a URL is text, not an operator


def _wildcard(text: str) -> bool:
    """* anywhere, ? inside a word; a ? at the end is a question mark ("ready?"), a URL is a URL."""
    if "://" in text:
        return False
    return "*" in text or "?" in text.rstrip("?")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].strip()
    return value


# -- the parser ----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, q: str) -> None:
        self.toks = _tokens(q)
        self.i = 0
        self.ops: list[Op] = []
        self.leaves = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def at(self, kind: str, text: str | None = None) -> bool:
        t = self.peek()
        return t is not None and t.kind == kind and (text is None or t.text == text)

    def operand_follows(self) -> bool:
        t = self.peek()
        return t is not None and t.kind != ")" and not (t.kind == "kw" and t.text in ("AND", "OR"))

    def conjunction(self) -> list[Node | None]:
        items: list[Node | None] = []
        while self.peek() is not None and not self.at(")"):
            if self.at("kw", "AND"):
                self.i += 1
                if not items or not self.operand_follows():
                    raise bad("AND needs something on both sides")
                continue
            items.append(self.disjunction())
        return items

    def disjunction(self) -> Node | None:
        if self.at("kw", "OR"):
            raise bad("OR needs something on both sides")
        items = [self.negation()]
        while self.at("kw", "OR"):
            self.i += 1
            if not self.operand_follows():
                raise bad("OR needs something on both sides")
            items.append(self.negation())
        return _or(items)

    def negation(self) -> Node | None:
        if self.at("kw", "NOT"):
            self.i += 1
            if not self.operand_follows():
                raise bad("NOT needs a word or an operator after it")
            inner = self.negation()
            return Not(inner) if inner is not None else None
        return self.primary()

    def primary(self) -> Node | None:
        t = self.peek()
        assert t is not None
        self.i += 1
        if t.kind == "(":
            items = self.conjunction()
            if not self.at(")"):
                raise bad("unbalanced parentheses: a ( is not closed")
            self.i += 1
            return _and(items)
        if t.kind == ")":
            raise bad("unbalanced parentheses: a ) has no (")
        self.leaves += 1
        if self.leaves > MAX_TERMS:
            raise bad(f"the query has more than {MAX_TERMS} terms")
        if t.kind == "phrase":
            return Phrase(t.text) if t.text.strip() else None
        if t.kind == "op":
            return self.operator(t.text)
        if _wildcard(t.text):
            if not _WILD.match(t.text):
                raise bad(f"{t.text!r}: a wildcard needs at least two letters before it, in one word")
            return Wild(t.text.lower())
        return Word(t.text, t.start, t.end)

    def operator(self, text: str) -> Node:
        m = _OP.match(text)
        assert m is not None
        name, value = m.group(1).lower(), _unquote(m.group(2))
        if name not in OPERATORS:
            raise bad(f"unknown operator {m.group(1)}: (use {' '.join(o + ':' for o in OPERATORS)})")
        if not value:
            raise bad(f"{name}: needs a value")
        lo = hi = None
        negate = False
        if name in ("from", "mentions"):
            value = value.removeprefix("@")
        elif name == "in":
            value = value.removeprefix("#")
        elif name == "has":
            if value.lower() not in HAS:
                raise bad(f"has: takes one of {', '.join(HAS)}, not {value!r}")
            value = HAS[value.lower()]
        elif name == "is":
            if value.lower() not in IS:
                raise bad(f"is: takes one of {', '.join(IS)}, not {value!r}")
            value = value.lower()
        elif name == "pinned":
            if value.lower() not in ("true", "false", "yes", "no"):
                raise bad(f"pinned: takes true or false, not {value!r}")
            negate, value = value.lower() in ("false", "no"), "true"
        elif name in ("before", "after", "during"):
            lo, hi = _dates(name, value)
        op = Op(name, value, len(self.ops), lo, hi)
        self.ops.append(op)
        return Not(op) if negate else op


def _and(items: list[Node | None]) -> Node | None:
    kept = tuple(i for i in items if i is not None)
    return kept[0] if len(kept) == 1 else And(kept) if kept else None


def _or(items: list[Node | None]) -> Node | None:
    kept = tuple(i for i in items if i is not None)
    return kept[0] if len(kept) == 1 else Or(kept) if kept else None


def parse(q: str, max_length: int = 256) -> Parsed:
    q = q.strip()
    if not q:
        raise bad("the query is empty")
    if len(q) > max_length:
        raise bad(f"the query is longer than {max_length} characters")
    p = _Parser(q)
    items = p.conjunction()
    if p.peek() is not None:  # stopped at a ) with no (
        raise bad("unbalanced parentheses: a ) has no (")
    parsed = Parsed(q, _and(items), p.ops)
    _check_dates(parsed)
    return parsed


def _check_dates(parsed: Parsed) -> None:
    """Mistakes in the dates all results must meet (the top level's before: and after:)."""
    tree = parsed.tree
    top = tree.items if isinstance(tree, And) else (tree,)
    ops = [op for op in top if isinstance(op, Op)]
    for name in ("before", "after"):
        if sum(op.name == name for op in ops) > 1:
            raise bad(f"{name}: can be given once")
    lo = max((op.lo for op in ops if op.lo is not None), default=None)
    hi = min((op.hi for op in ops if op.hi is not None), default=None)
    if lo is not None and hi is not None and lo > hi:
        raise bad("after: must be earlier than before:")
