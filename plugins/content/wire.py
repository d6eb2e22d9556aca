"""Pages of messages and posts encoded straight from their rows: one query per page brings the
reactions (with the reader's own) and the reader's vote as columns (queries_chat.py, queries_forum.py),
and msgspec encodes each row with its stored JSON lists passed through untouched (msgspec.Raw)
instead of decoded and encoded again. The JSON is exactly what schemas.MessageOut / schemas.PostOut
give (the documented types; tests/content/test_wire.py holds the two to the same bytes).
"""

from __future__ import annotations

import msgspec
from msgspec import Raw

from cryb_node.db import Row

from .queries import positions
from .schemas import IntegrationOut, InteractionOut

_EMPTY = Raw(b"[]")


def raw(text: str) -> Raw:
    return _EMPTY if text == "[]" else Raw(text)


class MessageWire(msgspec.Struct):
    """schemas.MessageOut's fields, in its order."""

    id: str
    channel_id: str
    community_id: str | None
    author_id: str
    content: str
    attachments: Raw
    reply_to: str | None
    thread_id: str | None
    mentions: Raw
    mention_roles: Raw
    mention_everyone: bool
    created_at: int
    edited_at: int | None
    pinned: bool
    deleted: bool
    removed: bool
    thread_count: int
    reactions: Raw
    integration: IntegrationOut | None
    interaction: InteractionOut | None = None


class MessagePage(msgspec.Struct):
    messages: list[MessageWire]


def message_wires(rows: list[Row]) -> list[MessageWire]:
    """Rows in queries_chat.MESSAGE_PAGE_COLUMNS as MessageWire (GET messages' loop: columns are found
    by name once per page, see queries.positions)."""
    if not rows:
        return []
    c = positions(rows[0])
    id_, channel, community, author = c["id"], c["channel_id"], c["community_id"], c["author_id"]
    content, attachments, reply_to, thread = c["content"], c["attachments"], c["reply_to"], c["thread_id"]
    mentions, roles, everyone = c["mentions"], c["mention_roles"], c["mention_everyone"]
    created, edited, pinned, deleted = c["created_at"], c["edited_at"], c["pinned"], c["deleted"]
    removed, threads, reactions = c["removed"], c["thread_count"], c["reactions"]
    integration, interaction = c["integration"], c["interaction"]
    decode = msgspec.json.decode
    return [
        MessageWire(
            r[id_], r[channel], r[community], r[author], r[content], raw(r[attachments]), r[reply_to],
            r[thread], raw(r[mentions]), raw(r[roles]), bool(r[everyone]), r[created], r[edited],
            bool(r[pinned]), bool(r[deleted]), bool(r[removed]), r[threads], raw(r[reactions]),
            decode(r[integration], type=IntegrationOut) if r[integration] else None,
            decode(r[interaction], type=InteractionOut) if r[interaction] else None,
        )
        for r in rows
    ]  # fmt: skip


class PostWire(msgspec.Struct):
    """schemas.PostOut's fields, in its order."""

    id: str
    channel_id: str
    community_id: str
    author_id: str
    title: str
    body: str
    body_html: str
    url: str | None
    tags: Raw
    nsfw: bool
    spoiler: bool
    locked: bool
    sticky: bool
    deleted: bool
    removed: bool
    ups: int
    downs: int
    score: int
    my_vote: int
    comment_count: int
    views: int
    created_at: int
    edited_at: int | None
    reactions: Raw
    attachments: Raw


class PostPage(msgspec.Struct):
    posts: list[PostWire]
    next: str | None = None


def post_wires(rows: list[Row], pending_views: dict[str, int]) -> list[PostWire]:
    """Rows in queries_forum.POST_PAGE_COLUMNS as PostWire, with the views not yet written
    (the feeds' loop: columns are found by name once per page, see queries.positions)."""
    if not rows:
        return []
    c = positions(rows[0])
    id_, channel, community, author = c["id"], c["channel_id"], c["community_id"], c["author_id"]
    title, body, html, url, tags = c["title"], c["body"], c["body_html"], c["url"], c["tags"]
    nsfw, spoiler, locked, sticky = c["nsfw"], c["spoiler"], c["locked"], c["sticky"]
    deleted, removed, ups, downs, score = c["deleted"], c["removed"], c["ups"], c["downs"], c["score"]
    my_vote, comments, views, created = c["my_vote"], c["comment_count"], c["views"], c["created_at"]
    edited, reactions, attachments = c["edited_at"], c["reactions"], c["attachments"]
    return [
        PostWire(
            r[id_], r[channel], r[community], r[author], r[title], r[body], r[html], r[url], raw(r[tags]),
            bool(r[nsfw]), bool(r[spoiler]), bool(r[locked]), bool(r[sticky]), bool(r[deleted]),
            bool(r[removed]), r[ups], r[downs], r[score], r[my_vote], r[comments],
            r[views] + pending_views.get(r[id_], 0), r[created], r[edited], raw(r[reactions]),
            raw(r[attachments]),
        )
        for r in rows
    ]  # fmt: skip
