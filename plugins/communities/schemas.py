"""Request and response bodies of the communities API (they become /api/openapi.json)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

Name = Annotated[str, Meta(min_length=1, max_length=100)]
Reason = Annotated[str, Meta(max_length=512)]
Text = Annotated[str, Meta(max_length=1000)]
Perms = Annotated[int, Meta(description="a permission bitfield (docs/permissions.md)")]
Id = Annotated[str, Meta(min_length=1, max_length=64)]
Limit = Annotated[int, Meta(ge=1, le=200)]
ChannelKind = Literal["text", "forum", "announcement", "category", "voice"]
Position = Annotated[int, Meta(ge=0, le=100_000)]
Slowmode = Annotated[int, Meta(ge=0, le=21_600)]
Rules = Annotated[list[Annotated[str, Meta(max_length=300)]], Meta(max_length=20)]


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


# -- communities ------------------------------------------------------------------------------


class CommunityIn(Body):
    name: Name
    public: bool = True
    description: Text = ""
    icon: Annotated[str, Meta(max_length=200)] | None = None
    rules: Rules = []
    modlog_public: bool = False


class CommunityPatch(Body):
    name: Name | UnsetType = UNSET
    description: Text | UnsetType = UNSET
    icon: Annotated[str, Meta(max_length=200)] | UnsetType | None = UNSET
    public: bool | UnsetType = UNSET
    rules: Rules | UnsetType = UNSET
    modlog_public: bool | UnsetType = UNSET


class CommunityOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    description: str
    icon: str | None
    public: bool
    rules: list[str]
    modlog_public: bool
    owner_id: str
    created_at: int
    member_count: int
    member: bool = False
    perms: int = 0  # the caller's community-wide permissions
    timeout_until: int | None = None  # ms: the caller is timed out here until then
    screening: bool = False  # members must accept rules or pass a verification level (onboarding)


class CommunityList(msgspec.Struct):
    communities: list[CommunityOut]
    next: str | None = None


class CommunityQuery(Body):
    mine: bool = False
    after: Annotated[str, Meta(max_length=64)] | None = None
    limit: Limit = 50


class TransferIn(Body):
    user_id: Id


class JoinIn(Body):
    invite: Annotated[str, Meta(max_length=32)] | None = None


# -- members ----------------------------------------------------------------------------------


class MemberOut(msgspec.Struct, kw_only=True):
    user_id: str
    joined_at: int
    roles: list[str]
    timeout_until: int | None = None
    # A member from another node: its host (shown as user@home) and identity key. null: this node.
    home: str | None = None
    home_key: str | None = None
    # online | idle | dnd | offline (invisible reads offline): how a client of a large community
    # learns who is online, as READY leaves out the presences of communities past ready_presences_max.
    status: str = "offline"


class MemberList(msgspec.Struct):
    members: list[MemberOut]
    next: str | None = None


class MemberQuery(Body):
    after: Annotated[str, Meta(max_length=64)] | None = None
    limit: Limit = 100


# -- roles ------------------------------------------------------------------------------------


class RoleIn(Body):
    name: Name
    perms: Perms = 0
    position: Annotated[int, Meta(ge=1, le=100_000)] = 1
    color: Annotated[int, Meta(ge=0, le=0xFFFFFF)] = 0
    hoist: bool = False
    mentionable: bool = False


class RolePatch(Body):
    name: Name | UnsetType = UNSET
    perms: Perms | UnsetType = UNSET
    position: Annotated[int, Meta(ge=1, le=100_000)] | UnsetType = UNSET
    color: Annotated[int, Meta(ge=0, le=0xFFFFFF)] | UnsetType = UNSET
    hoist: bool | UnsetType = UNSET
    mentionable: bool | UnsetType = UNSET


class RoleOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    perms: int
    position: int
    color: int
    hoist: bool
    mentionable: bool


class RoleList(msgspec.Struct):
    roles: list[RoleOut]


# -- channels ---------------------------------------------------------------------------------


class ChannelIn(Body):
    name: Name
    kind: ChannelKind = "text"
    topic: Text = ""
    parent_id: Annotated[str, Meta(max_length=64)] | None = None
    position: Position = 0
    nsfw: bool = False
    slowmode_s: Slowmode = 0


class ChannelPatch(Body):
    name: Name | UnsetType = UNSET
    topic: Text | UnsetType = UNSET
    parent_id: Annotated[str, Meta(max_length=64)] | UnsetType | None = UNSET
    position: Position | UnsetType = UNSET
    nsfw: bool | UnsetType = UNSET
    slowmode_s: Slowmode | UnsetType = UNSET


class OverwriteOut(msgspec.Struct):
    target_type: str
    target_id: str
    allow: int
    deny: int


class ChannelOut(msgspec.Struct, kw_only=True):
    id: str
    community_id: str
    kind: str
    name: str
    topic: str
    parent_id: str | None
    position: int
    nsfw: bool
    slowmode_s: int
    perms: int  # the caller's permissions here
    overwrites: list[OverwriteOut] = []  # shown to those who may manage roles here


class ChannelList(msgspec.Struct):
    channels: list[ChannelOut]


class PositionIn(msgspec.Struct, forbid_unknown_fields=True):
    channel_id: Id
    position: Position


class ReorderIn(Body):
    positions: Annotated[list[PositionIn], Meta(min_length=1, max_length=500)]


class OverwriteIn(Body):
    allow: Perms = 0
    deny: Perms = 0


class EffectiveQuery(Body):
    user_id: Annotated[str, Meta(max_length=64)] | None = None


class EffectiveOut(msgspec.Struct, kw_only=True):
    user_id: str | None
    channel_id: str
    perms: int
    names: list[str]  # the set bits by name
    member: bool
    timed_out_until: int | None = None


# -- invites ----------------------------------------------------------------------------------


class InviteIn(Body):
    max_age_s: Annotated[int, Meta(ge=0, le=30 * 86400)] = 86400  # 0: never expires
    max_uses: Annotated[int, Meta(ge=0, le=10_000)] = 0  # 0: unlimited


class InviteOut(msgspec.Struct, kw_only=True):
    code: str
    community_id: str
    community_name: str
    creator_id: str
    created_at: int
    expires_at: int | None
    max_uses: int | None
    uses: int
    revoked: bool


class InviteList(msgspec.Struct):
    invites: list[InviteOut]


# -- moderation -------------------------------------------------------------------------------


class ReasonIn(Body):
    reason: Reason = ""


class ReasonQuery(Body):
    reason: Reason = ""


class BanIn(Body):
    reason: Reason = ""
    delete_message_seconds: Annotated[int, Meta(ge=0, le=7 * 86400)] = 0


class BanOut(msgspec.Struct, kw_only=True):
    user_id: str
    actor_id: str | None
    reason: str
    delete_message_seconds: int
    created_at: int


class BanList(msgspec.Struct):
    bans: list[BanOut]


class TimeoutIn(Body):
    """Give ``until`` (ms since epoch) or ``duration_s``."""

    until: Annotated[int, Meta(ge=0)] | None = None
    duration_s: Annotated[int, Meta(ge=1, le=28 * 86400)] | None = None
    reason: Reason = ""


ReportTarget = Literal["message", "post", "comment", "member"]
ReportStatus = Literal["open", "resolved", "dismissed"]


class ReportIn(Body):
    """A message, post or comment of this community the reporter can see, or one of its members."""

    target_type: ReportTarget
    target_id: Id
    # Accepted for older clients and ignored: the report records the target's real author.
    target_user: Annotated[str, Meta(max_length=64)] | None = None
    reason: Text = ""


class ReportPatch(Body):
    status: ReportStatus
    action_taken: Reason = ""


class ReportOut(msgspec.Struct, kw_only=True):
    id: str
    community_id: str
    reporter_id: str | None  # None: automod
    target_type: str
    target_id: str
    target_user: str | None
    reason: str
    excerpt: str
    rule_id: str | None
    status: str
    action_taken: str
    resolved_by: str | None
    resolved_at: int | None
    created_at: int
    # Where the reported message, post or comment is (for a link to it; None for a member or once
    # its author deleted it): filled in for the reports queue.
    channel_id: str | None = None
    post_id: str | None = None


class ReportList(msgspec.Struct):
    reports: list[ReportOut]
    next: str | None = None


class ReportQuery(Body):
    status: ReportStatus | None = "open"
    after: Annotated[str, Meta(max_length=64)] | None = None
    limit: Limit = 50


class ModlogContent(msgspec.Struct, kw_only=True):
    """What a removed (or restored) message, post or comment was: shown to moderators only."""

    author_id: str
    excerpt: str  # its start (a post: its title); "" once its author erased it
    channel_id: str
    post_id: str | None = None  # a post: itself; a comment: its post


class ModlogEntry(msgspec.Struct, kw_only=True):
    id: str  # the event id (hex)
    time: int  # ms
    actor: str  # a user id, "automod" or "node"
    action: str
    target: str | None
    target_type: str | None  # user | channel | role | rule | community | invite | message | post | comment
    reason: str
    details: dict[str, Any]
    content: ModlogContent | None = None  # a message, post or comment entry, for moderators


class ModlogList(msgspec.Struct):
    entries: list[ModlogEntry]
    next: str | None = None


class ModlogQuery(Body):
    before: Annotated[str, Meta(max_length=64)] | None = None  # an entry id
    limit: Limit = 50
    action: Annotated[str, Meta(max_length=40)] | None = None


# -- automod ----------------------------------------------------------------------------------


AutomodKind = Literal["words", "regex", "links", "invites", "mentions", "new_account"]
AutomodAction = Literal["block", "flag", "timeout"]


class AutomodConfigIn(Body):
    words: Annotated[list[Annotated[str, Meta(min_length=1, max_length=100)]], Meta(max_length=1000)] = []
    patterns: Annotated[list[Annotated[str, Meta(min_length=1, max_length=200)]], Meta(max_length=20)] = []
    allowed_domains: Annotated[list[Annotated[str, Meta(max_length=253)]], Meta(max_length=200)] = []
    max_mentions: Annotated[int, Meta(ge=0, le=100)] = 0
    min_account_age_s: Annotated[int, Meta(ge=0, le=365 * 86400)] = 0
    min_member_age_s: Annotated[int, Meta(ge=0, le=365 * 86400)] = 0


class AutomodRuleIn(Body):
    name: Name
    kind: AutomodKind
    config: AutomodConfigIn = msgspec.field(default_factory=AutomodConfigIn)
    action: AutomodAction = "block"
    timeout_s: Annotated[int, Meta(ge=0, le=28 * 86400)] = 0
    enabled: bool = True


class AutomodRuleOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    kind: str
    config: AutomodConfigIn
    action: str
    timeout_s: int
    enabled: bool


class AutomodRuleList(msgspec.Struct):
    rules: list[AutomodRuleOut]


class AutomodCheckIn(Body):
    text: Annotated[str, Meta(max_length=8000)]
    channel_id: Annotated[str, Meta(max_length=64)] | None = None
    dry_run: bool = False  # only evaluate (moderators testing rules): nothing is logged or reported


class AutomodCheckOut(msgspec.Struct, kw_only=True):
    action: str  # allow | block | flag | timeout
    rule_id: str | None = None
    reason: str = ""
