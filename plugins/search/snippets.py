"""Snippets as a person reads the text in the app: mention tokens shown as names (@name, @role,
#channel; rendered when the search runs, so a rename shows at once, and a channel the reader cannot
see is never named), the words the hit matched in <mark>, and everything else escaped (snippets are
HTML)."""

from __future__ import annotations

import heapq
import html
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cryb_node.mentions import Names, mentioned, render

from .build import Marks
from .documents import WORD, fold, stem

__all__ = ["Names", "mentioned", "render", "snippet", "whole"]

MAX_CHARS = 240


@dataclass
class _Token:
    text: str  # folded
    start: int
    end: int
    matched: bool


@dataclass
class _Fragment:
    start: int
    end: int
    matches: list[_Token]

    def score(self) -> int:
        # Whoosh's BasicFragmentScorer, which the snippets followed before: matches, times 100 per
        # distinct word matched (diversity first).
        return len(self.matches) * (len({t.text for t in self.matches}) * 100 or 1)


def _marked(text: str, marks: Marks) -> Iterator[_Token]:
    for m in WORD.finditer(text):
        w = fold(m.group(0))
        matched = (
            w in marks.exact
            or (bool(marks.prefixes) and w.startswith(marks.prefixes))
            or (bool(marks.stems) and stem(w) in marks.stems)
            or any(p.fullmatch(w) for p in marks.patterns)
        )
        yield _Token(w, m.start(), m.end(), matched)


def _fragments(
    text: str, tokens: Iterable[_Token], maxchars: int = MAX_CHARS, surround: int = 60
) -> Iterator[_Fragment]:
    """Whoosh's ContextFragmenter (BSD), which the snippets followed before: a fragment opens up to
    ``surround`` characters before a match and closes ``surround`` after the last one, at most
    ``maxchars`` long."""
    first: int | None = None
    firsts: deque[int] = deque()
    countdown = -1
    tks: list[_Token] = []
    end = 0
    currentlen = 0
    for t in tokens:
        end = t.end
        tlength = t.end - t.start
        if countdown < 0 and not t.matched:
            firsts.append(t.start)
            while firsts and end - firsts[0] > surround:
                firsts.popleft()
        elif currentlen + tlength > maxchars:
            countdown = 0
        elif t.matched:
            countdown = surround
            if first is None:
                if firsts:
                    first = firsts[0]
                else:
                    first = t.start
                    countdown += surround
            tks.append(t)
        if countdown >= 0:
            currentlen += tlength
            countdown -= tlength
            if countdown <= 0:
                yield _Fragment(first if first is not None else 0, end, tks)
                tks, firsts, first, currentlen = [], deque(), None, 0
    if tks:
        yield _Fragment(first if first is not None else 0, end, tks)


def _format(text: str, frag: _Fragment) -> str:
    out: list[str] = []
    index = frag.start
    for t in frag.matches:
        if t.start < index:
            continue
        out.append(html.escape(text[index : t.start], quote=True))
        out.append(f"<mark>{html.escape(text[t.start : t.end], quote=True)}</mark>")
        index = t.end
    out.append(html.escape(text[index : frag.end], quote=True))
    return "".join(out)


def snippet(text: str, marks: Marks, top: int = 2) -> str:
    """Up to ``top`` fragments around the matches, or the text's beginning if none is in it."""
    if marks and text:
        frags = [f for f in _fragments(text, _marked(text, marks)) if f.matches]
        best = sorted(heapq.nlargest(top, frags, key=_Fragment.score), key=lambda f: f.start)
        if best:
            return " … ".join(_format(text, f) for f in best)
    return html.escape(text[:MAX_CHARS]) + ("…" if len(text) > MAX_CHARS else "")


def whole(text: str, marks: Marks) -> str:
    """All of a short text (a title) with its matches marked."""
    if not marks:
        return html.escape(text)
    return _format(text, _Fragment(0, len(text), [t for t in _marked(text, marks) if t.matched]))
