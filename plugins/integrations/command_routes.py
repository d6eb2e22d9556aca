"""HTTP routes of slash commands: bots register them per community and answer interactions;
members list them (the composer) and use them in a channel. docs/integrations.md "Bots"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryb_node.http.api import Api, Call
from cryb_node.node import Node
from cryb_node.problems import Problem
from cryb_node.services import ServiceKey

from . import command_schemas as cs
from .commands import Commands, require_bot
from .interactions import Interactions


@dataclass
class SlashParts:
    commands: Commands
    interactions: Interactions


NAME = re.compile("[a-z0-9_-]{1,32}")
SLASH: ServiceKey[SlashParts] = ServiceKey("integrations-slash")


def command_routes(api: Api, node: Node) -> None:
    def slash() -> SlashParts:
        return node.services.require(SLASH)

    base = "/api/v1/communities/{community_id}/commands"

    @api.route("GET", base, response=cs.CommandList, auth="required")
    async def list_commands(call: Call) -> cs.CommandList:
        """The community's slash commands (members: the composer offers them after `/`)."""
        return await slash().commands.list(call.user_id, call.path("community_id"))

    @api.route("PUT", base + "/{name}", body=cs.CommandIn, response=cs.CommandOut, auth="required",
               bucket="write")  # fmt: skip
    async def register_command(call: Call) -> cs.CommandOut:
        """Register or replace a slash command (a bot that is a member of the community)."""
        name = call.path("name")
        if not NAME.fullmatch(name):
            raise Problem("invalid_field", 400, "a command name is 1-32 of a-z 0-9 _ -", field="name")
        bot_id = require_bot(call.principal)
        return await slash().commands.register(bot_id, call.path("community_id"), name, call.body)

    @api.route("DELETE", base + "/{name}", auth="required", bucket="write")
    async def delete_command(call: Call) -> None:
        """Remove a slash command (its bot, or a manager with MANAGE_COMMUNITY)."""
        assert call.principal is not None
        await slash().commands.delete(call.principal, call.path("community_id"), call.path("name"))

    @api.route("PUT", "/api/v1/interactions/endpoint", body=cs.EndpointIn, response=cs.EndpointOut,
               auth="required", bucket="write")  # fmt: skip
    async def set_interactions_url(call: Call) -> cs.EndpointOut:
        """A bot's interactions URL (signed POSTs instead of gateway dispatches); null removes it."""
        return await slash().commands.set_endpoint(require_bot(call.principal), call.body)

    @api.route("POST", "/api/v1/channels/{channel_id}/interactions", body=cs.InvokeIn,
               response=cs.Interaction, status=202, auth="required", bucket="write")  # fmt: skip
    async def use_command(call: Call) -> cs.Interaction:
        """Use a slash command in a channel; the bot answers before `deadline_at` or the caller is told
        it did not respond."""
        return await slash().interactions.invoke(call.user_id, call.path("channel_id"), call.body)

    @api.route("POST", "/api/v1/interactions/{interaction_id}/callback", body=cs.InteractionAnswerIn,
               response=cs.InteractionAnswerOut, auth="required", bucket="write")  # fmt: skip
    async def answer_interaction(call: Call) -> cs.InteractionAnswerOut:
        """The bot's answer: a public message marked as the command's reply, or an ephemeral one only
        the caller sees."""
        bot_id = require_bot(call.principal)
        return await slash().interactions.answer(bot_id, call.path("interaction_id"), call.body)
