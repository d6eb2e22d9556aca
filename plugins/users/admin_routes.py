"""HTTP routes for node admins: the audit log."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from cryb_node.http.api import Api, Call
from cryb_node.node import Node
from cryb_node.problems import Problem, forbidden

from . import queries
from .audit import AuditPage
from .routes import client_of
from .schemas import Email, Password, Registered, Username
from .service import USERS
from .webcookie import with_cookie


class AuditQuery(msgspec.Struct, forbid_unknown_fields=True):
    user_id: str | None = None
    action: str | None = None
    before: Annotated[int, Meta(ge=1)] | None = None
    limit: Annotated[int, Meta(ge=1, le=500)] = 100


async def require_admin(call: Call, node: Node) -> str:
    """Node admins only; the flag is re-read so a demotion or disable applies at once."""
    if call.principal is None or not call.principal.admin:
        raise forbidden("node admins only")
    if not await queries.is_active_admin(node.db, call.user_id):
        raise forbidden("node admins only")
    return call.user_id


class SetupIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    token: Annotated[str, Meta(min_length=1, max_length=200)]
    username: Username
    email: Email
    password: Password


def admin_routes(api: Api, node: Node) -> None:
    @api.route(
        "POST", "/api/v1/auth/setup", body=SetupIn, response=Registered, status=201, bucket="auth",
        auth="none", summary="First run: create the node admin with the one-time link printed at start",
    )  # fmt: skip
    async def setup_admin(call: Call) -> Registered:
        users, body = node.services.require(USERS), call.body
        async with users.first_run.lock:
            if not await users.first_run.valid(body.token):
                raise Problem("setup_unavailable", 403, "the setup link is used up or wrong", field="token")
            user_id, pair = await users.create_account(
                body.username, body.email, body.password, client=client_of(call, node), admin=True,
                verified=True,
            )  # fmt: skip
            users.first_run.done()
        assert pair is not None
        me = await users.me(user_id)
        result = Registered(me, pair.access_token, pair.refresh_token, pair.expires_in)
        return with_cookie(call.request, node, result, users.s.refresh_ttl_s, 201)

    @api.route("GET", "/api/v1/admin/audit", query=AuditQuery, response=AuditPage, auth="required")
    async def get_audit(call: Call) -> AuditPage:
        """The audit log, newest first (node admins)."""
        await require_admin(call, node)
        q = call.query
        return await node.services.require(USERS).audit_page(q.user_id, q.action, q.before, q.limit)
