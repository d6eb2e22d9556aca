"""HTTP routes of the content plugin: parse, validate, authorise (in the service calls), respond."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from cryb_node.http.api import Api, Call, Principal
from cryb_node.problems import unauthorized

from . import schemas as s
from .events import TargetType
from .render import markdown_html
from .service import CONTENT, Content
from .wire import MessagePage, PostPage

if TYPE_CHECKING:
    from cryb_node.node import Node

TARGETS: dict[str, TargetType] = {"messages": "message", "posts": "post", "comments": "comment"}


def _principal(call: Call) -> Principal:
    if call.principal is None:
        raise unauthorized()
    return call.principal


def chat_routes(api: Api, node: Node) -> None:
    def c() -> Content:
        return node.services.require(CONTENT)

    @api.route("POST", "/api/v1/channels/{channel_id}/messages", body=s.MessageIn, response=s.MessageOut,
               status=201, auth="required", bucket="messages")  # fmt: skip
    async def send_message(call: Call) -> s.MessageOut:
        """Send a message to a text/announcement channel or a DM."""
        return await c().chat.send(call.user_id, call.path("channel_id"), call.body)

    @api.route("GET", "/api/v1/channels/{channel_id}/messages", query=s.MessageQuery, response=s.MessageList)
    async def list_messages(call: Call) -> MessagePage:
        """A page of history (oldest first): latest, or before/after/around a message."""
        return await c().chat.list(call.viewer_id, call.path("channel_id"), call.query)

    @api.route("GET", "/api/v1/channels/{channel_id}/threads", query=s.ThreadQuery, response=s.ThreadList)
    async def list_threads(call: Call) -> s.ThreadList:
        """The channel's threads (root messages with replies), most recently active first; a thread's
        replies are `GET .../messages?thread=ROOT`."""
        uid = call.viewer_id
        return await c().chat.threads(uid, call.path("channel_id"), call.query.limit)

    @api.route("GET", "/api/v1/channels/{channel_id}/messages/{message_id}", response=s.MessageOut)
    async def get_message(call: Call) -> s.MessageOut:
        """One message."""
        uid = call.viewer_id
        return await c().chat.get(uid, call.path("channel_id"), call.path("message_id"))

    @api.route("PATCH", "/api/v1/channels/{channel_id}/messages/{message_id}", body=s.MessageEditIn,
               response=s.MessageOut, auth="required")  # fmt: skip
    async def edit_message(call: Call) -> s.MessageOut:
        """Edit your message (the earlier versions stay visible to moderators)."""
        return await c().chat.edit(call.user_id, call.path("channel_id"), call.path("message_id"), call.body)

    @api.route("DELETE", "/api/v1/channels/{channel_id}/messages/{message_id}", auth="required")
    async def delete_message(call: Call) -> None:
        """Delete your message (final), or remove someone else's as a moderator (?reason=)."""
        reason = call.request.query.get("reason", "")[:512]
        await c().chat.delete(_principal(call), call.path("channel_id"), call.path("message_id"), reason)

    @api.route("GET", "/api/v1/channels/{channel_id}/messages/{message_id}/history", response=s.EditHistory,
               auth="required")  # fmt: skip
    async def message_history(call: Call) -> s.EditHistory:
        """Every version of a message (moderators)."""
        return await c().chat.history(_principal(call), call.path("channel_id"), call.path("message_id"))

    @api.route("POST", "/api/v1/channels/{channel_id}/messages/{message_id}/ack", auth="required")
    async def ack_message(call: Call) -> None:
        """Mark the channel read up to this message."""
        await c().dms.ack(call.user_id, call.path("channel_id"), call.path("message_id"))

    @api.route("GET", "/api/v1/channels/{channel_id}/pins", response=s.MessageList)
    async def list_pins(call: Call) -> s.MessageList:
        """Pinned messages, newest first."""
        return await c().chat.pins(call.viewer_id, call.path("channel_id"))

    async def _pin(call: Call, action: Literal["pin", "unpin"]) -> None:
        await c().chat.get(call.user_id, call.path("channel_id"), call.path("message_id"))
        await c().moderation.moderate(
            _principal(call), "message", call.path("message_id"), s.ModerateIn(action=action)
        )

    @api.route("PUT", "/api/v1/channels/{channel_id}/pins/{message_id}", auth="required")
    async def pin_message(call: Call) -> None:
        """Pin a message (MANAGE_MESSAGES)."""
        await _pin(call, "pin")

    @api.route("DELETE", "/api/v1/channels/{channel_id}/pins/{message_id}", auth="required")
    async def unpin_message(call: Call) -> None:
        """Unpin a message (MANAGE_MESSAGES)."""
        await _pin(call, "unpin")

    @api.route("POST", "/api/v1/dms", body=s.DmIn, response=s.DmOut, auth="required")
    async def open_dm(call: Call) -> s.DmOut:
        """Open (or find) a 1:1 DM, or start a group DM of up to 10 people."""
        return await c().dms.open(call.user_id, call.body)

    @api.route("GET", "/api/v1/dms", response=s.DmList, auth="required")
    async def list_dms(call: Call) -> s.DmList:
        """Your DM channels."""
        return await c().dms.list(call.user_id)


def post_routes(api: Api, node: Node) -> None:
    def c() -> Content:
        return node.services.require(CONTENT)

    @api.route("POST", "/api/v1/markdown/preview", body=s.MarkdownIn, response=s.MarkdownOut,
               auth="required", bucket="preview")  # fmt: skip
    async def markdown_preview(call: Call) -> s.MarkdownOut:
        """Render Markdown as a post or comment body would be (the same renderer and sanitizer)."""
        # Up to 40 KB of Markdown: rendered off the event loop.
        return s.MarkdownOut(await asyncio.to_thread(markdown_html, call.body.text))

    @api.route("POST", "/api/v1/channels/{channel_id}/posts", body=s.PostIn, response=s.PostOut, status=201,
               auth="required", bucket="posts")  # fmt: skip
    async def create_post(call: Call) -> s.PostOut:
        """Create a post in a forum channel (Markdown body, or a link)."""
        return await c().posts.create(call.user_id, call.path("channel_id"), call.body)

    @api.route("GET", "/api/v1/channels/{channel_id}/posts", query=s.FeedQuery, response=s.PostList)
    async def channel_feed(call: Call) -> PostPage:
        """A forum channel's posts: hot, new, top or controversial."""
        uid = call.viewer_id
        return await c().posts.channel_feed(uid, call.path("channel_id"), call.query)

    @api.route("GET", "/api/v1/communities/{community_id}/posts", query=s.FeedQuery, response=s.PostList)
    async def community_feed(call: Call) -> PostPage:
        """Posts across a community's forum channels that you can see."""
        uid = call.viewer_id
        return await c().posts.community_feed(uid, call.path("community_id"), call.query)

    @api.route("GET", "/api/v1/feed/home", query=s.FeedQuery, response=s.PostList, auth="required")
    async def home_feed(call: Call) -> PostPage:
        """Posts across every community you belong to."""
        return await c().posts.home_feed(call.user_id, call.query)

    @api.route("GET", "/api/v1/posts/{post_id}", response=s.PostOut)
    async def get_post(call: Call) -> s.PostOut:
        """One post (counts a view)."""
        return await c().posts.get(call.viewer_id, call.path("post_id"))

    @api.route("PATCH", "/api/v1/posts/{post_id}", body=s.PostEditIn, response=s.PostOut, auth="required")
    async def edit_post(call: Call) -> s.PostOut:
        """Edit your post's body, link, tags, NSFW or spoiler flags."""
        return await c().posts.edit(call.user_id, call.path("post_id"), call.body)

    @api.route("DELETE", "/api/v1/posts/{post_id}", auth="required")
    async def delete_post(call: Call) -> None:
        """Delete your post, or remove someone else's as a moderator (?reason=)."""
        await c().posts.delete(
            _principal(call), call.path("post_id"), call.request.query.get("reason", "")[:512]
        )

    @api.route("PUT", "/api/v1/posts/{post_id}/vote", body=s.VoteIn, response=s.VoteOut, auth="required",
               bucket="votes")  # fmt: skip
    async def vote_post(call: Call) -> s.VoteOut:
        """Vote +1, -1, or 0 (withdraw) on a post."""
        return await c().reactions.vote(call.user_id, "post", call.path("post_id"), call.body.value)

    @api.route("POST", "/api/v1/posts/{post_id}/comments", body=s.CommentIn, response=s.CommentOut,
               status=201, auth="required", bucket="messages")  # fmt: skip
    async def create_comment(call: Call) -> s.CommentOut:
        """Comment on a post, or reply to a comment (parent_id)."""
        return await c().comments.create(_principal(call), call.path("post_id"), call.body)

    @api.route("GET", "/api/v1/posts/{post_id}/comments", query=s.CommentQuery, response=s.CommentTree)
    async def comment_tree(call: Call) -> s.CommentTree:
        """The comment tree, limited in depth and count; "more" stubs say how to continue."""
        uid = call.viewer_id
        return await c().comments.tree(uid, call.path("post_id"), call.query)

    @api.route("GET", "/api/v1/comments/{comment_id}", response=s.CommentOut)
    async def get_comment(call: Call) -> s.CommentOut:
        """One comment (without replies)."""
        return await c().comments.one(call.viewer_id, call.path("comment_id"))

    @api.route("PATCH", "/api/v1/comments/{comment_id}", body=s.CommentEditIn, response=s.CommentOut,
               auth="required")  # fmt: skip
    async def edit_comment(call: Call) -> s.CommentOut:
        """Edit your comment."""
        return await c().comments.edit(call.user_id, call.path("comment_id"), call.body)

    @api.route("DELETE", "/api/v1/comments/{comment_id}", auth="required")
    async def delete_comment(call: Call) -> None:
        """Delete your comment, or remove someone else's as a moderator (?reason=)."""
        await c().comments.delete(
            _principal(call), call.path("comment_id"), call.request.query.get("reason", "")[:512]
        )

    @api.route("PUT", "/api/v1/comments/{comment_id}/vote", body=s.VoteIn, response=s.VoteOut,
               auth="required", bucket="votes")  # fmt: skip
    async def vote_comment(call: Call) -> s.VoteOut:
        """Vote +1, -1, or 0 (withdraw) on a comment."""
        return await c().reactions.vote(call.user_id, "comment", call.path("comment_id"), call.body.value)


def shared_routes(api: Api, node: Node) -> None:
    def c() -> Content:
        return node.services.require(CONTENT)

    for plural, kind in TARGETS.items():
        _target_routes(api, c, plural, kind)
    _emoji_routes(api, c)


def _emoji_routes(api: Api, c: Callable[[], Content]) -> None:
    @api.route("GET", "/api/v1/communities/{community_id}/emojis", response=s.EmojiList)
    async def list_emojis(call: Call) -> s.EmojiList:
        """A community's custom emoji."""
        return await c().reactions.emojis(call.path("community_id"))

    @api.route("POST", "/api/v1/communities/{community_id}/emojis", body=s.EmojiIn, response=s.EmojiOut,
               status=201, auth="required")  # fmt: skip
    async def add_emoji(call: Call) -> s.EmojiOut:
        """Add a custom emoji (MANAGE_COMMUNITY); its image is a media id."""
        return await c().reactions.add_emoji(call.user_id, call.path("community_id"), call.body)

    @api.route("PATCH", "/api/v1/communities/{community_id}/emojis/{emoji_id}", body=s.EmojiPatch,
               response=s.EmojiOut, auth="required")  # fmt: skip
    async def rename_emoji(call: Call) -> s.EmojiOut:
        """Rename a custom emoji (MANAGE_COMMUNITY); reactions and messages keep using it by id."""
        uid, cid, eid = call.user_id, call.path("community_id"), call.path("emoji_id")
        return await c().reactions.rename_emoji(uid, cid, eid, call.body)

    @api.route("DELETE", "/api/v1/communities/{community_id}/emojis/{emoji_id}", auth="required")
    async def delete_emoji(call: Call) -> None:
        """Delete a custom emoji (MANAGE_COMMUNITY)."""
        await c().reactions.delete_emoji(call.user_id, call.path("community_id"), call.path("emoji_id"))


def _target_routes(api: Api, c: Callable[[], Content], plural: str, kind: TargetType) -> None:
    path = f"/api/v1/{plural}/{{target_id}}/reactions/{{emoji}}"

    @api.route("PUT", path, auth="required", bucket="reactions", summary=f"React to a {kind}")
    async def add_reaction(call: Call) -> None:
        """React with a unicode emoji or a community's custom one ("name:id")."""
        await c().reactions.react(call.user_id, kind, call.path("target_id"), call.path("emoji"), True)

    @api.route(
        "DELETE", path, auth="required", bucket="reactions", summary=f"Remove your reaction to a {kind}"
    )
    async def remove_reaction(call: Call) -> None:
        """Take your reaction back."""
        await c().reactions.react(call.user_id, kind, call.path("target_id"), call.path("emoji"), False)

    @api.route("GET", path, response=s.ReactionUsers, summary=f"Who reacted to a {kind} with this emoji")
    async def reaction_users(call: Call) -> s.ReactionUsers:
        """Who reacted with this emoji."""
        uid = call.viewer_id
        return await c().reactions.users(uid, kind, call.path("target_id"), call.path("emoji"))

    @api.route("POST", f"/api/v1/{plural}/{{target_id}}/moderation", body=s.ModerateIn, auth="required",
               summary=f"Moderate a {kind}")  # fmt: skip
    async def moderate(call: Call) -> None:
        """Moderators: remove/approve, pin/unpin (messages), lock/unlock and sticky/unsticky (posts)."""
        await c().moderation.moderate(_principal(call), kind, call.path("target_id"), call.body)

    for fn in (add_reaction, remove_reaction, reaction_users, moderate):
        fn.__name__ = f"{fn.__name__}_{kind}"
