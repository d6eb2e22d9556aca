"""A parsed query (syntax.py) as an FTS5 MATCH expression over the index's columns (documents.py): plain
words on the stems (``stitle``, ``sbody``), phrases, prefixes and wildcards on the words as written
(``wtitle``, ``wbody``), operators on the synthetic tokens (``tags``), which carry no weight in the
ranking (who wrote a message, or where, must not change how well it matches).

Building knows three outcomes for a part of the tree: an expression, None (no constraint: a stop
word, an empty phrase) and NOTHING (an operator that names nobody this user can see: no document
matches). FTS5's NOT is binary ("a NOT b"), so a negation is carried up as ``Neg`` until an AND can
subtract it, or, inside an OR or alone, is subtracted from every document (the ``any`` tag).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .documents import CONTENT_KINDS, fold, stems, words
from .syntax import And, Node, Not, Op, Or, Parsed, Phrase, Wild, Word


class _Nothing:
    def __repr__(self) -> str:
        return "NOTHING"


NOTHING = _Nothing()


@dataclass(frozen=True)
class Neg:
    """Documents NOT matching ``expr`` (to be subtracted by an enclosing AND)."""

    expr: str


Built = str | Neg | None | _Nothing
# A wildcard's words as written in the index (at most a few hundred): the searcher's vocabulary.
Expand = Callable[[str], list[str]]

STEMS = "{stitle sbody}"
WORDS = "{wtitle wbody}"
ANY = "tags : any"  # every document has it


def quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def tags(values: list[str]) -> str | None:
    """Tokens of the ``tags`` column, any of them (None: none given)."""
    if not values:
        return None
    return "tags : " + (values[0] if len(values) == 1 else "(" + " OR ".join(sorted(set(values))) + ")")


def _phrase(ws: list[str]) -> str | None:
    return f"{WORDS} : {quote(' '.join(ws))}" if ws else None


def _word(text: str) -> str | None:
    st = stems(text)
    if not st:
        return None  # a stop word (or no word at all)
    if len(st) == 1:
        return f"{STEMS} : {quote(st[0])}"
    # Several words in one (a URL, "e-mail"): they must stand together, as written.
    return _phrase(words(text))


def _wild(text: str, expand: Expand | None) -> str | _Nothing:
    head = text[:-1]
    if text.endswith("*") and "*" not in head and "?" not in head:
        return f"{WORDS} : {quote(fold(head))} *"
    found = expand(text) if expand is not None else []
    if not found:
        return NOTHING
    return f"{WORDS} : (" + " OR ".join(quote(w) for w in found) + ")"


# -- dates as tokens (inside OR and NOT; a top-level date is a rowid range, see split_dates) ---------


def _day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(max(0, ms) / 1000, tz=dt.UTC).date()


def date_tags(lo: int | None, hi: int | None) -> list[str]:
    """The fewest y/m/d tokens covering the days from ``lo`` to ``hi`` (ms, inclusive). A bound
    inside a day counts that whole day (a time of day is exact only at the top level)."""
    first = _day(lo) if lo is not None else dt.date(1970, 1, 1)
    last = _day(hi) if hi is not None else dt.date(dt.date.today().year + 10, 12, 31)
    out: list[str] = []
    d = first
    while d <= last:
        year_end = dt.date(d.year, 12, 31)
        if d.month == 1 and d.day == 1 and year_end <= last:
            out.append(f"y{d:%Y}")
            d = year_end + dt.timedelta(days=1)
            continue
        month_end = (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        if d.day == 1 and month_end <= last:
            out.append(f"m{d:%Y%m}")
            d = month_end + dt.timedelta(days=1)
            continue
        out.append(f"d{d:%Y%m%d}")
        d += dt.timedelta(days=1)
    return out


def _date(op: Op) -> str | _Nothing:
    if op.lo is not None and op.hi is not None and op.lo > op.hi:
        return NOTHING
    return tags(date_tags(op.lo, op.hi)) or NOTHING


# -- the tree --------------------------------------------------------------------------------------


def _positive(b: str | Neg) -> str:
    return b if isinstance(b, str) else f"({ANY}) NOT ({b.expr})"


def build(node: Node | None, ops: Mapping[int, list[str] | None], expand: Expand | None = None) -> Built:
    """``ops``: each operator's tokens by its number (None or []: it names nothing this user can see);
    dates need none. ``expand``: a wildcard's words (None: wildcards match nothing)."""
    if node is None:
        return None
    if isinstance(node, Word):
        return _word(node.text)
    if isinstance(node, Phrase):
        return _phrase(words(node.text))
    if isinstance(node, Wild):
        return _wild(node.text, expand)
    if isinstance(node, Op):
        if node.name in ("before", "after", "during"):
            return _date(node)
        return tags(ops.get(node.n) or []) or NOTHING
    if isinstance(node, Not):
        inner = build(node.item, ops, expand)
        if inner is None or inner is NOTHING:
            return None  # NOT nothing excludes nothing
        assert isinstance(inner, (str, Neg))
        return inner.expr if isinstance(inner, Neg) else Neg(inner)
    items = [build(item, ops, expand) for item in node.items]
    parts = [b for b in items if isinstance(b, (str, Neg))]
    if isinstance(node, And):
        if any(b is NOTHING for b in items):
            return NOTHING
        return conjoin(parts)
    if not parts:  # an OR
        return None if any(b is None for b in items) else NOTHING
    if len(parts) == 1:
        return parts[0]
    return " OR ".join(f"({_positive(b)})" for b in parts)


def conjoin(parts: list[str | Neg]) -> str | Neg | None:
    """AND of expressions and negations: the positives intersected, then each negation taken away."""
    pos = [b for b in parts if isinstance(b, str)]
    neg = [b.expr for b in parts if isinstance(b, Neg)]
    if not pos and not neg:
        return None
    if not pos:  # NOT a AND NOT b = NOT (a OR b)
        return Neg(neg[0] if len(neg) == 1 else " OR ".join(f"({n})" for n in neg))
    out = pos[0] if len(pos) == 1 else " AND ".join(f"({p})" for p in pos)
    for n in neg:
        out = f"({out}) NOT ({n})"
    return out


def split_dates(tree: Node | None) -> tuple[Node | None, int | None, int | None, bool]:
    """The top level's dates (ANDed, not negated) taken out of the tree as a time range, exact to
    the millisecond (a rowid range, see documents.py): (rest of the tree, lo, hi, whether any was)."""
    items = tree.items if isinstance(tree, And) else (tree,) if tree is not None else ()
    dates = [i for i in items if isinstance(i, Op) and i.name in ("before", "after", "during")]
    if not dates:
        return tree, None, None, False
    lo = max((d.lo for d in dates if d.lo is not None), default=None)
    hi = min((d.hi for d in dates if d.hi is not None), default=None)
    rest = tuple(i for i in items if i not in dates)
    return (And(rest) if len(rest) > 1 else rest[0] if rest else None), lo, hi, True


@dataclass
class Match:
    """A query ready to run: the MATCH expression (without the reader's scope) and a time range."""

    expr: str | Neg | None  # None: no constraint but the time range
    lo: int | None = None
    hi: int | None = None


def whole(
    parsed: Parsed,
    ops: Mapping[int, list[str] | None],
    tree: Node | None = None,
    expand: Expand | None = None,
) -> Match | _Nothing | None:
    """The query with the rules that hold for all of it (content_only, the top level's dates).
    None: nothing to search for (only stop words); NOTHING: nothing can match."""
    tree = parsed.tree if tree is None else tree
    rest, lo, hi, dated = split_dates(tree)
    if lo is not None and hi is not None and lo > hi:
        return NOTHING
    b = build(rest, ops, expand)
    if b is NOTHING:
        return NOTHING
    if b is None and not dated and not (parsed.content_only and rest is not None):
        return None
    assert not isinstance(b, _Nothing)
    if parsed.content_only:
        b = conjoin([*([b] if b is not None else []), tags([f"k{k}" for k in CONTENT_KINDS]) or ""])
    return Match(b, lo, hi)


def corrected(node: Node | None, fixes: Mapping[Word, str]) -> Node | None:
    """The tree with some words replaced ("did you mean")."""
    if isinstance(node, Word):
        return dataclasses.replace(node, text=fixes[node]) if node in fixes else node
    if isinstance(node, Not):
        return Not(corrected(node.item, fixes))  # type: ignore[arg-type]
    if isinstance(node, (And, Or)):
        return type(node)(tuple(corrected(i, fixes) for i in node.items))  # type: ignore[misc]
    return node


# -- what a snippet marks ------------------------------------------------------------------------


@dataclass
class Marks:
    """The words a hit matched, to mark in its snippet: stems of plain words, words as written of
    phrases, prefixes and wildcard patterns (never the words after NOT)."""

    stems: set[str] = field(default_factory=set)
    exact: set[str] = field(default_factory=set)
    prefixes: tuple[str, ...] = ()
    patterns: list[re.Pattern[str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.stems or self.exact or self.prefixes or self.patterns)


def wildcard_pattern(text: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in fold(text)))


def marks(parsed: Parsed) -> Marks:
    m = Marks()
    prefixes: list[str] = []
    for leaf, negated in parsed.leaves():
        if negated:
            continue
        if isinstance(leaf, Word):
            st = stems(leaf.text)
            if len(st) == 1:
                m.stems.update(st)
            else:
                m.exact.update(words(leaf.text))
        elif isinstance(leaf, Phrase):
            m.exact.update(words(leaf.text))
        elif isinstance(leaf, Wild):
            head = leaf.text[:-1]
            if leaf.text.endswith("*") and "*" not in head and "?" not in head:
                prefixes.append(fold(head))
            else:
                m.patterns.append(wildcard_pattern(leaf.text))
    m.prefixes = tuple(prefixes)
    return m
