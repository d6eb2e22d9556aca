"""HTTP routes of sign-up control: the public rules for the sign-up page, and the node admin's
applications, registration tokens and account creation (registration.py holds the rules)."""

from __future__ import annotations

from cryb_node.http.api import Api, Call
from cryb_node.node import Node

from . import accounts
from . import registration_tokens as tokens
from .admin_routes import require_admin
from .registration import REGISTRATION
from .registration_schemas import (
    ApplicationDecision,
    ApplicationList,
    NewAccountIn,
    RegistrationInfo,
    RegistrationTokenIn,
    RegistrationTokenList,
    RegistrationTokenOut,
    RejectIn,
)
from .routes import client_of

ADMIN = "/api/v1/admin"


def registration_routes(api: Api, node: Node) -> None:
    @api.route("GET", "/api/v1/auth/registration", response=RegistrationInfo, auth="none")
    async def registration_info(call: Call) -> RegistrationInfo:
        """How this node takes sign-ups: the mode, the approval question, and a fresh proof-of-work
        challenge when one is needed."""
        return node.services.require(REGISTRATION).info()

    @api.route("GET", f"{ADMIN}/applications", response=ApplicationList, auth="required")
    async def list_applications(call: Call) -> ApplicationList:
        """Sign-ups waiting for approval, oldest first, with their answers (node admins)."""
        await require_admin(call, node)
        return await node.services.require(REGISTRATION).applications()

    @api.route(
        "POST",
        f"{ADMIN}/applications/{{user_id}}/approve",
        response=ApplicationDecision,
        auth="required",
        bucket="write",
    )
    async def approve(call: Call) -> ApplicationDecision:
        """Approve an application: the account can sign in, and the applicant is mailed (node admins)."""
        actor = await require_admin(call, node)
        reg = node.services.require(REGISTRATION)
        return await reg.decide(call.path("user_id"), True, client_of(call, node), actor_id=actor)

    @api.route(
        "POST",
        f"{ADMIN}/applications/{{user_id}}/reject",
        body=RejectIn,
        response=ApplicationDecision,
        auth="required",
        bucket="write",
    )
    async def reject(call: Call) -> ApplicationDecision:
        """Reject an application: the applicant is mailed (with the optional reason) and their
        personal data is wiped (node admins)."""
        actor = await require_admin(call, node)
        reg = node.services.require(REGISTRATION)
        return await reg.decide(
            call.path("user_id"), False, client_of(call, node), actor_id=actor, reason=call.body.reason
        )

    @api.route("GET", f"{ADMIN}/registration-tokens", response=RegistrationTokenList, auth="required")
    async def list_tokens(call: Call) -> RegistrationTokenList:
        """Registration tokens, newest first, with their state and uses (node admins)."""
        await require_admin(call, node)
        reg = node.services.require(REGISTRATION)
        return RegistrationTokenList(await tokens.list_tokens(reg.users))

    @api.route(
        "POST",
        f"{ADMIN}/registration-tokens",
        body=RegistrationTokenIn,
        response=RegistrationTokenOut,
        status=201,
        auth="required",
        bucket="write",
    )
    async def create_token(call: Call) -> RegistrationTokenOut:
        """Make a registration token; the answer is the only place the token itself is shown."""
        actor = await require_admin(call, node)
        reg = node.services.require(REGISTRATION)
        return await tokens.create(
            reg.users, client_of(call, node), uses=call.body.uses,
            expires_in_s=call.body.expires_in_s, actor_id=actor,
        )  # fmt: skip

    @api.route(
        "DELETE",
        f"{ADMIN}/registration-tokens/{{token_id}}",
        response=RegistrationTokenOut,
        auth="required",
        bucket="write",
    )
    async def revoke_token(call: Call) -> RegistrationTokenOut:
        """Revoke a registration token (by id): it admits no one from now on (node admins)."""
        actor = await require_admin(call, node)
        reg = node.services.require(REGISTRATION)
        return await tokens.revoke(reg.users, call.path("token_id"), client_of(call, node), actor_id=actor)

    @api.route(
        "POST",
        f"{ADMIN}/users",
        body=NewAccountIn,
        response=accounts.AccountSummary,
        status=201,
        auth="required",
        bucket="write",
    )
    async def create_account(call: Call) -> accounts.AccountSummary:
        """Create an account in any registration mode, the address counted as verified (node admins)."""
        actor = await require_admin(call, node)
        reg = node.services.require(REGISTRATION)
        return await reg.create_account(call.body, client_of(call, node), actor)
