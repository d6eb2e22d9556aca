"""The core's CommunityDirectory service: a community's name as other plugins may show it (the node
admins' reports queue names the community a member reported)."""

from __future__ import annotations

from cryb_node.db import Database
from cryb_node.services import CommunityRef

from . import queries
from .access import PermissionService


class CommunityNames:
    def __init__(self, db: Database, perms: PermissionService) -> None:
        self.db = db
        self.perms = perms

    async def visible(self, user_id: str, community_id: str) -> CommunityRef | None:
        ref = await queries.community_ref(self.db, community_id)
        # A public community is there for anyone to see (even someone it banned); a private one
        # only for its members, as GET /communities/{id} answers.
        if ref is None or (not ref.public and not (await self.perms.member(community_id, user_id)).member):
            return None
        return ref
