"""HTTP routes for friends and blocks."""

from __future__ import annotations

from typing import Literal

import msgspec

from cryb_node.http.api import Api, Call
from cryb_node.node import Node

from .relationships import RELATIONSHIP_SERVICE, RelationshipList, RelationshipService


class RelationshipQuery(msgspec.Struct, forbid_unknown_fields=True):
    type: Literal["friend", "outgoing", "incoming", "blocked"] | None = None


class FriendState(msgspec.Struct):
    type: str


def relationship_routes(api: Api, node: Node) -> None:
    def rels() -> RelationshipService:
        return node.services.require(RELATIONSHIP_SERVICE)

    @api.route("GET", "/api/v1/users/@me/relationships", query=RelationshipQuery, response=RelationshipList,
               auth="required")  # fmt: skip
    async def list_relationships(call: Call) -> RelationshipList:
        """Friends, pending requests (incoming, outgoing) and blocks."""
        return await rels().list(call.user_id, call.query.type)

    @api.route(
        "PUT", "/api/v1/users/@me/friends/{user_id}", response=FriendState, auth="required", bucket="write"
    )
    async def befriend(call: Call) -> FriendState:
        """Send a friend request, or accept the one they sent."""
        return FriendState(await rels().befriend(call.user_id, call.path("user_id")))

    @api.route("DELETE", "/api/v1/users/@me/friends/{user_id}", auth="required", bucket="write")
    async def unfriend(call: Call) -> None:
        """Decline or cancel a request, or remove a friend."""
        await rels().unfriend(call.user_id, call.path("user_id"))

    @api.route("PUT", "/api/v1/users/@me/blocks/{user_id}", auth="required", bucket="write")
    async def block(call: Call) -> None:
        """Block a user: no friend requests, DMs or notifications from them."""
        await rels().block(call.user_id, call.path("user_id"))

    @api.route("DELETE", "/api/v1/users/@me/blocks/{user_id}", auth="required", bucket="write")
    async def unblock(call: Call) -> None:
        """Lift a block."""
        await rels().unblock(call.user_id, call.path("user_id"))
