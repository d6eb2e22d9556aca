"""The BotMembership service: a member with MANAGE_COMMUNITY adds a bot account to a community. The
bot joins through the rule book like anyone: with a one-use invite the manager makes for it (so a
private community's join rule is met and the modlog shows who invited it)."""

from __future__ import annotations

from dataclasses import dataclass

from cryb_node.services import Perm

from . import schemas as s
from .service import Actor, Communities


@dataclass
class BotMembershipService:
    communities: Communities

    async def add_bot(self, actor_id: str, admin: bool, community_id: str, bot_id: str) -> None:
        actor = Actor(actor_id, admin)
        await self.communities.require(actor, community_id, Perm.MANAGE_COMMUNITY, "adding bots")
        invite = await self.communities.create_invite(
            actor, community_id, s.InviteIn(max_age_s=600, max_uses=1)
        )
        await self.communities.join(Actor(bot_id), community_id, invite.code)

    async def remove_bot(self, actor_id: str, admin: bool, community_id: str, bot_id: str) -> None:
        actor = Actor(actor_id, admin)
        await self.communities.require(actor, community_id, Perm.MANAGE_COMMUNITY, "removing bots")
        await self.communities.leave(Actor(bot_id), community_id)
