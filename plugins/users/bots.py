"""Bot accounts: an account with no password, owned by a person, that acts only through API tokens
(api_tokens.py). Its owner creates, lists and deletes it, and a community manager adds it to a
community (the BotMembership service), where it gets roles like any member."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from cryb_node.db import Connection
from cryb_node.problems import Problem, not_found

from . import queries
from .api_tokens import ApiTokenIn, ApiTokenMade, ApiTokens
from .service import Client, Users

MAX_BOTS = 20  # per owner


class BotIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    username: Annotated[str, Meta(min_length=1, max_length=32)]
    display_name: Annotated[str, Meta(max_length=64)] = ""


class BotOut(msgspec.Struct, kw_only=True):
    id: str
    username: str
    display_name: str
    owner_id: str
    created_at: int
    bot: bool = True


class BotMade(BotOut, kw_only=True):
    token: ApiTokenMade  # a read+write token, shown once


class BotList(msgspec.Struct):
    bots: list[BotOut]


def _out(r: Any) -> BotOut:
    """From a queries.BOT row."""
    return BotOut(
        id=r["user_id"], username=r["username"], display_name=r["display_name"], owner_id=r["owner_id"],
        created_at=r["created_at"],
    )  # fmt: skip


class Bots:
    def __init__(self, users: Users, tokens: ApiTokens) -> None:
        self.users = users
        self.tokens = tokens

    async def create(self, owner_id: str, body: BotIn, client: Client) -> BotMade:
        if await self.is_bot(owner_id):
            raise Problem("forbidden", 403, "a bot cannot own bots")
        now = self.users.now()

        def in_tx(conn: Connection, user_id: str) -> None:
            count = conn.execute(
                "SELECT count(*) FROM users_bots b JOIN users_accounts a ON a.id = b.user_id"
                " WHERE b.owner_id = ? AND a.status = 'active'",
                (owner_id,),
            ).fetchone()[0]
            if count >= MAX_BOTS:
                raise Problem("too_many_tokens", 409, f"at most {MAX_BOTS} bots per owner")
            conn.execute(
                "INSERT INTO users_bots (user_id, owner_id, created_at) VALUES (?, ?, ?)",
                (user_id, owner_id, now),
            )

        bot_id, _ = await self.users.create_account(
            body.username, None, None, client=client, display_name=body.display_name, session=False,
            actor_id=owner_id, verified=True, in_tx=in_tx,
        )  # fmt: skip
        token = await self.tokens.create(
            bot_id, ApiTokenIn(name="default", scopes=["read", "write"]), created_by=owner_id, is_admin=False
        )
        return BotMade(
            id=bot_id, username=body.username, display_name=body.display_name, owner_id=owner_id,
            created_at=now, token=token,
        )  # fmt: skip

    async def list(self, owner_id: str) -> BotList:
        return BotList([_out(r) for r in await queries.bots(self.users.node.db, owner_id)])

    async def owned(self, owner_id: str, bot_id: str) -> BotOut:
        """The caller's bot, or 404 (someone else's bot is not theirs to know)."""
        row = await queries.bot(self.users.node.db, owner_id, bot_id)
        if row is None:
            raise not_found("bot")
        return _out(row)

    async def is_bot(self, user_id: str) -> bool:
        row = await self.users.node.db.fetchone("SELECT 1 FROM users_bots WHERE user_id = ?", (user_id,))
        return row is not None

    async def delete(self, owner_id: str, bot_id: str) -> None:
        """The bot's account is deleted (its name stays taken, as for people) and its tokens revoked."""
        await self.owned(owner_id, bot_id)
        now = self.users.now()

        def write(conn: Connection) -> None:
            conn.execute(
                "UPDATE users_accounts SET status = 'deleted', updated_at = ? WHERE id = ?", (now, bot_id)
            )
            self.tokens.revoke_all_in_tx(conn, bot_id, now)

        await self.users.node.db.write(write)
