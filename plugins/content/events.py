"""The content plugin's event kinds and their payload Structs (what search, notifications, analytics
and federation consume); projections.py binds each to its projection (event_types).

Every event's body carries community=<community id or None for DMs>, author=<acting user>,
target=<the message, post, comment, DM channel or emoji id>.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

TargetType = Literal["message", "post", "comment"]


class _P(msgspec.Struct, kw_only=True, omit_defaults=True):
    pass


class Integration(_P, kw_only=True, omit_defaults=True):
    """The integration an incoming webhook message is shown as (the event's author is the member
    who owns the webhook; the rule book requires MANAGE_WEBHOOKS of them for such a message)."""

    webhook_id: str
    name: str
    avatar: str | None = None  # a media id


class PollAnswer(_P, kw_only=True, omit_defaults=True):
    text: Annotated[str, Meta(min_length=1, max_length=80)]
    emoji: Annotated[str, Meta(max_length=64)] | None = None  # a unicode emoji


POLL_MAX_SECONDS = 7 * 86400


class Poll(_P, kw_only=True, omit_defaults=True):
    """A poll attached to a message or post (the polls plugin projects it and its votes). It closes
    ``duration_s`` after the create event's time: every node reads the same deadline from the log."""

    question: Annotated[str, Meta(min_length=1, max_length=300)]
    answers: Annotated[list[PollAnswer], Meta(min_length=2, max_length=10)]
    multiple: bool = False  # several answers per voter
    anonymous: bool = False  # counts are shown, voters are not
    duration_s: Annotated[int, Meta(ge=60, le=POLL_MAX_SECONDS)] = 86400


class InteractionMark(_P, kw_only=True, omit_defaults=True):
    """A bot's public answer to a slash command (plugins/integrations/interactions.py): the UI shows
    who used which command above it."""

    id: str  # the interaction
    name: str  # the command, without the slash
    user_id: str  # who used it


class MessageCreate(_P, kw_only=True, omit_defaults=True):
    channel_id: str
    content: str
    attachments: list[str] = []  # media ids
    reply_to: str | None = None
    thread_id: str | None = None  # the message this one replies to as a thread
    mentions: list[str] = []  # user ids
    mention_roles: list[str] = []
    mention_everyone: bool = False  # only set when the author had MENTION_EVERYONE
    integration: Integration | None = None  # posted through an incoming webhook
    poll: Poll | None = None
    interaction: InteractionMark | None = None  # a bot's answer to a slash command


class MessageEdit(_P, kw_only=True, omit_defaults=True):
    """The author's whole new editable state (last writer wins by hlc)."""

    channel_id: str
    content: str
    attachments: list[str] = []
    mentions: list[str] = []
    mention_roles: list[str] = []
    mention_everyone: bool = False


class Delete(_P, kw_only=True, omit_defaults=True):
    """An author's delete: final; the text is dropped from the projection and the payloads of the
    target's create and edits are erased. It carries the target's place (the create's payload,
    which held it, is gone), so nodes that never saw the create build the same tombstone."""

    channel_id: str
    post_id: str | None = None  # comments
    parent_id: str | None = None  # comments


class PostCreate(_P, kw_only=True, omit_defaults=True):
    channel_id: str
    title: str
    body: str = ""
    url: str | None = None  # a link post
    tags: list[str] = []
    nsfw: bool = False
    spoiler: bool = False
    attachments: list[str] = []  # media ids
    poll: Poll | None = None


class PostEdit(_P, kw_only=True, omit_defaults=True):
    channel_id: str
    body: str = ""
    url: str | None = None
    tags: list[str] = []
    nsfw: bool = False
    spoiler: bool = False


class CommentCreate(_P, kw_only=True, omit_defaults=True):
    channel_id: str
    post_id: str
    parent_id: str | None = None  # None: a top-level comment
    body: str


class CommentEdit(_P, kw_only=True, omit_defaults=True):
    channel_id: str
    post_id: str
    body: str


ModField = Literal["hidden", "pinned", "locked", "sticky"]


class Moderate(_P, kw_only=True, omit_defaults=True):
    """A moderator sets one flag on a target: last writer wins by (rank, hlc, event id).

    rank: 1 a member with MANAGE_MESSAGES, 2 with ADMINISTRATOR (owners included), 3 a node admin.
    """

    target_type: TargetType
    channel_id: str
    field: ModField
    value: bool
    rank: int
    reason: str = ""


class ReactionAdd(_P, kw_only=True, omit_defaults=True):
    target_type: TargetType
    channel_id: str
    emoji: str  # a unicode emoji, or "name:id" for a community's custom emoji


class ReactionRemove(_P, kw_only=True, omit_defaults=True):
    target_type: TargetType
    channel_id: str
    emoji: str
    adds: list[bytes]  # the add events (tags) this remove observed: add-wins


class VoteSet(_P, kw_only=True, omit_defaults=True):
    target_type: Literal["post", "comment"]
    channel_id: str
    value: Literal[-1, 0, 1]


class DmCreate(_P, kw_only=True, omit_defaults=True):
    participants: list[str]  # every member, the creator included; sorted
    name: str = ""


class EmojiCreate(_P, kw_only=True, omit_defaults=True):
    name: str
    media_id: str


class EmojiUpdate(_P, kw_only=True, omit_defaults=True):
    """A rename: the latest by hlc wins, whoever of the community's managers made it."""

    name: str


class Empty(_P, kw_only=True, omit_defaults=True):
    pass


KINDS: dict[str, type[msgspec.Struct]] = {
    "message.create": MessageCreate,
    "message.edit": MessageEdit,
    "message.delete": Delete,
    "post.create": PostCreate,
    "post.edit": PostEdit,
    "post.delete": Delete,
    "comment.create": CommentCreate,
    "comment.edit": CommentEdit,
    "comment.delete": Delete,
    "content.moderate": Moderate,
    "reaction.add": ReactionAdd,
    "reaction.remove": ReactionRemove,
    "vote.set": VoteSet,
    "dm.create": DmCreate,
    "emoji.create": EmojiCreate,
    "emoji.delete": Empty,
    "emoji.update": EmojiUpdate,
}
