"""Account rules: registration, sign-in (with throttling), token rotation, sessions and profiles.

One ``Users`` object per running node (made in the plugin's setup, opened in its lifespan, found
through ``node.services.require(USERS)``); the HTTP routes and the ``cryb user`` CLI call the same methods.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from msgspec import UNSET

from cryb_node.clock import new_id
from cryb_node.db import Connection
from cryb_node.events import Tx
from cryb_node.http.ratestore import ExpiringStore
from cryb_node.identity import key_dir
from cryb_node.mail import Mailer
from cryb_node.node import Node
from cryb_node.problems import Problem, not_found
from cryb_node.services import MEDIA_STORE, ServiceKey
from cryb_node.sync.homes import lives_elsewhere

from . import audit, names, queries, queries_admin
from .accounts import check_password
from .api_tokens import ApiTokens
from .audit import AuditPage
from .emails import send_verification_later
from .events import CREATED, PROFILE, ProfileSnapshot, UserCreated
from .firstrun import FirstRun
from .keys import Keys, PasswordHasher, load_or_create_master, new_secret_token, normalise_email, token_hash
from .moves import moved
from .oauth import OAuth
from .schemas import LoginIn, Me, Profile, ProfilePatch, SessionList, SessionOut, Settings, TokenPair
from .throttle import Throttle
from .tokens import AccessTokens
from .twofactor import check_login_code
from .validate import check_email, check_profile, check_username, status_problem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Client:
    """Where a request came from (audited, and the key of per-address throttling)."""

    ip: str = ""
    user_agent: str = ""


CLI = Client("", "cryb cli")


def invalid_credentials() -> Problem:
    # One answer for unknown login, wrong password and wrong code: it must not tell which.
    return Problem("invalid_credentials", 401, "the login or password is not correct")


class Users:
    def __init__(self, node: Node, settings: Settings) -> None:
        self.node = node
        self.s = settings
        # Made here (the node's setup runs once its data dir and database are open) so the services
        # built on them exist before the plugin's lifespan starts the background parts.
        self.keys = Keys.from_master(load_or_create_master(key_dir(node.data_dir)))
        self.hasher = PasswordHasher(settings.argon2_opslimit, settings.argon2_memlimit)
        clock = node.clock.time
        self.tokens = AccessTokens(
            self.keys.token, settings.access_ttl_s, node.db, settings.revocation_poll_s, clock
        )
        self.tokens.api_tokens = ApiTokens(node.db, clock)  # scoped ``cryb_…`` tokens (api_tokens.py)
        self.throttle = Throttle(settings, clock)
        self.mailer = Mailer(node.config.mail)
        self.background: set[asyncio.Task[None]] = set()
        # Last accepted TOTP step per user: a code is never accepted twice.
        self.totp_last_step: dict[str, int] = {}

    async def open(self) -> None:
        await self.tokens.start()
        self.oauth = OAuth(self)
        self.first_run = FirstRun(self.node)
        await self.first_run.open()
        if self.node.serving:  # CLI commands neither count sign-ins nor should race the server's saves
            await self.throttle.attach(
                ExpiringStore(self.node.db, "users.signin", clock=self.node.clock.time)
            )

    async def close(self) -> None:
        if self.background:
            await asyncio.wait(self.background, timeout=self.node.config.mail.timeout_s)
        await self.tokens.stop()
        await self.oauth.close()
        await self.throttle.detach()

    # -- helpers --------------------------------------------------------------------------------

    def now(self) -> int:
        """The node's wall clock in whole seconds, as the tables store it (tests move it forward)."""
        return int(self.node.clock.time())

    async def hash_password(self, password: str) -> bytes:
        return await asyncio.to_thread(self.hasher.hash, password)

    async def check_password(self, user_id: str, password: str) -> None:

        await check_password(self, user_id, password)

    def audit(self, conn: Connection, action: str, client: Client | None = None, **kw: Any) -> None:
        """Append an audit entry about this account's action inside the caller's transaction."""
        ip = client.ip if client else None
        audit.record(conn, self.keys, self.node.clock.time_ms(), action, ip=ip, **kw)

    def _new_session(self, conn: Connection, user_id: str, client: Client, now: int) -> tuple[str, str]:
        sid, refresh = new_id(), new_secret_token("rt_")
        queries.insert_session(
            conn, session_id=sid, user_id=user_id, now=now, expires_at=now + self.s.refresh_ttl_s,
            user_agent=client.user_agent[:200], ip_ct=self.keys.seal(client.ip) if client.ip else None,
            refresh_hash=token_hash(refresh),
        )  # fmt: skip
        return sid, refresh

    def _pair(self, user_id: str, sid: str, admin: bool, refresh: str) -> TokenPair:
        return TokenPair(self.tokens.issue(user_id, sid, admin), refresh, self.s.access_ttl_s)

    def revoke_sessions_in_tx(
        self, conn: Connection, user_id: str, reason: str, *, keep: str | None = None
    ) -> list[str]:
        return queries.revoke_sessions(conn, user_id, reason, self.now(), keep=keep)

    # -- accounts -------------------------------------------------------------------------------

    async def create_account(
        self,
        username: str,
        email: str | None,
        password: str | None,
        *,
        client: Client,
        display_name: str = "",
        admin: bool = False,
        verified: bool = False,
        session: bool = True,
        actor_id: str | None = None,
        pending: bool = False,
        in_tx: Callable[[Connection, str], None] | None = None,
    ) -> tuple[str, TokenPair | None]:
        """Create a local account (and a session). The first admin created by the CLI is the node
        admin; over HTTP ``admin`` is always False. Raises Problem 400/409 naming the field.

        ``pending`` (approval mode, registration.py): the account waits for an admin, with no session
        and no public profile yet (its user.created event is appended on approval). ``in_tx(conn,
        user_id)`` runs inside the account's transaction (a registration token's use is counted there)."""
        username = check_username(username, reserved_ok=admin)
        check_profile(display_name)
        email = check_email(email) if email is not None else None
        email_index = self.keys.blind("email", normalise_email(email)) if email else None
        await self._check_free(username, email_index)
        pw_hash = await self.hash_password(password) if password is not None else None
        user_id = new_id()
        email_ct = self.keys.seal(email) if email else None

        def write(tx: Tx) -> tuple[str, str] | None:
            conn, now = tx.conn, self.now()
            taken = queries.taken_name_or_email_in_tx(conn, username.lower(), email_index)
            if taken is not None:
                raise _taken(taken)
            queries.insert_account(
                conn, user_id=user_id, username=username, email_ct=email_ct, email_index=email_index,
                verified=verified, password_hash=pw_hash, admin=admin,
                status="pending" if pending else "active", now=now,
            )  # fmt: skip
            if in_tx is not None:
                in_tx(conn, user_id)
            if pending:
                self.audit(conn, "account.created", client, user_id=user_id, actor_id=actor_id, pending=True)
                return None
            tx.append(
                CREATED, UserCreated(username=username, display_name=display_name),
                author=user_id, target=user_id,
            )  # fmt: skip
            self.audit(conn, "account.created", client, user_id=user_id, actor_id=actor_id, admin=admin)
            return self._new_session(conn, user_id, client, now) if session else None

        made = await self.node.events.transaction(write)
        if self.mailer.configured and email and not verified:
            send_verification_later(self, user_id, client)
        return user_id, (self._pair(user_id, made[0], admin, made[1]) if made else None)

    async def _check_free(self, username: str, email_index: bytes | None) -> None:
        # Checked before the (slow) hash for a quick answer, and again inside the transaction.
        taken = await queries.taken_name_or_email(self.node.db, username.lower(), email_index)
        if taken is not None:
            raise _taken(taken)

    async def find_login(self, login: str) -> Any:
        """The account a login (username or email) names (queries.LOGIN), or None."""
        login = login.strip()
        if "@" in login:
            return await queries.login_by_email(
                self.node.db, self.keys.blind("email", normalise_email(login))
            )
        return await queries.login_by_username(self.node.db, login.lower())

    # -- sign-in --------------------------------------------------------------------------------

    async def login(self, body: LoginIn, client: Client) -> TokenPair:
        row = await self.find_login(body.login)
        user_id = row["id"] if row is not None else None
        if user_id is not None:
            await self._refuse_moved(user_id, client)
        acct_key = f"acct:{user_id or body.login.strip().lower()}"
        ip_key = f"ip:{client.ip}"
        locked = self.throttle.locked_for(acct_key, ip_key)
        if locked > 0:
            await self.node.db.write(lambda c: self.audit(c, "login.refused_locked", client, user_id=user_id))
            raise Problem(
                "login_locked",
                429,
                f"too many failed sign-ins; try again in {int(locked) + 1} s",
                headers={"Retry-After": str(int(locked) + 1)},
            )
        pause = self.throttle.delay(acct_key, ip_key)
        if pause:
            await asyncio.sleep(pause)
        stored = row["password_hash"] if row is not None else None
        ok = await asyncio.to_thread(self.hasher.verify, stored, body.password)
        if not ok:
            await self._failed(user_id, acct_key, ip_key, client)
            raise invalid_credentials()
        assert row is not None and user_id is not None  # a password matched: the account exists
        if row["totp_enabled"] and not await self._second_factor(user_id, body.totp_code, client):
            # The password was right (asking for the code already told so): say which part is
            # wrong, and count it like any failed sign-in.
            await self._failed(user_id, acct_key, ip_key, client)
            raise Problem("totp_invalid", 401, "the two-factor code is not correct", field="totp_code")
        status = row["status"]
        if status != "active":
            await self.node.db.write(
                lambda c: self.audit(c, "login.refused_status", client, user_id=user_id, status=status)
            )
            if status == "pending":  # the password was right: telling so leaks nothing
                raise Problem("account_pending", 403, "this account is waiting for a node admin's approval")
            raise Problem("account_disabled", 403, f"this account is {status}")
        self.throttle.clear(acct_key)

        def write(conn: Connection) -> tuple[str, str]:
            now = self.now()
            if client.ip:
                conn.execute(
                    "UPDATE users_accounts SET last_ip_ct = ? WHERE id = ?",
                    (self.keys.seal(client.ip), user_id),
                )
            self.audit(conn, "login.succeeded", client, user_id=user_id)
            return self._new_session(conn, user_id, client, now)

        sid, refresh = await self.node.db.write(write)
        return self._pair(user_id, sid, bool(row["admin"]), refresh)

    async def _refuse_moved(self, user_id: str, client: Client) -> None:
        """An account that moved to another node signs in there (its forwarding record names it),
        whatever credentials it still had here. Telling so leaks nothing: the move is public."""
        url = await lives_elsewhere(self.node, user_id)
        if url is not None:
            await self.node.db.write(lambda c: self.audit(c, "login.refused_moved", client, user_id=user_id))
            raise moved(url)

    async def session_for(self, user_id: str, client: Client, how: str = "oauth") -> TokenPair:
        """A new session for a user who proved who they are some other way (an OAuth provider)."""
        await self._refuse_moved(user_id, client)

        def write(conn: Connection) -> tuple[str, str, bool]:
            row = queries.status_and_admin(conn, user_id)
            if row is None or row["status"] != "active":
                raise Problem("account_disabled", 403, f"this account is {row['status'] if row else 'gone'}")
            self.audit(conn, "login.succeeded", client, user_id=user_id, via=how)
            return (*self._new_session(conn, user_id, client, self.now()), bool(row["admin"]))

        sid, refresh, admin = await self.node.db.write(write)
        return self._pair(user_id, sid, admin, refresh)

    async def _second_factor(self, user_id: str, code: str | None, client: Client) -> bool:
        """The password was right and the account has TOTP on: a code (or recovery code) is needed."""
        if code is None:
            raise Problem("totp_required", 401, "this account needs a two-factor code", field="totp_code")

        return await check_login_code(self, user_id, code, client)

    async def _failed(self, user_id: str | None, acct_key: str, ip_key: str, client: Client) -> None:
        acct_locked = self.throttle.fail(acct_key, self.s.account_failure_limit)
        ip_locked = self.throttle.fail(ip_key, self.s.ip_failure_limit)

        def write(conn: Connection) -> None:
            self.audit(conn, "login.failed", client, user_id=user_id)
            if acct_locked:
                self.audit(conn, "login.lockout", client, user_id=user_id, scope="account")
            if ip_locked:
                self.audit(conn, "login.lockout", client, user_id=user_id, scope="ip")

        await self.node.db.write(write)

    async def refresh(self, refresh_token: str, client: Client) -> TokenPair:
        presented = token_hash(refresh_token)

        def write(conn: Connection) -> tuple[str, Any]:
            # Decided and recorded in one transaction; a reuse must commit its revocation, so the
            # outcome is returned rather than raised (raising would roll the revocation back).
            row = queries.refresh_token(conn, presented)
            now = self.now()
            if row is None:
                return "invalid", None
            sid, user_id = row["session_id"], row["user_id"]
            if row["used_at"] is not None:
                if row["revoked_at"] is None:
                    queries.revoke_session(conn, sid, user_id, "refresh_reuse", now)
                    self.audit(conn, "token.reuse", client, user_id=user_id, session_id=sid)
                return "reused", sid
            if row["revoked_at"] is not None or row["expires_at"] <= now or row["status"] != "active":
                return "invalid", None
            fresh = new_secret_token("rt_")
            queries.spend_refresh(conn, presented, token_hash(fresh), sid, now)
            return "ok", (user_id, sid, bool(row["admin"]), fresh)

        outcome, value = await self.node.db.write(write)
        if outcome == "reused":
            self.tokens.revoked(value)
            raise Problem(
                "refresh_reused", 401, "this refresh token was already used; the session is revoked"
            )
        if outcome != "ok":
            raise Problem("invalid_refresh_token", 401, "the refresh token is invalid or expired")
        user_id, sid, admin, fresh = value
        return self._pair(user_id, sid, admin, fresh)

    async def revoke_session(self, user_id: str, session_id: str, reason: str, client: Client) -> None:
        def write(conn: Connection) -> bool:
            revoked = queries.revoke_session(conn, session_id, user_id, reason, self.now())
            if revoked:
                self.audit(conn, f"session.{reason}", client, user_id=user_id, session_id=session_id)
            return revoked

        if not await self.node.db.write(write):
            raise not_found("session")
        self.tokens.revoked(session_id)

    async def sessions(self, user_id: str, current: str | None) -> SessionList:
        """The account's sessions still signed in (not revoked, not expired), newest first."""
        rows = await queries.live_sessions(self.node.db, user_id, self.now())
        return SessionList(
            [
                SessionOut(
                    id=r["id"], created_at=r["created_at"], last_used_at=r["last_used_at"],
                    expires_at=r["expires_at"], user_agent=r["user_agent"], current=r["id"] == current,
                )
                for r in rows
            ]
        )  # fmt: skip

    async def audit_page(
        self, user_id: str | None, action: str | None, before: int | None, limit: int
    ) -> AuditPage:
        rows = await queries_admin.audit_entries(
            self.node.db, user_id=user_id, action=action, before=before, limit=limit
        )
        return audit.rows_to_page(self.keys, rows, limit)

    # -- profiles -------------------------------------------------------------------------------

    async def me(self, user_id: str) -> Me:
        r = await queries.me(self.node.db, user_id)
        if r is None:
            raise not_found("user")
        return Me(
            id=r["id"], username=r["username"], display_name=r["display_name"], bio=r["bio"],
            pronouns=r["pronouns"], avatar=r["avatar"], email=self.keys.open(r["email_ct"]),
            email_verified=bool(r["email_verified"]), admin=bool(r["admin"]),
            totp_enabled=bool(r["totp_enabled"]), status=r["status"], created_at=r["created_at"],
            status_text=r["status_text"], status_until=r["status_until"],
        )  # fmt: skip

    async def profile(self, user_id: str) -> Profile:
        r = await queries.profile(self.node.db, user_id)
        if r is None or r["account_status"] not in (None, "active"):
            raise not_found("user")
        until = r["status_until"]
        shown = until is None or until > self.node.clock.time_ms()
        return Profile(
            id=r["user_id"], username=r["username"], display_name=r["display_name"], bio=r["bio"],
            pronouns=r["pronouns"], avatar=r["avatar"], home=await names.home_of(self.node, user_id),
            bot=bool(r["bot"]),
            status_text=r["status_text"] if shown else "",
            status_until=until if shown and r["status_text"] else None,
        )  # fmt: skip

    async def profile_by_name(self, name: str) -> Profile:
        """The profile a typed name means (names.find): ``owner`` is always this node's owner."""
        found = await names.find(self.node, name)
        if len(found) > 1:
            raise Problem(
                "name_ambiguous", 409, "users of several nodes have this name: add @home", field="name"
            )
        if not found:
            raise not_found("user")
        return await self.profile(found[0])

    async def update_profile(self, user_id: str, patch: ProfilePatch) -> Me:
        if isinstance(patch.avatar, str):
            # The avatar must be the user's own upload; attaching it publicly keeps it from cleanup.
            store = self.node.services.get(MEDIA_STORE)
            ref = await store.attach(patch.avatar, user_id, None) if store is not None else None
            if ref is None or ref.kind != "image":
                raise Problem("invalid_field", 400, "avatar must be an image you uploaded", field="avatar")

        def write(tx: Tx) -> None:
            row = queries.snapshot(tx.conn, user_id)
            if row is None:
                raise not_found("user")
            fields = ("display_name", "bio", "pronouns", "avatar", "status_text", "status_until")
            snap = ProfileSnapshot(**{name: row[name] for name in fields})
            for name in fields:
                value = getattr(patch, name)
                if value is not UNSET:
                    setattr(snap, name, value)
            # The rules every node applies to this event (events.authorize), told as a 400 here.
            check_profile(snap.display_name, snap.bio, snap.pronouns, snap.avatar)
            if (bad := status_problem(snap.status_text)) is not None:
                raise bad.problem()
            tx.append(PROFILE, snap, author=user_id, target=user_id)

        await self.node.events.transaction(write)
        return await self.me(user_id)


def _taken(field: str) -> Problem:
    return Problem(f"{field}_taken", 409, f"that {field} is already in use", field=field)


USERS: ServiceKey[Users] = ServiceKey("users")
