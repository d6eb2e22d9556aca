"""Scoped API tokens for people (personal tokens) and bots: ``cryb_…`` bearer tokens stored as sha256,
with scopes (read, write, moderate, admin: cryb_node/http/scopes.py) and an optional expiry.
Each use is checked against the database, so a revocation applies to the next request."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from cryb_node.clock import new_id
from cryb_node.db import Connection, Database
from cryb_node.http.api import Principal
from cryb_node.http.scopes import SCOPES
from cryb_node.problems import Problem, not_found

from . import queries

PREFIX = "cryb_"
ScopeName = Annotated[str, Meta(pattern="^(read|write|moderate|admin)$")]
MAX_TOKENS = 50  # per account: enough for any set of scripts, few enough to list


class ApiTokenIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=64)]
    scopes: Annotated[list[ScopeName], Meta(min_length=1, max_length=4)]
    expires_in_s: Annotated[int, Meta(ge=60, le=10 * 365 * 86400)] | None = None


class ApiTokenOut(msgspec.Struct, kw_only=True):
    id: str
    user_id: str
    name: str
    scopes: list[str]
    created_at: int
    expires_at: int | None
    last_used_at: int | None


class ApiTokenMade(ApiTokenOut, kw_only=True):
    token: str  # shown once


class ApiTokenList(msgspec.Struct):
    tokens: list[ApiTokenOut]


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _out(r: Any) -> ApiTokenOut:
    """From a queries.API_TOKEN row."""
    return ApiTokenOut(
        id=r["id"], user_id=r["user_id"], name=r["name"], scopes=r["scopes"].split(),
        created_at=r["created_at"], expires_at=r["expires_at"], last_used_at=r["last_used_at"],
    )  # fmt: skip


class ApiTokens:
    def __init__(self, db: Database, clock: Callable[[], float]) -> None:
        self.db = db
        self.clock = clock

    async def create(
        self, user_id: str, body: ApiTokenIn, *, created_by: str, is_admin: bool
    ) -> ApiTokenMade:
        """A new token for ``user_id`` (the caller or one of their bots). ``admin`` is for node
        admins' own tokens only: a bot's token never carries it."""
        scopes = sorted(set(body.scopes), key=SCOPES.index)
        if "admin" in scopes and not (is_admin and user_id == created_by):
            raise Problem("forbidden", 403, "only a node admin's own token may have the admin scope")
        token = PREFIX + secrets.token_urlsafe(32)
        now = int(self.clock())
        expires = now + body.expires_in_s if body.expires_in_s else None
        tid = new_id()

        def write(conn: Connection) -> None:
            count = conn.execute(
                "SELECT count(*) FROM users_api_tokens WHERE user_id = ? AND revoked_at IS NULL", (user_id,)
            ).fetchone()[0]
            if count >= MAX_TOKENS:
                raise Problem("too_many_tokens", 409, f"at most {MAX_TOKENS} tokens per account")
            conn.execute(
                "INSERT INTO users_api_tokens (id, user_id, name, token_hash, scopes, created_by,"
                " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (tid, user_id, body.name, _hash(token), " ".join(scopes), created_by, now, expires),
            )

        await self.db.write(write)
        return ApiTokenMade(
            id=tid, user_id=user_id, name=body.name, scopes=scopes, created_at=now, expires_at=expires,
            last_used_at=None, token=token,
        )  # fmt: skip

    async def list(self, user_id: str) -> ApiTokenList:
        return ApiTokenList([_out(r) for r in await queries.api_tokens(self.db, user_id)])

    async def revoke(self, token_id: str, may: Callable[[str], bool]) -> None:
        """Revoke a token whose account ``may`` accepts (the caller's own, or their bot's)."""
        owner = await self.db.fetchval(
            "SELECT user_id FROM users_api_tokens WHERE id = ? AND revoked_at IS NULL", (token_id,)
        )
        if owner is None or not may(owner):
            raise not_found("token")
        now = int(self.clock())
        await self.db.write(
            lambda conn: conn.execute(
                "UPDATE users_api_tokens SET revoked_at = ? WHERE id = ?", (now, token_id)
            )
        )

    def revoke_all_in_tx(self, conn: Connection, user_id: str, now: int) -> None:
        conn.execute(
            "UPDATE users_api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
            (now, user_id),
        )

    async def authenticate(self, token: str) -> Principal | None:
        now = int(self.clock())
        row = await queries.api_token_in_use(self.db, _hash(token))
        if row is None:
            return None
        tid, expires_at, last_used = row["id"], row["expires_at"], row["last_used_at"]
        if row["status"] != "active" or (expires_at is not None and expires_at <= now):
            return None
        if last_used is None or now - last_used >= 60:  # Settings shows it; a minute is precise enough
            await self.db.write(
                lambda conn: conn.execute(
                    "UPDATE users_api_tokens SET last_used_at = ? WHERE id = ?", (now, tid)
                )
            )
        granted = frozenset(row["scopes"].split())
        # The admin scope is worth something only while the account is a node admin (re-read each time).
        is_admin = bool(row["admin"]) and "admin" in granted
        return Principal(row["user_id"], f"token:{tid}", is_admin, granted, bool(row["bot"]))
