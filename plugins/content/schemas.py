"""Request and response bodies of the content routes (msgspec Structs; the OpenAPI document is
derived from them)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from .events import Poll

MediaId = Annotated[str, Meta(pattern=r"^[0-9a-hjkmnp-tv-z]{26}$", description="a media id")]
AnyId = Annotated[str, Meta(min_length=1, max_length=64)]
MAX_MESSAGE = 4000
MAX_POST_BODY = 40_000
MAX_COMMENT = 10_000


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


# -- messages -----------------------------------------------------------------------------------


Nonce = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="the client's id for this send: a retry with the same nonce answers the same message",
    ),
]


class MessageIn(Body):
    content: Annotated[str, Meta(max_length=MAX_MESSAGE)] = ""
    attachments: Annotated[list[MediaId], Meta(max_length=10)] = []
    reply_to: AnyId | None = None
    thread_id: AnyId | None = None  # post into the thread hanging from this message
    nonce: Nonce | None = None  # idempotent sends (offline outboxes retry after lost replies)
    poll: Poll | None = None  # a poll (the polls plugin counts its votes); the text may then be empty


class MessageEditIn(Body):
    content: Annotated[str, Meta(max_length=MAX_MESSAGE)]
    attachments: Annotated[list[MediaId], Meta(max_length=10)] | None = None  # None: keep them


class ReactionCount(msgspec.Struct):
    emoji: str
    count: int
    me: bool


class IntegrationOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Who a webhook message is shown as (the UI tags it as an app, not a member)."""

    webhook_id: str
    name: str
    avatar: str | None = None  # a media id


class InteractionOut(msgspec.Struct, kw_only=True):
    """The slash command a bot's message answers (who used which command)."""

    id: str
    name: str
    user_id: str


class MessageOut(msgspec.Struct, kw_only=True):
    id: str
    channel_id: str
    community_id: str | None
    author_id: str
    content: str
    attachments: list[str]
    reply_to: str | None
    thread_id: str | None
    mentions: list[str]
    mention_roles: list[str]
    mention_everyone: bool
    created_at: int  # ms since epoch
    edited_at: int | None
    pinned: bool = False
    deleted: bool = False
    removed: bool = False  # hidden by a moderator or a ban's purge (only moderators see these)
    thread_count: int = 0
    reactions: list[ReactionCount] = []
    integration: IntegrationOut | None = None  # posted through an incoming webhook
    interaction: InteractionOut | None = None  # a bot's answer to a slash command


class MessageList(msgspec.Struct):
    """Oldest first, whichever cursor was used."""

    messages: list[MessageOut]


class MessageQuery(Body):
    before: AnyId | None = None
    after: AnyId | None = None
    around: AnyId | None = None
    limit: Annotated[int, Meta(ge=1, le=100)] = 50
    thread: AnyId | None = None  # list the thread hanging from this message


class ThreadQuery(Body):
    limit: Annotated[int, Meta(ge=1, le=100)] = 50


class ThreadOut(msgspec.Struct, kw_only=True):
    root: MessageOut  # the message the thread hangs from
    reply_count: int
    last_reply_at: int  # ms since epoch


class ThreadList(msgspec.Struct):
    """Most recently active first."""

    threads: list[ThreadOut]


class EditOut(msgspec.Struct):
    event_id: str
    author_id: str
    content: str
    edited_at: int


class EditHistory(msgspec.Struct):
    """The original text first, then every edit in order."""

    message_id: str
    versions: list[EditOut]


# -- DMs ----------------------------------------------------------------------------------------


class DmIn(Body):
    recipients: Annotated[
        list[Annotated[str, Meta(min_length=1, max_length=64)]], Meta(min_length=1, max_length=9)
    ]
    name: Annotated[str, Meta(max_length=100)] = ""


class DmOut(msgspec.Struct):
    id: str
    owner_id: str
    name: str
    participants: list[str]


class DmList(msgspec.Struct):
    channels: list[DmOut]


class ReadState(msgspec.Struct):
    channel_id: str
    last_read_id: str | None
    unread: int  # capped at UNREAD_CAP
    mentions: int


# -- posts --------------------------------------------------------------------------------------

Tag = Annotated[str, Meta(min_length=1, max_length=32)]
Url = Annotated[str, Meta(max_length=2000, pattern=r"^https?://[^\s]+$")]


class PostIn(Body):
    title: Annotated[str, Meta(min_length=1, max_length=300)]
    body: Annotated[str, Meta(max_length=MAX_POST_BODY)] = ""
    url: Url | None = None
    tags: Annotated[list[Tag], Meta(max_length=5)] = []
    nsfw: bool = False
    spoiler: bool = False
    attachments: Annotated[list[MediaId], Meta(max_length=10)] = []
    poll: Poll | None = None


class PostEditIn(Body):
    body: Annotated[str, Meta(max_length=MAX_POST_BODY)] | None = None
    url: Url | None = None
    tags: Annotated[list[Tag], Meta(max_length=5)] | None = None
    nsfw: bool | None = None
    spoiler: bool | None = None


class PostOut(msgspec.Struct, kw_only=True):
    id: str
    channel_id: str
    community_id: str
    author_id: str
    title: str
    body: str
    body_html: str  # rendered from Markdown on the server and sanitized
    url: str | None
    tags: list[str]
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
    reactions: list[ReactionCount] = []
    attachments: list[str] = []  # media ids (GET /api/v1/media/{id} for URLs)


Sort = Literal["hot", "new", "top", "controversial"]
Window = Literal["hour", "day", "week", "month", "year", "all"]


class FeedQuery(Body):
    sort: Sort = "hot"
    t: Window = "all"  # for top and controversial
    limit: Annotated[int, Meta(ge=1, le=100)] = 25
    after: Annotated[str, Meta(max_length=200)] | None = None  # the `next` of the previous page
    tag: Tag | None = None  # only posts carrying this tag (any case)


class PostList(msgspec.Struct):
    posts: list[PostOut]
    next: str | None = None


class VoteIn(Body):
    value: Literal[-1, 0, 1]


class VoteOut(msgspec.Struct):
    target_id: str
    value: int
    ups: int
    downs: int
    score: int


# -- comments -----------------------------------------------------------------------------------


class CommentIn(Body):
    body: Annotated[str, Meta(max_length=MAX_COMMENT)]
    parent_id: AnyId | None = None


class CommentEditIn(Body):
    body: Annotated[str, Meta(max_length=MAX_COMMENT)]


class CommentOut(msgspec.Struct, kw_only=True, tag="comment", tag_field="kind"):
    id: str
    post_id: str
    parent_id: str | None
    author_id: str | None  # None once deleted
    body: str
    body_html: str
    deleted: bool
    removed: bool
    ups: int
    downs: int
    score: int
    my_vote: int
    depth: int  # 0 for a top-level comment
    created_at: int
    edited_at: int | None
    reactions: list[ReactionCount] = []
    replies: list[CommentOut | MoreOut] = []


class MoreOut(msgspec.Struct, kw_only=True, tag="more", tag_field="kind"):
    """A "load more" stub: GET the comments with parent=parent_id&after=after to continue."""

    parent_id: str | None  # None: more top-level comments
    after: str | None
    count: int  # replies of parent_id not shown yet at this level


class CommentTree(msgspec.Struct):
    post_id: str
    comments: list[CommentOut | MoreOut]


CommentSort = Literal["best", "top", "new", "controversial"]


class CommentQuery(Body):
    sort: CommentSort = "best"
    depth: Annotated[int, Meta(ge=1, le=50)] = 8
    limit: Annotated[int, Meta(ge=1, le=500)] = 200
    parent: AnyId | None = None
    after: Annotated[str, Meta(max_length=400)] | None = None


# -- reactions, moderation, emoji --------------------------------------------------------------


class ModerateIn(Body):
    action: Literal["remove", "approve", "pin", "unpin", "lock", "unlock", "sticky", "unsticky"]
    reason: Annotated[str, Meta(max_length=512)] = ""


class EmojiIn(Body):
    name: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_]{2,32}$")]
    media_id: MediaId


class EmojiPatch(Body):
    name: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_]{2,32}$")]


class EmojiOut(msgspec.Struct):
    id: str
    community_id: str
    name: str
    media_id: str


class EmojiList(msgspec.Struct):
    emojis: list[EmojiOut]


class ReactionUsers(msgspec.Struct):
    emoji: str
    users: list[str]


class MarkdownIn(Body):
    # Posts are the longest Markdown the node renders; a preview is never longer than what it previews.
    text: Annotated[str, Meta(max_length=MAX_POST_BODY)]


class MarkdownOut(msgspec.Struct):
    html: str  # exactly the body_html a post or comment with this text gets
