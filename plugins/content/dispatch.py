"""Realtime: every committed content event -> the gateway Dispatch its viewers receive.

Community content goes to members who may view the channel (the hub asks the Permissions service at
send time); DM content goes to the participants. Names and payloads are listed in docs/content.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from cryb_node.clock import wall_ms
from cryb_node.events import Event
from cryb_node.realtime.protocol import Dispatch, Dispatcher

from . import events as e


def _to(
    ev: Event, name: str, data: dict[str, Any], channel_id: str | None, extra: dict[str, Any]
) -> Dispatch | None:
    community = ev.body.community
    if community is None:
        users = extra.get("users")
        if not users:
            return None
        return Dispatch(name, data, users=users)
    return Dispatch(name, data, community_id=community, channel_id=channel_id)


def _simple(name: str, build: Callable[[Event], dict[str, Any]]) -> Dispatcher:
    def dispatch(ev: Event) -> Dispatch | None:
        extra = ev.notes
        if ev.payload is None:
            return None
        data = build(ev)
        return _to(ev, name, data, getattr(ev.payload, "channel_id", None), extra)

    return dispatch


def _base(ev: Event) -> dict[str, Any]:
    return {"id": ev.body.target, "channel_id": ev.payload.channel_id, "community_id": ev.body.community}


def _message_create(ev: Event) -> dict[str, Any]:
    p: e.MessageCreate = ev.payload
    return {
        **_base(ev),
        "author_id": ev.body.author,
        "content": p.content,
        "attachments": p.attachments,
        "reply_to": p.reply_to,
        "thread_id": p.thread_id,
        "mentions": p.mentions,
        "mention_roles": p.mention_roles,
        "mention_everyone": p.mention_everyone,
        "created_at": wall_ms(ev.body.hlc),
        "edited_at": None,
        "pinned": False,
        "deleted": False,
        "removed": False,
        "thread_count": 0,
        "reactions": [],
        **({"integration": msgspec.to_builtins(p.integration)} if p.integration else {}),
        **({"poll": msgspec.to_builtins(p.poll)} if p.poll else {}),
        **({"interaction": msgspec.to_builtins(p.interaction)} if p.interaction else {}),
    }


def _message_edit(ev: Event) -> dict[str, Any]:
    p: e.MessageEdit = ev.payload
    return {
        **_base(ev),
        "author_id": ev.body.author,
        "content": p.content,
        "attachments": p.attachments,
        "mentions": p.mentions,
        "mention_roles": p.mention_roles,
        "mention_everyone": p.mention_everyone,
        "edited_at": wall_ms(ev.body.hlc),
    }


def _post_create(ev: Event) -> dict[str, Any]:
    p: e.PostCreate = ev.payload
    return {
        **_base(ev),
        "author_id": ev.body.author,
        "title": p.title,
        "url": p.url,
        "tags": p.tags,
        "nsfw": p.nsfw,
        "spoiler": p.spoiler,
        "attachments": p.attachments,
        "created_at": wall_ms(ev.body.hlc),
    }


def _post_edit(ev: Event) -> dict[str, Any]:
    p: e.PostEdit = ev.payload
    return {**_base(ev), "url": p.url, "tags": p.tags, "nsfw": p.nsfw, "spoiler": p.spoiler,
            "edited_at": wall_ms(ev.body.hlc)}  # fmt: skip


def _comment(ev: Event) -> dict[str, Any]:
    p: e.CommentCreate | e.CommentEdit = ev.payload
    data = {**_base(ev), "post_id": p.post_id, "author_id": ev.body.author, "body": p.body}
    if isinstance(p, e.CommentCreate):
        data.update(parent_id=p.parent_id, created_at=wall_ms(ev.body.hlc))
    else:
        data["edited_at"] = wall_ms(ev.body.hlc)
    return data


def _moderate(ev: Event) -> dict[str, Any]:
    p: e.Moderate = ev.payload
    return {**_thread(ev), "target_type": p.target_type, "field": p.field, "value": p.value}


def _thread(ev: Event) -> dict[str, Any]:
    """A thread reply's delete or removal names its root and the root's reply count now."""
    data = _base(ev)
    if "thread" in ev.notes:
        data["thread_id"], data["thread_count"] = ev.notes["thread"]
    return data


def _reaction(name: str) -> Dispatcher:
    def dispatch(ev: Event) -> Dispatch | None:
        extra = ev.notes
        p: e.ReactionAdd | e.ReactionRemove = ev.payload
        if p is None:
            return None
        data = {
            "target_type": p.target_type,
            "target_id": ev.body.target,
            "channel_id": p.channel_id,
            "community_id": ev.body.community,
            "user_id": ev.body.author,
            "emoji": p.emoji,
            "count": extra.get("count"),
        }
        return _to(ev, name, data, p.channel_id, extra)

    return dispatch


def _vote(ev: Event) -> Dispatch | None:
    extra = ev.notes
    p: e.VoteSet = ev.payload
    tally = extra.get("tally")
    if p is None or tally is None:
        return None  # the target is not here (yet): nothing to show
    ups, downs = tally
    data = {
        "target_type": p.target_type,
        "target_id": ev.body.target,
        "channel_id": p.channel_id,
        "community_id": ev.body.community,
        "ups": ups,
        "downs": downs,
        "score": ups - downs,
    }  # who voted stays private
    return _to(ev, "VOTE_UPDATE", data, p.channel_id, extra)


def _dm_create(ev: Event) -> Dispatch | None:
    p: e.DmCreate = ev.payload
    if p is None:
        return None
    data = {"id": ev.body.target, "owner_id": ev.body.author, "name": p.name, "participants": p.participants}
    return Dispatch("DM_CREATE", data, users=frozenset(p.participants))


def _emoji(name: str) -> Dispatcher:
    def dispatch(ev: Event) -> Dispatch | None:
        if ev.body.community is None:
            return None
        data: dict[str, Any] = {"id": ev.body.target, "community_id": ev.body.community}
        if isinstance(ev.payload, e.EmojiCreate):
            data.update(name=ev.payload.name, media_id=ev.payload.media_id)
        elif isinstance(ev.payload, e.EmojiUpdate):
            data.update(name=ev.payload.name)
        return Dispatch(name, data, community_id=ev.body.community)

    return dispatch


def dispatchers() -> Mapping[str, Dispatcher]:
    return {
        "message.create": _simple("MESSAGE_CREATE", _message_create),
        "message.edit": _simple("MESSAGE_UPDATE", _message_edit),
        "message.delete": _simple("MESSAGE_DELETE", _thread),
        "post.create": _simple("POST_CREATE", _post_create),
        "post.edit": _simple("POST_UPDATE", _post_edit),
        "post.delete": _simple("POST_DELETE", _base),
        "comment.create": _simple("COMMENT_CREATE", _comment),
        "comment.edit": _simple("COMMENT_UPDATE", _comment),
        "comment.delete": _simple("COMMENT_DELETE", _base),
        "content.moderate": _simple("CONTENT_MODERATE", _moderate),
        "reaction.add": _reaction("REACTION_ADD"),
        "reaction.remove": _reaction("REACTION_REMOVE"),
        "vote.set": _vote,
        "dm.create": _dm_create,
        "emoji.create": _emoji("EMOJI_CREATE"),
        "emoji.delete": _emoji("EMOJI_DELETE"),
        "emoji.update": _emoji("EMOJI_UPDATE"),
    }
