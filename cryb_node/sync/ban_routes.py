"""HTTP: node bans for node admins (GET/POST /api/v1/admin/bans, DELETE /api/v1/admin/bans/{id}),
the same functions `cryb ban` calls (bans.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryb_node.http.admin_routes import require_node_admin
from cryb_node.http.api import Api, Call
from cryb_node.http.middleware import client_address

from . import bans

if TYPE_CHECKING:
    from cryb_node.node import Node


def ban_routes(api: Api, node: Node) -> None:
    def ip(call: Call) -> str:
        return client_address(call.request, set(node.config.server.trusted_proxies))

    @api.route(
        "GET", "/api/v1/admin/bans", response=bans.NodeBanList, auth="required",
        summary="This node's bans of remote users and peer nodes, newest first (node admins)",
    )  # fmt: skip
    async def list_bans(call: Call) -> bans.NodeBanList:
        require_node_admin(call)
        return bans.NodeBanList(await bans.listing(node.db))

    @api.route(
        "POST", "/api/v1/admin/bans", body=bans.NodeBanIn, response=bans.NodeBan, status=201, auth="required",
        bucket="write",
        summary="Ban a remote user (name@home or id) or a peer node (key, or a pinned peer's URL) here",
    )  # fmt: skip
    async def add_ban(call: Call) -> bans.NodeBan:
        admin = require_node_admin(call)
        return await bans.add(node, call.body, actor_id=admin, ip=ip(call))

    @api.route(
        "DELETE", "/api/v1/admin/bans/{ban_id}", response=bans.Unbanned, auth="required", bucket="write",
        summary="Lift a ban: their events are accepted again and what was hidden here is shown again",
    )  # fmt: skip
    async def remove_ban(call: Call) -> bans.Unbanned:
        admin = require_node_admin(call)
        return await bans.remove(node, call.path("ban_id"), actor_id=admin, ip=ip(call))
