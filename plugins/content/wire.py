"""Pages of messages and posts encoded straight from their rows: one query per page brings the
reactions (with the reader's own) and the reader's vote as columns, and msgspec encodes each row
with its stored JSON lists passed through untouched (msgspec.Raw) instead of decoded and encoded
again. The JSON is exactly what schemas.MessageOut / schemas.PostOut give (the documented types;
tests/content/test_wire.py holds the two to the same bytes).
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import Raw

from .schemas import IntegrationOut, InteractionOut

_EMPTY = Raw(b"[]")


def raw(text: str) -> Raw:
    return _EMPTY if text == "[]" else Raw(text)


def reactions_sql(target: str) -> str:
    """A column: the target's reactions as schemas.ReactionCount JSON, in the order each emoji was
    first used, ``me`` for the reader bound as :user (NULL: anonymous, never ``me``)."""
    return (
        "(SELECT json_group_array(json_object('emoji', c.emoji, 'count', c.count, 'me', json(iif(EXISTS"
        " (SELECT 1 FROM content_reaction_adds a WHERE a.target_id = c.target_id AND a.emoji = c.emoji"
        " AND a.user_id = :user AND NOT EXISTS (SELECT 1 FROM content_reaction_removed r"
        " WHERE r.add_id = a.event_id)), 'true', 'false'))) ORDER BY c.first_hlc, c.emoji)"
        f" FROM content_reaction_counts c WHERE c.target_id = {target})"
    )


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


# Columns of a message page (alias m), in MessageWire's order; the last is the row's hlc (cursors).
MESSAGE_COLUMNS = (
    "m.id, m.channel_id, m.community_id, m.author_id, m.content, m.attachments, m.reply_to, m.thread_id,"
    " m.mentions, m.mention_roles, m.mention_everyone, m.created_at, m.edited_hlc >> 16, m.pinned,"
    f" m.deleted, m.hidden + m.purged, m.thread_count, {reactions_sql('m.id')}, m.integration,"
    " m.interaction, m.hlc"
)


def message_wire(r: Any) -> MessageWire:
    return MessageWire(
        r[0], r[1], r[2], r[3], r[4], raw(r[5]), r[6], r[7], raw(r[8]), raw(r[9]), bool(r[10]), r[11],
        r[12], bool(r[13]), bool(r[14]), bool(r[15]), r[16], raw(r[17]),
        msgspec.json.decode(r[18], type=IntegrationOut) if r[18] else None,
        msgspec.json.decode(r[19], type=InteractionOut) if r[19] else None,
    )  # fmt: skip


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


# Columns of a post page (alias p, views joined as v), in PostWire's order.
POST_COLUMNS = (
    "p.id, p.channel_id, p.community_id, p.author_id, p.title, p.body, p.body_html, p.url, p.tags, p.nsfw,"
    " p.spoiler, p.locked, p.sticky, p.deleted, p.hidden + p.purged, p.ups, p.downs, p.score,"
    " coalesce((SELECT value FROM content_votes WHERE target_id = p.id AND user_id = :user), 0),"
    " p.comment_count, coalesce(v.views, 0), p.created_at, p.edited_hlc >> 16,"
    f" {reactions_sql('p.id')}, p.attachments"
)


def post_wire(r: Any, pending_views: dict[str, int]) -> PostWire:
    return PostWire(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], raw(r[8]), bool(r[9]), bool(r[10]), bool(r[11]),
        bool(r[12]), bool(r[13]), bool(r[14]), r[15], r[16], r[17], r[18], r[19],
        r[20] + pending_views.get(r[0], 0), r[21], r[22], raw(r[23]), raw(r[24]),
    )  # fmt: skip
