"""HTTP routes for account management: email verification and password reset (anonymous), password,
email, two-factor, deactivation and deletion (signed in)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from cryb_node.http.api import Api, Call
from cryb_node.node import Node

from . import accounts, emails, twofactor
from .console import end_live
from .routes import client_of
from .schemas import Email, Password
from .service import USERS

Token = Annotated[str, Meta(min_length=1, max_length=200)]
AnyPassword = Annotated[str, Meta(min_length=1, max_length=256)]
Code = Annotated[str, Meta(min_length=1, max_length=64)]


class TokenIn(msgspec.Struct, forbid_unknown_fields=True):
    token: Token


class Accepted(msgspec.Struct):
    status: str


class ResetIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email


class ResetConfirmIn(msgspec.Struct, forbid_unknown_fields=True):
    token: Token
    new_password: Password


class PasswordIn(msgspec.Struct, forbid_unknown_fields=True):
    password: AnyPassword


class ChangePasswordIn(msgspec.Struct, forbid_unknown_fields=True):
    current_password: AnyPassword
    new_password: Password


class ChangeEmailIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: AnyPassword


class CodeIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Code


class DisableTotpIn(msgspec.Struct, forbid_unknown_fields=True):
    password: AnyPassword
    code: Code


def account_routes(api: Api, node: Node) -> None:
    @api.route(
        "GET", "/api/v1/auth/verify-email", query=TokenIn, response=Accepted, bucket="auth", auth="none"
    )
    async def verify_email_link(call: Call) -> Accepted:
        """The link in the verification mail: marks the address verified (once)."""
        await emails.verify(node.services.require(USERS), call.query.token, client_of(call, node))
        return Accepted("verified")

    @api.route(
        "POST", "/api/v1/auth/verify-email", body=TokenIn, response=Accepted, bucket="auth", auth="none"
    )
    async def verify_email(call: Call) -> Accepted:
        """Verify an address with the token from the mail."""
        await emails.verify(node.services.require(USERS), call.body.token, client_of(call, node))
        return Accepted("verified")

    @api.route("POST", "/api/v1/auth/password-reset", body=ResetIn, response=Accepted, status=202,
               bucket="auth", auth="none")  # fmt: skip
    async def request_reset(call: Call) -> Accepted:
        """Mail a reset link if the address has an account; the answer is the same either way."""
        await emails.request_reset(node.services.require(USERS), call.body.email, client_of(call, node))
        return Accepted("if that address has an account, a mail is on its way")

    @api.route("POST", "/api/v1/auth/password-reset/confirm", body=ResetConfirmIn, bucket="auth", auth="none")
    async def confirm_reset(call: Call) -> None:
        """Set a new password with the mailed token; every session of the account ends."""
        await emails.confirm_reset(
            node.services.require(USERS), call.body.token, call.body.new_password, client_of(call, node)
        )

    @api.route("POST", "/api/v1/users/@me/email/verify", response=Accepted, status=202, bucket="auth",
               auth="required")  # fmt: skip
    async def resend_verification(call: Call) -> Accepted:
        """Mail a new verification link to the current address."""
        await emails.send_verification(node.services.require(USERS), call.user_id, client_of(call, node))
        return Accepted("sent")

    @api.route("POST", "/api/v1/users/@me/email", body=ChangeEmailIn, response=Accepted, status=202,
               bucket="auth", auth="required")  # fmt: skip
    async def change_email(call: Call) -> Accepted:
        """Change the address (password needed); it must be verified again."""
        users = node.services.require(USERS)
        await users.check_password(call.user_id, call.body.password)
        await emails.change_email(users, call.user_id, call.body.email, client_of(call, node))
        return Accepted("verification sent to the new address")

    @api.route("POST", "/api/v1/users/@me/password", body=ChangePasswordIn, bucket="auth", auth="required")
    async def change_password(call: Call) -> None:
        """Change the password; every other session is signed out."""
        principal = call.principal
        assert principal is not None
        await accounts.change_password(
            node.services.require(USERS), principal.user_id, principal.session_id, call.body.current_password,
            call.body.new_password, client_of(call, node),
        )  # fmt: skip

    @api.route("POST", "/api/v1/users/@me/totp/enrol", body=PasswordIn, response=twofactor.Enrolment,
               bucket="auth", auth="required")  # fmt: skip
    async def totp_enrol(call: Call) -> twofactor.Enrolment:
        """Start two-factor enrolment: a secret for the authenticator app (not active until confirmed)."""
        return await twofactor.enrol(
            node.services.require(USERS), call.user_id, call.body.password, client_of(call, node)
        )

    @api.route("POST", "/api/v1/users/@me/totp/confirm", body=CodeIn, response=twofactor.RecoveryCodes,
               bucket="auth", auth="required")  # fmt: skip
    async def totp_confirm(call: Call) -> twofactor.RecoveryCodes:
        """Turn two-factor on with a first code; answers with one-time recovery codes (shown once)."""
        return await twofactor.confirm(
            node.services.require(USERS), call.user_id, call.body.code, client_of(call, node)
        )

    @api.route("POST", "/api/v1/users/@me/totp/disable", body=DisableTotpIn, bucket="auth", auth="required")
    async def totp_disable(call: Call) -> None:
        """Turn two-factor off (password and a current or recovery code needed)."""
        await twofactor.disable(
            node.services.require(USERS),
            call.user_id,
            call.body.password,
            call.body.code,
            client_of(call, node),
        )

    @api.route("POST", "/api/v1/users/@me/deactivate", body=PasswordIn, bucket="auth", auth="required")
    async def deactivate(call: Call) -> None:
        """Deactivate the account (an admin can enable it again); all sessions end."""
        users = node.services.require(USERS)
        await users.check_password(call.user_id, call.body.password)
        await accounts.set_status(users, call.user_id, "deactivated", client_of(call, node))
        await end_live(node, {call.user_id}, "account deactivated")  # every device, not only this one

    @api.route("DELETE", "/api/v1/users/@me", body=PasswordIn, bucket="auth", auth="required")
    async def delete_me(call: Call) -> None:
        """Delete the account for good: PII erased here, profile erased on every node."""
        users = node.services.require(USERS)
        await users.check_password(call.user_id, call.body.password)
        await accounts.delete(users, call.user_id, client_of(call, node))
        await end_live(node, {call.user_id}, "account deleted")
