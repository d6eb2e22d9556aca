"""HTTP routes of forum channels' tag sets: read by whoever may view the channel, set with
MANAGE_CHANNELS (one channel.tags event; forum_tags.py holds the rule)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from cryb_node.http.api import Api, Call
from cryb_node.node import Node
from cryb_node.problems import not_found
from cryb_node.services import Perm

from . import queries
from .forum_tags import MAX_TAG_CHARS, MAX_TAGS, ChannelTags
from .parts import PARTS
from .schemas import Body
from .service import Actor, Step

CH = "/api/v1/channels/{channel_id}/tags"


class TagsIn(Body):
    tags: Annotated[
        list[Annotated[str, Meta(min_length=1, max_length=MAX_TAG_CHARS)]], Meta(max_length=MAX_TAGS)
    ]


class TagsOut(msgspec.Struct):
    channel_id: str
    tags: list[str]  # empty: the channel has no tag set (posts may carry any tags)


def forum_tags_routes(api: Api, node: Node) -> None:
    async def visible(call: Call) -> tuple[str, str]:
        parts = node.services.require(PARTS)
        channel_id = call.path("channel_id")
        user = call.principal.user_id if call.principal else None
        access = await parts.perms.channel(user, channel_id)
        if access is None or not access.has(Perm.VIEW_CHANNEL):
            raise not_found("channel")
        return access.community_id, channel_id

    async def read(community_id: str, channel_id: str) -> TagsOut:
        return TagsOut(channel_id, await queries.channel_tags(node.db, community_id, channel_id))

    @api.route("GET", CH, response=TagsOut)
    async def get_tags(call: Call) -> TagsOut:
        """A forum channel's tag set (the feed filters by these: ?tag=)."""
        return await read(*await visible(call))

    @api.route("PUT", CH, body=TagsIn, response=TagsOut, bucket="write", auth="required")
    async def set_tags(call: Call) -> TagsOut:
        """Set a forum channel's tag set (MANAGE_CHANNELS); new posts may only carry these tags.
        An empty list lifts it."""
        community_id, channel_id = await visible(call)
        p = call.principal
        actor = Actor(p.user_id, p.admin) if p is not None else Actor(None)
        svc = node.services.require(PARTS).communities
        await svc.write(
            actor, Step("channel.tags", community_id, channel_id, ChannelTags(tags=call.body.tags))
        )
        return await read(community_id, channel_id)
