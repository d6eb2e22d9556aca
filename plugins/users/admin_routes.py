"""HTTP routes for node admins: the audit log."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from cryb_node.gateway.api import Api, Call
from cryb_node.node import Node
from cryb_node.problems import forbidden

from .audit import AuditPage
from .routes import users_of


class AuditQuery(msgspec.Struct, forbid_unknown_fields=True):
    user_id: str | None = None
    action: str | None = None
    before: Annotated[int, Meta(ge=1)] | None = None
    limit: Annotated[int, Meta(ge=1, le=500)] = 100


async def require_admin(call: Call, node: Node) -> str:
    """Node admins only; the flag is re-read so a demotion or disable applies at once."""
    if call.principal is None or not call.principal.admin:
        raise forbidden("node admins only")
    ok = await node.db.fetchval(
        "SELECT admin = 1 AND status = 'active' FROM users_accounts WHERE id = ?", (call.user_id,)
    )
    if not ok:
        raise forbidden("node admins only")
    return call.user_id


def admin_routes(api: Api, node: Node) -> None:
    @api.route("GET", "/api/v1/admin/audit", query=AuditQuery, response=AuditPage, auth="required")
    async def get_audit(call: Call) -> AuditPage:
        """The audit log, newest first (node admins)."""
        await require_admin(call, node)
        q = call.query
        return await users_of(node).audit_page(q.user_id, q.action, q.before, q.limit)
