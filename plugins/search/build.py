"""A parsed query (query.py) as a Whoosh query over the schema (schema.py): plain words on the stemmed
``title``/``body``, phrases, prefixes and wildcards on ``words`` (as written), operators as filters
that add nothing to the score (who wrote a message, or where, must not change how well it matches).

Building knows three outcomes for a part of the tree: a query, None (no constraint: a stop word, an
empty phrase) and NOTHING (an operator that names nobody this user can see: no document matches).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from whoosh import query as wq

from .query import And, Node, Not, Op, Or, Parsed, Phrase, Wild, Word
from .schema import CONTENT_KINDS, EXACT, STEM, analyse
from .searching import ZeroScore


class _Nothing:
    def __repr__(self) -> str:
        return "NOTHING"


NOTHING = _Nothing()
Built = wq.Query | None | _Nothing


def _phrase(words: list[str]) -> wq.Query | None:
    if not words:
        return None
    if len(words) == 1:
        return wq.Term("words", words[0])
    return wq.Phrase("words", words)


def _word(text: str) -> wq.Query | None:
    stems = analyse(STEM, text)
    if not stems:
        return None  # a stop word
    if len(stems) == 1:
        return wq.Or([wq.Term("title", stems[0]), wq.Term("body", stems[0])])
    # Several words in one (a URL, "e-mail"): they must stand together, as written.
    return _phrase(analyse(EXACT, text))


def _wild(text: str) -> wq.Query:
    stem = text[:-1]
    if text.endswith("*") and "*" not in stem and "?" not in stem:
        return wq.Prefix("words", stem)
    return wq.Wildcard("words", text)


def build(node: Node | None, ops: Mapping[int, wq.Query | None]) -> Built:
    """``ops``: each operator's query by its number (None: it names nothing this user can see)."""
    if node is None:
        return None
    if isinstance(node, Word):
        return _word(node.text)
    if isinstance(node, Phrase):
        return _phrase(analyse(EXACT, node.text))
    if isinstance(node, Wild):
        return _wild(node.text)
    if isinstance(node, Op):
        q = ops.get(node.n)
        return NOTHING if q is None else ZeroScore(q)
    if isinstance(node, Not):
        inner = build(node.item, ops)
        if inner is None or inner is NOTHING:
            return None  # NOT nothing excludes nothing
        assert isinstance(inner, wq.Query)
        return wq.Not(inner)
    items = [build(item, ops) for item in node.items]
    queries = [q for q in items if isinstance(q, wq.Query)]
    if isinstance(node, And) and any(q is NOTHING for q in items):
        return NOTHING
    if isinstance(node, Or) and not queries:
        return None if any(q is None for q in items) else NOTHING
    if not queries:
        return None
    if len(queries) == 1:
        return queries[0]
    return wq.And(queries) if isinstance(node, And) else wq.Or(queries)


def whole(parsed: Parsed, ops: Mapping[int, wq.Query | None], tree: Node | None = None) -> Built:
    """The query with the rules that hold for all of it (content_only)."""
    q = build(parsed.tree if tree is None else tree, ops)
    if isinstance(q, wq.Query) and parsed.content_only:
        return wq.And([q, ZeroScore(wq.Or([wq.Term("kind", k) for k in CONTENT_KINDS]))])
    return q


def drives(q: wq.Query) -> bool:
    """Whether the query's own matches are few enough to check each against the reader's scope (it
    has a positive part everywhere); a pure negation (NOT in:#c) is driven by the scope instead."""
    if isinstance(q, wq.Not):
        return False
    if isinstance(q, ZeroScore):
        return drives(q.child)
    if isinstance(q, wq.And):
        return any(drives(c) for c in q.subqueries)
    if isinstance(q, wq.Or):
        return all(drives(c) for c in q.subqueries)
    return True


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


def marks(parsed: Parsed) -> Marks:
    m = Marks()
    prefixes: list[str] = []
    for leaf, negated in parsed.leaves():
        if negated:
            continue
        if isinstance(leaf, Word):
            stems = analyse(STEM, leaf.text)
            if len(stems) == 1:
                m.stems.update(stems)
            else:
                m.exact.update(analyse(EXACT, leaf.text))
        elif isinstance(leaf, Phrase):
            m.exact.update(analyse(EXACT, leaf.text))
        elif isinstance(leaf, Wild):
            q = _wild(leaf.text)
            if isinstance(q, wq.Prefix):
                prefixes.append(q.text)
            else:
                rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in leaf.text)
                m.patterns.append(re.compile(rx))
    m.prefixes = tuple(prefixes)
    return m
