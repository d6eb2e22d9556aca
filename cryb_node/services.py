"""Typed service interfaces plugins offer each other through ``node.services``.

The core defines the vocabulary; a plugin provides the implementation (``node.services.provide``)
and others look it up (``node.services.get``) without importing the provider's internals.
"""

from __future__ import annotations

from enum import IntFlag
from typing import Protocol

import msgspec


class Perm(IntFlag):
    """The permission bitfield (Discord's model). Values are stable: they are stored and sent."""

    VIEW_CHANNEL = 1 << 0
    SEND_MESSAGES = 1 << 1
    READ_HISTORY = 1 << 2
    ATTACH_FILES = 1 << 3
    ADD_REACTIONS = 1 << 4
    MENTION_EVERYONE = 1 << 5
    MANAGE_MESSAGES = 1 << 6
    MANAGE_CHANNELS = 1 << 7
    MANAGE_ROLES = 1 << 8
    MANAGE_COMMUNITY = 1 << 9
    KICK_MEMBERS = 1 << 10
    BAN_MEMBERS = 1 << 11
    MODERATE_MEMBERS = 1 << 12
    CREATE_POSTS = 1 << 13
    VOTE = 1 << 14
    CREATE_INVITES = 1 << 15
    VIEW_AUDIT_LOG = 1 << 16
    ADMINISTRATOR = 1 << 17

    @classmethod
    def all(cls) -> Perm:
        value = cls(0)
        for member in cls:
            value |= member
        return value


class ChannelAccess(msgspec.Struct, frozen=True):
    """What one user may do in one channel, right now."""

    channel_id: str
    community_id: str
    kind: str  # text | forum | announcement | category
    perms: int  # a Perm bitfield
    member: bool  # the user is a member of the community
    timed_out_until: int | None = None  # ms since epoch
    slowmode_s: int = 0
    nsfw: bool = False

    def has(self, perm: Perm) -> bool:
        return bool(self.perms & perm) or bool(self.perms & Perm.ADMINISTRATOR)


class Permissions(Protocol):
    """Provided by the communities plugin: the ONE permission function, cached."""

    async def channel(self, user_id: str | None, channel_id: str) -> ChannelAccess | None:
        """The user's access to a channel (None: no such channel). ``user_id`` None is anonymous."""
        ...

    async def community(self, user_id: str | None, community_id: str) -> int:
        """The user's community-wide permissions (no channel overwrites); 0 if banned or absent."""
        ...

    async def visible_channels(self, user_id: str, community_id: str | None = None) -> list[ChannelAccess]:
        """Every channel the user may view (in one community, or in all their communities)."""
        ...


class Relationships(Protocol):
    """Provided by the users plugin."""

    async def is_blocked(self, user_id: str, other_id: str) -> bool:
        """True if either user blocks the other."""
        ...


class AutomodVerdict(msgspec.Struct, frozen=True):
    action: str  # allow | block | flag | timeout
    rule_id: str | None = None
    reason: str = ""


class Automod(Protocol):
    """Provided by the communities plugin: checks text a member is about to post."""

    async def check(self, community_id: str, user_id: str, text: str) -> AutomodVerdict: ...
