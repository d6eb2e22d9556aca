"""Snippets as a person reads the text in the app: mention tokens shown as names (@name, @role,
#channel; rendered when the search runs, so a rename shows at once, and a channel the reader cannot
see is never named), the words the hit matched in <mark>, and everything else escaped (snippets are
HTML)."""

from __future__ import annotations

import html
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from whoosh import highlight
from whoosh.lang.porter2 import stem as porter2

from cryb_node.mentions import Names, mentioned, render

from .build import Marks
from .schema import EXACT

__all__ = ["Names", "mentioned", "render", "snippet", "whole"]

MAX_CHARS = 240


class _Escaping(highlight.Formatter):
    """Every character of the text is escaped; matches are wrapped in <mark>."""

    between = " … "

    def _text(self, text: str) -> str:
        return html.escape(text, quote=True)

    def format_token(self, text: str, token: Any, replace: bool = False) -> str:
        return f"<mark>{html.escape(highlight.get_text(text, token, replace), quote=True)}</mark>"


_FORMAT = _Escaping()


@lru_cache(maxsize=8192)
def _stem(word: str) -> str:
    return porter2(word)


def _marked(text: str, marks: Marks) -> Iterator[Any]:
    for t in EXACT(text, chars=True, mode="query"):
        w = t.text
        t.matched = (
            w in marks.exact
            or (bool(marks.prefixes) and w.startswith(marks.prefixes))
            or (bool(marks.stems) and _stem(w) in marks.stems)
            or any(p.fullmatch(w) for p in marks.patterns)
        )
        yield t


def snippet(text: str, marks: Marks, top: int = 2) -> str:
    """Up to ``top`` fragments around the matches, or the text's beginning if none is in it."""
    if marks and text:
        fragmenter = highlight.ContextFragmenter(maxchars=MAX_CHARS, surround=60)
        frags = highlight.top_fragments(
            fragmenter.fragment_tokens(text, _marked(text, marks)),
            top,
            highlight.BasicFragmentScorer(),
            highlight.FIRST,
        )
        if frags:
            return _FORMAT(text, frags)
    return html.escape(text[:MAX_CHARS]) + ("…" if len(text) > MAX_CHARS else "")


def whole(text: str, marks: Marks) -> str:
    """All of a short text (a title) with its matches marked."""
    if not marks:
        return html.escape(text)
    frag = highlight.Fragment(text, [t.copy() for t in _marked(text, marks) if t.matched], 0, len(text))
    return _FORMAT(text, [frag])
