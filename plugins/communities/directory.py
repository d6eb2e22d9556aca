"""The core's CommunityDirectory service: a community's name as other plugins may show it (the node
admins' reports queue names the community a member reported)."""

from __future__ import annotations

from cryb_node.db import Database
from cryb_node.services import CommunityRef

from .access import PermissionService


class CommunityNames:
    def __init__(self, db: Database, perms: PermissionService) -> None:
        self.db = db
        self.perms = perms

    async def visible(self, user_id: str, community_id: str) -> CommunityRef | None:
        row = await self.db.fetchone(
            "SELECT id, name, public, owner_id FROM communities WHERE id = ? AND deleted = 0", (community_id,)
        )
        if row is None:
            return None
        # A public community is there for anyone to see (even someone it banned); a private one
        # only for its members, as GET /communities/{id} answers.
        if not row[2] and not (await self.perms.member(community_id, user_id)).member:
            return None
        return CommunityRef(id=row[0], name=row[1], public=bool(row[2]), owner_id=row[3])
