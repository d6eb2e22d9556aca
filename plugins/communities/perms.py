"""The ONE permission function: what a user may do in a community or one of its channels.

Pure over an in-memory snapshot of the community (roles, overwrites, owner) and of the user's
membership (roles, timeout, ban), in Discord's documented order. Everything else (the HTTP checks,
the projection's replay-time authority checks, the cached Permissions service) calls it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from cryb_node.services import Perm

ALL = int(Perm.all())
# What a timed-out member keeps (Discord: read-only until the timeout ends).
TIMEOUT_KEEP = int(Perm.VIEW_CHANNEL | Perm.READ_HISTORY)
# What a non-member sees of a public community: reading only.
PUBLIC_READ = int(Perm.VIEW_CHANNEL | Perm.READ_HISTORY)
# Any of these makes someone a moderator (reports queue, member details).
MODERATOR = int(Perm.KICK_MEMBERS | Perm.BAN_MEMBERS | Perm.MODERATE_MEMBERS | Perm.MANAGE_MESSAGES)
# A new community's @everyone role.
DEFAULT_EVERYONE = int(
    Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.READ_HISTORY
    | Perm.ATTACH_FILES
    | Perm.ADD_REACTIONS
    | Perm.CREATE_POSTS
    | Perm.VOTE
    | Perm.CREATE_INVITES
    | Perm.CONNECT
    | Perm.SPEAK
    | Perm.VIDEO
)


@dataclass(frozen=True, slots=True)
class Overwrite:
    allow: int = 0
    deny: int = 0


@dataclass(slots=True)
class Channel:
    id: str
    kind: str
    name: str
    parent_id: str | None
    position: int
    nsfw: bool
    slowmode_s: int
    topic: str = ""
    # (target_type, target_id) -> Overwrite; target_type is "role" or "member".
    overwrites: dict[tuple[str, str], Overwrite] = field(default_factory=dict)


@dataclass(slots=True)
class Role:
    id: str
    perms: int
    position: int


@dataclass(frozen=True, slots=True)
class Screening:
    """What a member must have done before posting (onboarding.set): accept the rules, and pass the
    verification level (none | email | account_age | member_age, with min_minutes)."""

    require_rules: bool
    verification: str
    min_minutes: int
    self_roles: frozenset[str] = frozenset()


@dataclass(slots=True)
class CommunityState:
    """A snapshot of one community's permission-relevant rows."""

    id: str
    owner_id: str
    public: bool
    roles: dict[str, Role]
    channels: dict[str, Channel]
    screening: Screening | None = None  # onboarding.py
    tag_sets: dict[str, frozenset[str]] = field(default_factory=dict)  # forum channel -> its tags

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]


@dataclass(frozen=True, slots=True)
class MemberState:
    """One user's standing in one community."""

    member: bool = False
    banned: bool = False
    role_ids: frozenset[str] = frozenset()
    timeout_until: int | None = None  # ms
    joined_at: int = 0  # ms
    onboarded_at: int | None = None  # ms: accepted the rules (onboarding.py), this membership or earlier
    email_verified: bool = False  # as the member's home node vouched when they accepted

    def timed_out(self, now_ms: int) -> bool:
        return self.timeout_until is not None and self.timeout_until > now_ms


NOBODY = MemberState()


def base_permissions(community: CommunityState, user_id: str | None, m: MemberState, now_ms: int) -> int:
    """Community-wide permissions (no channel overwrites)."""
    if m.banned or (user_id is None and not community.public):
        return 0
    if user_id is not None and user_id == community.owner_id:
        return ALL
    if not m.member:
        return community.everyone.perms & PUBLIC_READ if community.public else 0
    perms = community.everyone.perms
    for rid in m.role_ids:
        role = community.roles.get(rid)
        if role is not None:
            perms |= role.perms
    if perms & Perm.ADMINISTRATOR:
        return ALL
    if m.timed_out(now_ms):
        perms &= TIMEOUT_KEEP
    return perms


def channel_permissions(
    community: CommunityState, channel: Channel, user_id: str | None, m: MemberState, now_ms: int
) -> int:
    """A user's permissions in one channel, in Discord's order:

    owner and ADMINISTRATOR get everything; base = @everyone | member roles; then the channel's
    @everyone overwrite, the member's role overwrites (all denies, then all allows), the member
    overwrite; in announcement channels SEND_MESSAGES needs an allow from a role or member overwrite
    (or MANAGE_CHANNELS); a timed-out member keeps only VIEW_CHANNEL and READ_HISTORY; without
    VIEW_CHANNEL nothing is left. Non-members of a public community get the @everyone result, read-only.
    """
    if m.banned or (user_id is None and not community.public):
        return 0
    if user_id is not None and user_id == community.owner_id:
        return ALL
    if not m.member and not community.public:
        return 0
    perms = community.everyone.perms
    if m.member:
        for rid in m.role_ids:
            role = community.roles.get(rid)
            if role is not None:
                perms |= role.perms
        if perms & Perm.ADMINISTRATOR:
            return ALL
    base = perms
    ow = channel.overwrites
    everyone = ow.get(("role", community.id))
    if everyone is not None:
        perms = (perms & ~everyone.deny) | everyone.allow
    if m.member:
        allow = deny = 0
        for rid in m.role_ids:
            o = ow.get(("role", rid))
            if o is not None and rid != community.id:
                allow |= o.allow
                deny |= o.deny
        perms = (perms & ~deny) | allow
        mine = ow.get(("member", user_id or ""))
        if mine is not None:
            perms = (perms & ~mine.deny) | mine.allow
            allow |= mine.allow
        if channel.kind == "announcement" and not (allow & Perm.SEND_MESSAGES or base & Perm.MANAGE_CHANNELS):
            # Announcement channels: only those granted sending there (a role or member overwrite)
            # or who manage channels may post; @everyone's general right to send does not count.
            perms &= ~Perm.SEND_MESSAGES
        if m.timed_out(now_ms):
            perms &= TIMEOUT_KEEP
    else:
        perms &= PUBLIC_READ
    if not perms & Perm.VIEW_CHANNEL:
        return 0
    return perms


def highest_position(community: CommunityState, user_id: str, role_ids: Iterable[str]) -> int:
    """Rank for hierarchy checks: the owner outranks everyone; otherwise the highest role's position."""
    if user_id == community.owner_id:
        return 1 << 62
    best = 0
    for rid in role_ids:
        role = community.roles.get(rid)
        if role is not None and role.position > best:
            best = role.position
    return best
