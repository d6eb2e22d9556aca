"""Access tokens: short-lived HS256 JWTs naming the user and session, checked without a database hit
(but for the admin claim, which is re-read so a demotion applies at once).
Revocation still takes effect at once: the authenticator keeps the ids of recently revoked sessions
in memory (this process adds to it as it revokes; a poll picks up revocations made by the CLI).
A session ended because its account moved to another node is refused with ``account_moved``, so
the client knows to sign in at the new home rather than here again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import jwt

from cryb_node.db import Database
from cryb_node.http.api import Principal
from cryb_node.problems import Problem

from . import queries
from .api_tokens import PREFIX, ApiTokens

log = logging.getLogger(__name__)
ALGORITHM = "HS256"
VERIFIED_MAX = 8192  # tokens remembered as verified (a few MB); the oldest unused go first
# Revocations that end the account's use of the node, not one device's sign-out: when another
# process (the CLI) makes one, the poll hands the account to ``on_ended`` (its live sockets close).
ENDING = frozenset({"disabled", "deactivated", "deleted", "signed_out_by_admin"})


class AccessTokens:
    """Issues access tokens and implements cryb_node.http.middleware.Authenticator."""

    def __init__(
        self, key: bytes, ttl_s: int, db: Database, poll_s: float, clock: Callable[[], float]
    ) -> None:
        # The node's wall clock (node.clock.time): it decides expiry, and tests move it forward.
        self._key = key
        self._clock = clock
        self.ttl_s = ttl_s
        self._db = db
        self._poll_s = poll_s
        # session id -> when it was revoked; entries older than one token lifetime can go.
        self._revoked: dict[str, float] = {}
        self._moved: dict[str, str] = {}  # session id -> the new home's URL ("" if unknown)
        self._seen_until = 0
        self._verified: OrderedDict[str, tuple[float, tuple[str, str, bool]]] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self.on_ended: Callable[[set[str]], Awaitable[None]] | None = None
        # Tells the node's other processes of revocations made here (set by the plugin).
        self.share: Callable[[list[str]], None] | None = None
        # On an edge the account tables are the primary's and the event stream does not carry them:
        # an admin claim counts as issued, less the admins the primary demoted since (node.signals).
        self.edge = False
        self._demoted: set[str] = set()
        self.share_admin: Callable[[str, bool], None] | None = None
        self.api_tokens: ApiTokens | None = None  # scoped API tokens, checked in the database

    def issue(self, user_id: str, session_id: str, admin: bool) -> str:
        now = int(self._clock())
        claims = {"sub": user_id, "sid": session_id, "adm": admin, "iat": now, "exp": now + self.ttl_s}
        return jwt.encode({**claims, "typ": "access"}, self._key, algorithm=ALGORITHM)

    def _claims(self, token: str) -> tuple[str, str, bool] | None:
        """(user, session, admin) of a valid access token. Verified tokens are remembered until they
        expire (a bounded map): decoding and checking a JWT was a sixth of the event loop's time
        under load, and a client sends the same token with every request for its lifetime."""
        now = self._clock()
        hit = self._verified.get(token)
        if hit is not None:
            if hit[0] > now:
                self._verified.move_to_end(token)
                return hit[1]
            del self._verified[token]
        try:
            # Expiry is checked here against the node's clock, for fresh and remembered tokens alike.
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "sub", "sid"], "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            return None
        if claims.get("typ") != "access" or not isinstance(claims["exp"], int) or claims["exp"] <= now:
            return None
        who = (str(claims["sub"]), str(claims["sid"]), bool(claims.get("adm")))
        self._verified[token] = (float(claims["exp"]), who)
        if len(self._verified) > VERIFIED_MAX:
            self._verified.popitem(last=False)
        return who

    async def authenticate(self, token: str) -> Principal | None:
        if token.startswith(PREFIX):
            return await self.api_tokens.authenticate(token) if self.api_tokens is not None else None
        who = self._claims(token)
        if who is None:
            return None
        user_id, sid, admin = who
        if sid in self._moved:
            url = self._moved[sid]
            raise Problem(
                "account_moved",
                401,
                f"this account moved to {url or 'another node'}; sign in there",
                moved_to=url or None,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if sid in self._revoked:
            return None
        if admin:
            # The admin claim lasts as long as the token; a demotion or a disable must not wait for
            # it to expire. Admins are few and their requests rare: re-reading the flag costs nothing.
            # An edge has no account rows to re-read: a disable revokes the sessions, a demotion is
            # signalled (admin_changed).
            admin = (
                user_id not in self._demoted
                if self.edge
                else await queries.is_active_admin(self._db, user_id)
            )
        return Principal(user_id, sid, admin)

    def revoked(self, *session_ids: str) -> None:
        now = self._clock()
        for sid in session_ids:
            self._revoked[sid] = now
        if session_ids and self.share is not None:
            self.share(list(session_ids))  # the node's other processes (edges) refuse them too

    def admin_changed(self, user_id: str, admin: bool) -> None:
        """An account made or unmade a node admin here: the node's other processes (edges) follow."""
        self.admin_changed_elsewhere(user_id, admin)
        if self.share_admin is not None:
            self.share_admin(user_id, admin)

    def admin_changed_elsewhere(self, user_id: str, admin: bool) -> None:
        if admin:
            self._demoted.discard(user_id)
        else:
            self._demoted.add(user_id)

    def revoked_elsewhere(self, session_ids: list[str]) -> None:
        """Sessions another process of this node revoked (node.signals)."""
        now = self._clock()
        for sid in session_ids:
            self._revoked[str(sid)] = now

    def moved_away(self, url: str, *session_ids: str) -> None:
        """Sessions ended because their account moved to the node at ``url``."""
        self.revoked(*session_ids)
        for sid in session_ids:
            self._moved[sid] = url

    async def start(self) -> None:
        await self._load(int(self._clock()) - self.ttl_s - 1)
        self._task = asyncio.create_task(self._poll(), name="users:revocations")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _load(self, since: int) -> None:
        rows = await self._db.fetchall(
            "SELECT id, revoked_at, revoke_reason, user_id FROM users_sessions WHERE revoked_at >= ?",
            (since,),
        )
        ended = set()
        for r in rows:
            sid, at, reason = r["id"], r["revoked_at"], r["revoke_reason"]
            if reason in ENDING and sid not in self._revoked:
                ended.add(r["user_id"])
            self._revoked.setdefault(sid, float(at))
            if reason == "moved":
                self._moved.setdefault(sid, "")
            self._seen_until = max(self._seen_until, at)
        if ended and self.on_ended is not None:
            await self.on_ended(ended)
        horizon = self._clock() - self.ttl_s - 60
        for sid in [s for s, at in self._revoked.items() if at < horizon]:
            del self._revoked[sid]
            self._moved.pop(sid, None)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_s)
            try:
                # Second resolution: look one second back so nothing committed mid-second is missed.
                await self._load(self._seen_until - 1)
            except Exception:
                log.exception("reloading revoked sessions failed")
