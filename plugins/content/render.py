"""Text handling: Markdown to sanitized HTML (markdown-it-py, then the nh3/Ammonia sanitizer as a
second, independent line of defence), mention tokens, emoji and media-id checks.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

import nh3

from cryb_node import lazy

if TYPE_CHECKING:
    import emoji as emoji_lib
else:  # the emoji tables are ~5 MiB: loaded by the first reaction, not at start
    emoji_lib = lazy.module("emoji")

# Raw HTML in Markdown is shown as text (html=False); markdown-it also refuses javascript:, vbscript:
# and data: links. nh3 then keeps only the tags Markdown produces and http(s)/mailto URLs.


@cache
def _markdown() -> Any:
    # Built by the first message rather than at start (markdown-it and its rules: ~2 MiB).
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


_TAGS = {
    "p", "br", "hr", "strong", "em", "s", "del", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_ATTRS = {"a": {"href", "title"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}


@lru_cache(maxsize=4096)
def markdown_html(text: str) -> str:
    return nh3.clean(
        _markdown().render(text),
        tags=_TAGS,
        attributes=_ATTRS,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer ugc",
        filter_style_properties={"text-align"},
    )


# Mentions are tokens in the message text: <@user_id>, <@&role_id>, @everyone, @here.
_USER = re.compile(r"<@([0-9a-z]{26})>")
_ROLE = re.compile(r"<@&([0-9a-z]{26})>")
_EVERYONE = re.compile(r"(?<![\w@])@(everyone|here)\b")


def mentions(text: str) -> tuple[list[str], list[str], bool]:
    """(user ids, role ids, whether @everyone/@here appears), deduplicated in order of appearance."""
    users = list(dict.fromkeys(_USER.findall(text)))
    roles = list(dict.fromkeys(_ROLE.findall(text)))
    return users, roles, bool(_EVERYONE.search(text))


_ID = re.compile(r"^[0-9a-hjkmnp-tv-z]{26}$")
_CUSTOM = re.compile(r"^([A-Za-z0-9_]{2,32}):([0-9a-hjkmnp-tv-z]{26})$")


def is_id(value: str) -> bool:
    """The shape of a node id (clock.new_id): 26 lowercase Crockford base32 characters."""
    return bool(_ID.match(value))


def custom_emoji(value: str) -> tuple[str, str] | None:
    """(name, id) for "name:id", else None."""
    m = _CUSTOM.match(value)
    return (m.group(1), m.group(2)) if m else None


def is_unicode_emoji(value: str) -> bool:
    return len(value) <= 32 and lazy.ready(emoji_lib).is_emoji(value)
