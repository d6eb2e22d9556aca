"""HTTP routes of the node admin console's users section (node admins only): list and search,
show, change status or admin flag, sign out everywhere, purge what an account wrote, erase it.
The rules are in console.py, which `cryb user ...` calls too."""

from __future__ import annotations

from cryb_node.http.api import Api, Call
from cryb_node.node import Node

from . import console
from .admin_routes import require_admin
from .routes import client_of
from .service import USERS


def admin_user_routes(api: Api, node: Node) -> None:
    @api.route("GET", "/api/v1/admin/users", query=console.UserSearch, response=console.UserPage,
               auth="required")  # fmt: skip
    async def list_users(call: Call) -> console.UserPage:
        """Local accounts, newest first: by name, exact email, status and admin flag (node admins)."""
        await require_admin(call, node)
        return await console.search(node.services.require(USERS), call.query)

    @api.route("GET", "/api/v1/admin/users/{user_id}", response=console.UserDetail, auth="required")
    async def show_user(call: Call) -> console.UserDetail:
        """One account: sessions, what it wrote, its latest audit entries (node admins)."""
        await require_admin(call, node)
        return await console.show(node.services.require(USERS), call.path("user_id"))

    @api.route("PATCH", "/api/v1/admin/users/{user_id}", body=console.UserPatch,
               response=console.AdminUser, auth="required")  # fmt: skip
    async def update_user(call: Call) -> console.AdminUser:
        """Disable or enable an account, make it a node admin or not (the last active admin stays)."""
        actor = await require_admin(call, node)
        return await console.update(
            node.services.require(USERS),
            call.path("user_id"),
            call.body,
            client_of(call, node),
            actor_id=actor,
        )

    @api.route("POST", "/api/v1/admin/users/{user_id}/sign-out", response=console.SignedOut,
               auth="required")  # fmt: skip
    async def sign_out_user(call: Call) -> console.SignedOut:
        """End every session of the account (node admins)."""
        actor = await require_admin(call, node)
        n = await console.sign_out(
            node.services.require(USERS), call.path("user_id"), client_of(call, node), actor_id=actor
        )
        return console.SignedOut(n)

    @api.route("POST", "/api/v1/admin/users/{user_id}/purge-content", body=console.ConfirmIn,
               response=console.Purged, auth="required")  # fmt: skip
    async def purge_user_content(call: Call) -> console.Purged:
        """Delete everything the account wrote, keeping the account; `confirm` is its username."""
        actor = await require_admin(call, node)
        n = await console.purge_content(
            node.services.require(USERS),
            call.path("user_id"),
            call.body.confirm,
            client_of(call, node),
            actor_id=actor,
        )
        return console.Purged(n)

    @api.route("DELETE", "/api/v1/admin/users/{user_id}", body=console.ConfirmIn, auth="required")
    async def erase_user(call: Call) -> None:
        """Erase the account and everything it wrote (as account deletion does); `confirm` is its
        username."""
        actor = await require_admin(call, node)
        await console.erase(
            node.services.require(USERS),
            call.path("user_id"),
            call.body.confirm,
            client_of(call, node),
            actor_id=actor,
        )
