"""Forwarding a message into another channel: read at the source (the forwarder must be able to read
it there), sent at the target as the forwarder's own message (SEND_MESSAGES there, judged by the
rule book like any message). The copy quotes the text with its mentions turned into plain names,
so forwarding notifies nobody the original named; attachments stay with the original."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from cryb_node.http.api import Api, Call
from cryb_node.mentions import readable
from cryb_node.node import Node

from . import schemas as s
from .service import CONTENT, Content

COMMENT_MAX = 1000
QUOTE_MAX = s.MAX_MESSAGE - COMMENT_MAX - 200  # room for the comment and the "forwarded" line


class ForwardIn(s.Body):
    channel_id: s.AnyId
    comment: Annotated[str, Meta(max_length=COMMENT_MAX)] = ""


def _quote(text: str) -> str:
    text = text.replace("@everyone", "@\u200beveryone").replace("@here", "@\u200bhere")
    if len(text) > QUOTE_MAX:
        text = text[: QUOTE_MAX - 1] + "…"
    return "\n".join(f"> {line}" for line in text.splitlines() or [""])


async def forward(
    node: Node, content: Content, user_id: str, channel_id: str, mid: str, body: ForwardIn
) -> s.MessageOut:
    original = await content.chat.get(user_id, channel_id, mid)  # 404 unless the forwarder reads it
    services = node.services
    author = await readable(services, user_id, f"<@{original.author_id}>")
    place = (
        await readable(services, user_id, f"<#{channel_id}>") if original.community_id else "a direct message"
    )
    quoted = (
        _quote(await readable(services, user_id, original.content))
        if original.content
        else "> (attachments only)"
    )
    text = f"{body.comment}\n\n" if body.comment.strip() else ""
    text += f"↪ Forwarded from {author} in {place}:\n{quoted}"
    return await content.chat.send(user_id, body.channel_id, s.MessageIn(content=text))


def forward_routes(api: Api, node: Node) -> None:
    @api.route("POST", "/api/v1/channels/{channel_id}/messages/{message_id}/forward", body=ForwardIn,
               response=s.MessageOut, status=201, auth="required", bucket="messages")  # fmt: skip
    async def forward_message(call: Call) -> s.MessageOut:
        """Forward a message you can read into a channel (or DM) where you may send; the copy quotes it
        and says where it came from."""
        content = node.services.require(CONTENT)
        return await forward(
            node, content, call.user_id, call.path("channel_id"), call.path("message_id"), call.body
        )
