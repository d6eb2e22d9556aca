"""Sign-up control: who may create an account ([plugin.users] registration = open | invite |
approval | closed), the bot defences every sign-up passes, and the admin's side (applications,
approve/reject, accounts made by an admin).

A sign-up is checked cheapest first: the mode, the honeypot, the proof of work, the rate limits
(per address, then node-wide), then what the mode asks for (an invite or token; an answer). Every
refusal is audited as ``registration.refused`` with its reason and nothing about the applicant but
the address audit already keeps (sealed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cryb_node.db import Connection
from cryb_node.events import Tx
from cryb_node.identity import key_dir
from cryb_node.mail import Mail, MailError
from cryb_node.problems import Problem, not_found
from cryb_node.services import INVITES, ServiceKey

from . import accounts, queries_admin
from . import registration_tokens as tokens
from .events import CREATED, UserCreated
from .keys import derive, load_or_create_master
from .registration_schemas import (
    ApplicationDecision,
    ApplicationList,
    ApplicationOut,
    Mode,
    NewAccountIn,
    RegistrationInfo,
)
from .schemas import RegisterIn, TokenPair
from .signup_defences import ProofOfWork, Refusal, SignupLimits

if TYPE_CHECKING:
    from .service import Client, Users

log = logging.getLogger(__name__)

# What a sign-up may be refused for besides its own fields, as audited (``reason``).
_INVITE_PROBLEMS = ("invite_invalid", "invite_revoked", "invite_expired", "invite_used_up")


class Registration:
    """One per running node (the users plugin's setup provides it); routes and CLI share it."""

    def __init__(self, users: Users) -> None:
        self.users = users
        self.node = users.node
        self.s = users.s
        # Token expiry, challenges and sign-up windows are judged by the node's clock (tests move it).
        self.limits = SignupLimits(self.s, self.node.config.rate_limits.enabled, self.node.clock.time)
        self.pow: ProofOfWork

    async def open(self) -> None:
        master = load_or_create_master(key_dir(self.node.data_dir))
        self.pow = ProofOfWork(derive(master, b"cryb-signup-pow"), self.node.clock.time)
        if self.node.serving:  # the CLI neither signs anyone up nor should race the server's saves
            await self.limits.attach(self.node.db)
            await self.pow.attach(self.node.db)

    async def close(self) -> None:
        await self.limits.detach()
        await self.pow.detach()

    @property
    def mode(self) -> Mode:
        return self.s.registration

    def info(self) -> RegistrationInfo:
        bits = self.s.registration_pow_bits if self.mode != "closed" else 0
        return RegistrationInfo(
            mode=self.mode,
            invite_required=self.mode == "invite",
            question=self.s.registration_question if self.mode == "approval" else None,
            pow=self.pow.issue(bits, self.s.registration_pow_ttl_s) if bits else None,
        )

    # -- signing up -----------------------------------------------------------------------------

    async def register(self, body: RegisterIn, client: Client) -> tuple[str, TokenPair | None]:
        """A sign-up over HTTP: the user id and a token pair, or no pair for a pending application."""
        try:
            return await self._register(body, client)
        except Refusal as refusal:
            reason = refusal.reason
            await self.node.db.write(
                lambda c: self.users.audit(c, "registration.refused", client, reason=reason, mode=self.mode)
            )
            raise refusal.problem from None

    async def _register(self, body: RegisterIn, client: Client) -> tuple[str, TokenPair | None]:
        if self.mode == "closed":
            raise Refusal("closed", Problem(
                "registration_closed", 403, "sign-ups are closed on this node; an admin can make your account"
            ))  # fmt: skip
        if body.website:
            # Only a bot sees (and fills) the field; the answer must not tell it what gave it away.
            raise Refusal("honeypot", Problem("signup_refused", 400, "this sign-up could not be completed"))
        if self.s.registration_pow_bits:
            self.pow.check(body.pow, self.s.registration_pow_bits)
        self.limits.hit(client.ip)
        in_tx = None
        if self.mode == "invite":
            in_tx = await self._invite(body.invite or "", client)
        elif self.mode == "approval":
            in_tx = self._application(body)
        try:
            return await self.users.create_account(
                body.username, body.email, body.password, client=client,
                display_name=body.display_name if isinstance(body.display_name, str) else "",
                pending=self.mode == "approval", in_tx=in_tx,
            )  # fmt: skip
        except Problem as problem:
            if problem.code in _INVITE_PROBLEMS:  # the token went bad meanwhile (its last use taken)
                raise Refusal(problem.code.replace("invite_", "token_"), problem) from None
            raise

    async def _invite(self, code: str, client: Client) -> Callable[[Connection, str], None]:
        code = code.strip()
        if not code:
            raise Refusal("invite_missing", Problem(
                "invite_required", 400, "sign-ups on this node need an invite code or a registration token",
                field="invite",
            ))  # fmt: skip
        try:
            token_id = await tokens.check(self.users, code)
        except Problem as problem:
            raise Refusal(problem.code.replace("invite_", "token_"), problem) from None
        if token_id is not None:

            def use_token(conn: Connection, user_id: str) -> None:
                tokens.use_in_tx(conn, token_id, self.node.clock.time())
                self.users.audit(conn, "registration.token_used", client, user_id=user_id, token_id=token_id)

            return use_token
        service = self.node.services.get(INVITES)
        found = await service.lookup(code) if service is not None else None
        if found is None:
            raise Refusal("invite_invalid", Problem(
                "invite_invalid", 403, "this invite code or token is not valid", field="invite"
            ))  # fmt: skip
        if not found.usable:
            detail = {"revoked": "was revoked", "expired": "has expired", "used_up": "has no uses left"}
            raise Refusal(f"invite_{found.reason}", Problem(
                f"invite_{found.reason}", 410, f"this invite {detail.get(found.reason, 'cannot be used')}",
                field="invite",
            ))  # fmt: skip

        def note_invite(conn: Connection, user_id: str) -> None:
            # Not a use: the invite is used when the new member joins with it.
            self.users.audit(
                conn, "registration.invited", client, user_id=user_id, community_id=found.community_id
            )

        return note_invite

    def _application(self, body: RegisterIn) -> Callable[[Connection, str], None]:
        answer = (body.answer or "").strip()
        if not answer:
            raise Problem("answer_required", 400, "answer the node's question to apply", field="answer")
        sealed, display_name = self.users.keys.seal(answer), body.display_name or ""

        def apply(conn: Connection, user_id: str) -> None:
            conn.execute(
                "INSERT INTO users_applications (user_id, answer_ct, display_name, created_at)"
                " VALUES (?, ?, ?, ?)",
                (user_id, sealed, display_name, self.users.now()),
            )

        return apply

    async def refuse_provider_signup(self, client: Client) -> None:
        """A first sign-in through an OAuth provider would create an account: only in open mode."""
        if self.mode != "open":
            await self.node.db.write(
                lambda c: self.users.audit(
                    c, "registration.refused", client, reason="provider", mode=self.mode
                )
            )
            raise Problem(
                "registration_closed", 403,
                "new accounts cannot be made by signing in with a provider on this node; register first",
            )  # fmt: skip

    # -- the admin's side -----------------------------------------------------------------------

    async def applications(self, limit: int = 500) -> ApplicationList:
        keys = self.users.keys
        return ApplicationList(
            self.s.registration_question,
            [
                ApplicationOut(
                    user_id=r["id"], username=r["username"], email=keys.open(r["email_ct"]),
                    email_verified=bool(r["email_verified"]), display_name=r["display_name"],
                    answer=keys.open(r["answer_ct"]) or "", created_at=r["created_at"],
                )
                for r in await queries_admin.applications(self.node.db, limit)
            ],
        )  # fmt: skip

    async def decide(
        self, user_id: str, approve: bool, client: Client, *, actor_id: str | None = None, reason: str = ""
    ) -> ApplicationDecision:
        """Approve (the account becomes active and public) or reject (its personal data is wiped and
        its name and address are free again); the applicant is mailed either way."""

        def write(tx: Tx) -> tuple[str | None, str]:
            conn = tx.conn
            row = queries_admin.application(conn, user_id)
            if row is None:
                raise not_found("application")
            now = self.users.now()
            conn.execute("DELETE FROM users_applications WHERE user_id = ?", (user_id,))
            if approve:
                conn.execute(
                    "UPDATE users_accounts SET status = 'active', updated_at = ? WHERE id = ?", (now, user_id)
                )
                created = UserCreated(username=row["username"], display_name=row["display_name"])
                tx.append(CREATED, created, author=user_id, target=user_id)
                self.users.audit(conn, "registration.approved", client, user_id=user_id, actor_id=actor_id)
            else:
                _wipe(conn, user_id, now)
                self.users.audit(conn, "registration.rejected", client, user_id=user_id, actor_id=actor_id)
            return self.users.keys.open(row["email_ct"]), row["username"]

        email, username = await self.node.events.transaction(write)
        name, base = self.node.config.node.name, self.node.config.base_url.rstrip("/")
        if approve:
            mail = Mail(
                email or "", f"Welcome to {name}: your account is approved",
                f"Hello {username},\n\nA node admin approved your account on {name}. Sign in here:\n\n"
                f"{base}/login\n",
                "registration_approved",
            )  # fmt: skip
        else:
            why = f"\n\nThe admin's note: {reason.strip()}" if reason.strip() else ""
            mail = Mail(
                email or "", f"Your application to {name}",
                f"Hello,\n\nA node admin of {name} did not accept your application for an account.{why}\n\n"
                "The details you gave (your name, address, password and answer) have been deleted.\n",
                "registration_rejected",
            )  # fmt: skip
        mailed = bool(email) and await self._send(mail)
        return ApplicationDecision(user_id, "active" if approve else "rejected", mailed)

    async def _send(self, mail: Mail) -> bool:
        # The decision is made and committed; a mail that cannot go out is logged, not fatal.
        try:
            return await self.users.mailer.send(mail)
        except MailError:
            log.exception("could not send %s mail", mail.kind)
            return False

    async def create_account(self, body: NewAccountIn, client: Client, actor_id: str | None) -> Any:
        """An admin creates an account, whatever the mode (the way in when sign-ups are closed); the
        address counts as verified, as with `cryb user create`: the admin vouches for it."""
        user_id, _ = await self.users.create_account(
            body.username, body.email, body.password, client=client, verified=True, session=False,
            actor_id=actor_id,
        )  # fmt: skip
        return await accounts.find(self.users, user_id)


def _wipe(conn: Connection, user_id: str, now: int) -> None:
    """A rejected applicant's personal data goes; the row stays as 'deleted' (ids are never reused,
    and the audit log keeps naming it). It never had a session or a public profile."""
    conn.execute(
        "UPDATE users_accounts SET username = 'deleted', username_key = ?, email_ct = NULL,"
        " email_index = NULL, email_verified = 0, password_hash = NULL, status = 'deleted',"
        " totp_secret_ct = NULL, totp_enabled = 0, last_ip_ct = NULL, updated_at = ? WHERE id = ?",
        (f"deleted:{user_id}", now, user_id),
    )
    conn.execute("DELETE FROM users_email_tokens WHERE user_id = ?", (user_id,))
    conn.execute("UPDATE users_sessions SET ip_ct = NULL, user_agent = '' WHERE user_id = ?", (user_id,))


def registration_of(users: Users) -> Registration:
    return users.node.services.require(REGISTRATION)


REGISTRATION: ServiceKey[Registration] = ServiceKey("users.registration")
