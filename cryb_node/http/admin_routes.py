"""The core's node-admin routes: the backups list (the same listing as `cryb backup list`) with the
running node's replication status. Peers and their sync state are the sync plugin's
(GET /api/v1/admin/peers, cryb_node/sync/routes.py)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cryb_node.backup import replica, replication
from cryb_node.http.api import Api, Call
from cryb_node.problems import forbidden
from cryb_node.services import AUDIT

if TYPE_CHECKING:
    from cryb_node.node import Node


def require_node_admin(call: Call) -> str:
    """Node admins only. The authenticator re-reads an admin claim on every request (plugins/users/
    tokens.py), so a demotion or a disable applies at once."""
    if call.principal is None or not call.principal.admin:
        raise forbidden("node admins only")
    return call.principal.user_id


async def require_current_admin(call: Call, node: Node) -> str:
    """``require_node_admin``, and the account is an active admin in the database right now: the
    access token's admin claim lasts until the token expires, a demotion or a disable does not wait."""
    user_id = require_node_admin(call)
    audit = node.services.get(AUDIT)
    if audit is None or not await audit.is_admin(user_id):
        raise forbidden("node admins only")
    return user_id


def admin_routes(api: Api, node: Node) -> None:
    @api.route(
        "GET", "/api/v1/admin/backups", response=replica.Backups, auth="required",
        summary="Backups in the replica (snapshots, restorable range) and replication status (node admins)",
    )  # fmt: skip
    async def get_backups(call: Call) -> replica.Backups:
        require_node_admin(call)
        live = node.replication.status() if node.replication is not None else None
        status = live or replication.read_status(node.data_dir)
        # Listing runs a one-shot litestream process: off the event loop.
        return await asyncio.to_thread(replica.overview, node.config, node.db_path, status)
