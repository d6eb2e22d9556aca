"""HTTP routes for API tokens (Settings) and bot accounts (their owner's), and adding a bot to a
community (a manager with MANAGE_COMMUNITY). docs/integrations.md "Bots"."""

from __future__ import annotations

from cryb_node.http.api import Api, Call
from cryb_node.node import Node
from cryb_node.realtime.protocol import Close
from cryb_node.services import BOT_MEMBERSHIP

from .api_tokens import ApiTokenIn, ApiTokenList, ApiTokenMade, ApiTokens
from .bots import BotIn, BotList, BotMade, BotOut, Bots
from .console import end_live
from .routes import client_of
from .service import USERS


def bot_routes(api: Api, node: Node) -> None:
    def tokens() -> ApiTokens:
        found = node.services.require(USERS).tokens.api_tokens
        assert found is not None
        return found

    def bots() -> Bots:
        return Bots(node.services.require(USERS), tokens())

    def is_admin(call: Call) -> bool:
        return bool(call.principal and call.principal.admin)

    @api.route("GET", "/api/v1/tokens", response=ApiTokenList, auth="required")
    async def list_api_tokens(call: Call) -> ApiTokenList:
        """Your API tokens (not their secrets)."""
        return await tokens().list(call.user_id)

    @api.route("POST", "/api/v1/tokens", body=ApiTokenIn, response=ApiTokenMade, status=201, auth="required",
               bucket="write")  # fmt: skip
    async def create_api_token(call: Call) -> ApiTokenMade:
        """A scoped personal API token (read, write, moderate; admin for node admins), shown once."""
        return await tokens().create(
            call.user_id, call.body, created_by=call.user_id, is_admin=is_admin(call)
        )

    @api.route("DELETE", "/api/v1/tokens/{token_id}", auth="required", bucket="write")
    async def revoke_api_token(call: Call) -> None:
        """Revoke one of your tokens or one of your bots' tokens."""
        mine = {call.user_id, *(b.id for b in (await bots().list(call.user_id)).bots)}
        token_id = call.path("token_id")
        await tokens().revoke(token_id, mine.__contains__)
        for user_id in mine:  # its live gateway sessions end too
            for session in list(node.realtime.by_user.get(user_id, ())):
                if session.credential == f"token:{token_id}":
                    await session.close(Close.AUTHENTICATION_FAILED, "token revoked")

    @api.route("GET", "/api/v1/bots", response=BotList, auth="required")
    async def list_bots(call: Call) -> BotList:
        """Your bot accounts."""
        return await bots().list(call.user_id)

    @api.route("POST", "/api/v1/bots", body=BotIn, response=BotMade, status=201, auth="required",
               bucket="write")  # fmt: skip
    async def create_bot(call: Call) -> BotMade:
        """A bot account you own, with a read+write token shown once."""
        return await bots().create(call.user_id, call.body, client_of(call, node))

    @api.route("DELETE", "/api/v1/bots/{bot_id}", auth="required", bucket="write")
    async def delete_bot(call: Call) -> None:
        """Delete your bot: its account goes and its tokens stop working."""
        bot_id = call.path("bot_id")
        await bots().delete(call.user_id, bot_id)
        await end_live(node, {bot_id}, "bot deleted")

    @api.route("GET", "/api/v1/bots/{bot_id}/tokens", response=ApiTokenList, auth="required")
    async def list_bot_tokens(call: Call) -> ApiTokenList:
        """Your bot's API tokens."""
        bot = await bots().owned(call.user_id, call.path("bot_id"))
        return await tokens().list(bot.id)

    @api.route("POST", "/api/v1/bots/{bot_id}/tokens", body=ApiTokenIn, response=ApiTokenMade, status=201,
               auth="required", bucket="write")  # fmt: skip
    async def create_bot_token(call: Call) -> ApiTokenMade:
        """Another token for your bot (never with the admin scope)."""
        bot = await bots().owned(call.user_id, call.path("bot_id"))
        return await tokens().create(bot.id, call.body, created_by=call.user_id, is_admin=False)

    @api.route("PUT", "/api/v1/communities/{community_id}/bots/{bot_id}", response=BotOut, auth="required",
               bucket="write")  # fmt: skip
    async def add_bot(call: Call) -> BotOut:
        """Add your bot to a community you manage (MANAGE_COMMUNITY); give it roles like a member."""
        bot = await bots().owned(call.user_id, call.path("bot_id"))
        members = node.services.require(BOT_MEMBERSHIP)
        await members.add_bot(call.user_id, is_admin(call), call.path("community_id"), bot.id)
        return bot

    @api.route("DELETE", "/api/v1/communities/{community_id}/bots/{bot_id}", auth="required", bucket="write")
    async def remove_bot(call: Call) -> None:
        """Take your bot out of a community you manage."""
        bot = await bots().owned(call.user_id, call.path("bot_id"))
        members = node.services.require(BOT_MEMBERSHIP)
        await members.remove_bot(call.user_id, is_admin(call), call.path("community_id"), bot.id)
