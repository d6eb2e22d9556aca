"""The Permissions service: the permission function, cached per (user, channel) and per community.

Every cached value carries the generation of its community when its computation started. A
governance event bumps the generation after it commits (bus listener), and a computation that
raced an invalidation sees a newer generation and does not store its result, so a stale answer is
never cached. Events written by another process (the CLI) are noticed by a short poll.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeGuard, TypeVar

from cryb_node.db import Database
from cryb_node.events import Event
from cryb_node.node import Node
from cryb_node.services import ChannelAccess, Perm

from . import queries
from .events import KINDS
from .perms import NOBODY, CommunityState, MemberState, base_permissions, channel_permissions
from .state import CHANNEL_COMMUNITY_SQL, load_community, load_member

FOREVER = 1 << 62
MAX_ENTRIES = 200_000  # per map; crossing it clears the map (a cold cache is only slower)


V = TypeVar("V")


@dataclass(slots=True)
class _Entry(Generic[V]):
    gen: int
    valid_until: int  # ms: a timeout ending changes the answer without any event
    value: V


class PermissionService:
    """Implements cryb_node.services.Permissions for the node's database."""

    def __init__(self, node: Node, clock: Callable[[], int] | None = None) -> None:
        self.node = node
        self.clock = clock or node.clock.time_ms  # ms since the epoch: timeouts end by it
        self._gen: dict[str, int] = {}
        self._communities: dict[str, _Entry[CommunityState | None]] = {}
        self._members: dict[tuple[str, str], _Entry[MemberState]] = {}
        self._channels: dict[tuple[str | None, str], _Entry[ChannelAccess | None]] = {}
        self._bases: dict[tuple[str | None, str], _Entry[int]] = {}
        self._channel_community: dict[str, str] = {}
        self.stats = {"hits": 0, "misses": 0, "invalidations": 0}

    @property
    def db(self) -> Database:
        return self.node.db  # opened after the routes are built, so looked up when used

    # -- invalidation -------------------------------------------------------------------------

    def generation(self, community_id: str) -> int:
        """Changes whenever a committed event changes the community (for other caches to compare)."""
        return self._gen.get(community_id, 0)

    def invalidate(self, community_ids: Iterable[str]) -> None:
        for cid in community_ids:
            self._gen[cid] = self._gen.get(cid, 0) + 1
            self.stats["invalidations"] += 1

    def on_events(self, events: list[Event]) -> None:
        """Bus listener: runs after each commit, in the event loop."""
        self.invalidate({e.body.community for e in events if e.kind in KINDS and e.body.community})

    def _store(
        self, cache: dict[Any, _Entry[V]], key: object, cid: str, gen: int, valid_until: int, value: V
    ) -> None:
        if self._gen.get(cid, 0) != gen:
            return  # an event changed this community while we computed: don't keep the answer
        if len(cache) >= MAX_ENTRIES:
            cache.clear()
        cache[key] = _Entry(gen, valid_until, value)

    def _fresh(self, entry: _Entry[V] | None, cid: str, now: int) -> TypeGuard[_Entry[V]]:
        return entry is not None and entry.gen == self._gen.get(cid, 0) and now < entry.valid_until

    # -- snapshots ----------------------------------------------------------------------------

    async def state(self, community_id: str) -> CommunityState | None:
        entry = self._communities.get(community_id)
        if self._fresh(entry, community_id, 0):
            return entry.value
        gen = self._gen.get(community_id, 0)
        value = await load_community(self.db, community_id)
        self._store(self._communities, community_id, community_id, gen, FOREVER, value)
        if value is not None:
            for ch in value.channels:
                self._channel_community[ch] = community_id
        return value

    async def member(self, community_id: str, user_id: str | None) -> MemberState:
        if user_id is None:
            return NOBODY
        key = (community_id, user_id)
        entry = self._members.get(key)
        if self._fresh(entry, community_id, 0):
            return entry.value
        gen = self._gen.get(community_id, 0)
        value = await load_member(self.db, community_id, user_id)
        self._store(self._members, key, community_id, gen, FOREVER, value)
        return value

    async def community_of(self, channel_id: str) -> str | None:
        cid = self._channel_community.get(channel_id)
        if cid is None:
            cid = await self.db.fetchval(CHANNEL_COMMUNITY_SQL, (channel_id,))
            if cid is not None:
                self._channel_community[channel_id] = cid
        return cid

    # -- the Permissions protocol ---------------------------------------------------------------

    async def channel(self, user_id: str | None, channel_id: str) -> ChannelAccess | None:
        now = self.clock()
        cid = await self.community_of(channel_id)
        if cid is None:
            return None
        key = (user_id, channel_id)
        entry = self._channels.get(key)
        if self._fresh(entry, cid, now):
            self.stats["hits"] += 1
            return entry.value
        self.stats["misses"] += 1
        gen = self._gen.get(cid, 0)
        state = await self.state(cid)
        ch = state.channels.get(channel_id) if state is not None else None
        if state is None or ch is None:
            self._store(self._channels, key, cid, gen, FOREVER, None)
            return None
        m = await self.member(cid, user_id)
        perms = channel_permissions(state, ch, user_id, m, now)
        timed_out = m.timed_out(now)
        access = ChannelAccess(
            channel_id=channel_id,
            community_id=cid,
            kind=ch.kind,
            perms=perms,
            member=m.member,
            timed_out_until=m.timeout_until if timed_out else None,
            slowmode_s=ch.slowmode_s,
            nsfw=ch.nsfw,
        )
        valid = m.timeout_until if timed_out and m.timeout_until else FOREVER
        self._store(self._channels, key, cid, gen, valid, access)
        return access

    async def is_member(self, user_id: str, community_id: str) -> bool:
        m = await self.member(community_id, user_id)
        return m.member and not m.banned

    async def community(self, user_id: str | None, community_id: str) -> int:
        now = self.clock()
        key = (user_id, community_id)
        entry = self._bases.get(key)
        if self._fresh(entry, community_id, now):
            self.stats["hits"] += 1
            return entry.value
        self.stats["misses"] += 1
        gen = self._gen.get(community_id, 0)
        state = await self.state(community_id)
        if state is None:
            return 0
        m = await self.member(community_id, user_id)
        perms = base_permissions(state, user_id, m, now)
        valid = m.timeout_until if m.timed_out(now) and m.timeout_until else FOREVER
        self._store(self._bases, key, community_id, gen, valid, perms)
        return perms

    async def visible_channels(
        self, user_id: str | None, community_id: str | None = None
    ) -> list[ChannelAccess]:
        if community_id is None:
            if user_id is None:
                return []
            cids = await queries.communities_of(self.db, user_id)
        else:
            cids = [community_id]
        out: list[ChannelAccess] = []
        for cid in cids:
            state = await self.state(cid)
            if state is None:
                continue
            ordered = sorted(state.channels.values(), key=lambda c: (c.position, c.id))
            for ch in ordered:
                access = await self.channel(user_id, ch.id)
                if access is not None and access.perms & Perm.VIEW_CHANNEL:
                    out.append(access)
        return out
