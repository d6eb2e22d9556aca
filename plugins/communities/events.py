"""Governance event kinds (payload Structs); projection.py folds them into rows.

Every change to a community is one of these events (community=<id>, author=<actor>,
target=<subject>). The projection makes the rows depend only on WHICH events exist: an event newer
(hlc, id) than the community's last folded one is applied on top; an older one (arriving late, from
a peer or a concurrent writer) makes the community's rows be rebuilt by replaying its governance
events in (hlc, id) order. Each event's authority is re-checked at its point in the replay
(governance.py); unauthorised events stay in the log but change nothing.
"""

from __future__ import annotations

import hashlib
import logging

import msgspec
from msgspec import UNSET, UnsetType

from .forum_tags import TAG_KINDS
from .gov import Gov
from .onboarding_events import ONBOARDING_KINDS

log = logging.getLogger(__name__)


class CommunityCreate(Gov):
    name: str
    public: bool
    description: str = ""
    icon: str | None = None
    rules: list[str] = []
    modlog_public: bool = False


class CommunityUpdate(Gov):
    name: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    icon: str | UnsetType | None = UNSET
    public: bool | UnsetType = UNSET
    rules: list[str] | UnsetType = UNSET
    modlog_public: bool | UnsetType = UNSET


class Empty(Gov):
    pass


class MemberJoin(Gov):
    invited_by: str | None = None  # who made the invite (shown in the member list)
    # Private communities: the invite's code, whose hash an invite.create event names (the proof).
    invite: str | None = None


class InviteCreate(Gov):
    """An invite to the community (target: invite_id(code); the code itself is not in the event)."""

    expires_at: int | None = None  # ms
    max_uses: int | None = None


def invite_id(code: str) -> str:
    """What invite events and the grants table call an invite: its code, hashed."""
    return hashlib.sha256(code.encode()).hexdigest()[:32]


class Reasoned(Gov):
    reason: str = ""


class MemberBan(Gov):
    reason: str = ""
    delete_message_seconds: int = 0  # the content plugin hides the member's content this far back


class MemberTimeout(Gov):
    until: int | None  # ms since epoch; None lifts the timeout
    reason: str = ""


class RoleCreate(Gov):
    name: str
    perms: int
    position: int = 1
    color: int = 0
    hoist: bool = False
    mentionable: bool = False


class RoleUpdate(Gov):
    name: str | UnsetType = UNSET
    perms: int | UnsetType = UNSET
    position: int | UnsetType = UNSET
    color: int | UnsetType = UNSET
    hoist: bool | UnsetType = UNSET
    mentionable: bool | UnsetType = UNSET


class RoleMember(Gov):
    role_id: str


class ChannelCreate(Gov):
    kind: str
    name: str
    topic: str = ""
    parent_id: str | None = None
    position: int = 0
    nsfw: bool = False
    slowmode_s: int = 0


class ChannelUpdate(Gov):
    name: str | UnsetType = UNSET
    topic: str | UnsetType = UNSET
    parent_id: str | UnsetType | None = UNSET
    position: int | UnsetType = UNSET
    nsfw: bool | UnsetType = UNSET
    slowmode_s: int | UnsetType = UNSET


class Position(msgspec.Struct, array_like=True):
    channel_id: str
    position: int


class ChannelReorder(Gov):
    positions: list[Position]


class OverwriteSet(Gov):
    target_type: str  # role | member
    target_id: str
    allow: int = 0
    deny: int = 0


class OverwriteDelete(Gov):
    target_type: str
    target_id: str


class AutomodConfig(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """Settings of one automod rule; which fields matter depends on the rule's kind."""

    words: list[str] = []  # words: matched as whole words, case-insensitively
    patterns: list[str] = []  # regex: checked with a time limit
    allowed_domains: list[str] = []  # links: links to any other domain match
    max_mentions: int = 0  # mentions: more distinct @mentions than this match
    min_account_age_s: int = 0  # new_account: younger accounts match
    min_member_age_s: int = 0  # new_account: members who joined more recently match


class AutomodSet(Gov):
    name: str
    kind: str
    config: AutomodConfig
    action: str
    timeout_s: int = 0
    enabled: bool = True


class AutomodAction(Gov):
    """Automod acted on a member's text (author: none, target: the member)."""

    rule_id: str
    action: str  # block | flag | timeout
    reason: str = ""
    until: int | None = None


# kind -> payload type. ``target`` is the community for community.*, the user for member.* and
# role.assign/unassign, the role for role.*, the channel for channel.* and overwrite.*, the rule
# for automod.set/delete.
KINDS: dict[str, type[msgspec.Struct]] = {
    "community.create": CommunityCreate,
    "community.update": CommunityUpdate,
    "community.delete": Empty,
    "community.transfer": Empty,
    "member.join": MemberJoin,
    "member.leave": Empty,
    "member.kick": Reasoned,
    "member.ban": MemberBan,
    "member.unban": Reasoned,
    "member.timeout": MemberTimeout,
    "role.create": RoleCreate,
    "role.update": RoleUpdate,
    "role.delete": Empty,
    "role.assign": RoleMember,
    "role.unassign": RoleMember,
    "channel.create": ChannelCreate,
    "channel.update": ChannelUpdate,
    "channel.delete": Empty,
    "channel.reorder": ChannelReorder,
    "overwrite.set": OverwriteSet,
    "overwrite.delete": OverwriteDelete,
    "automod.set": AutomodSet,
    "automod.delete": Empty,
    "automod.action": AutomodAction,
    "invite.create": InviteCreate,
    "invite.revoke": Empty,
}
KINDS.update(ONBOARDING_KINDS)
KINDS.update(TAG_KINDS)
DECODERS = {kind: msgspec.msgpack.Decoder(t) for kind, t in KINDS.items()}

# Every projection table a community's governance events write (rebuild clears them).
PROJECTION_TABLES = (
    "community_roles",
    "community_members",
    "community_member_roles",
    "community_bans",
    "community_channels",
    "community_overwrites",
    "community_automod_rules",
    "community_modlog",
    "community_invite_grants",
    "community_onboarding",
    "community_onboarded",
    "community_channel_tags",
)
