"""The projection rows of one community that federation's state hash covers (Plugin.state_queries).

Only rows that follow from the community's events; invite codes and reports are node-local (the
invites' grants are events).
"""

from __future__ import annotations

QUERIES: dict[str, str] = {
    "community": "SELECT * FROM communities WHERE id = :community",
    "roles": "SELECT * FROM community_roles WHERE community_id = :community",
    "members": "SELECT * FROM community_members WHERE community_id = :community",
    "member_roles": "SELECT * FROM community_member_roles WHERE community_id = :community",
    "bans": "SELECT * FROM community_bans WHERE community_id = :community",
    "channels": "SELECT * FROM community_channels WHERE community_id = :community",
    "overwrites": "SELECT * FROM community_overwrites WHERE community_id = :community",
    "automod": "SELECT * FROM community_automod_rules WHERE community_id = :community",
    "modlog": "SELECT * FROM community_modlog WHERE community_id = :community",
    "invites": "SELECT * FROM community_invite_grants WHERE community_id = :community",
}
