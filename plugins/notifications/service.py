"""Turning events and notices into notifications: blocks and permissions (async), then preferences,
the inbox row, its outbox mail/push rows in one write transaction, then the realtime push. Also
the inbox rules behind the routes, and the core's Notifier (notices recorded in others' writes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import msgspec

from cryb_node.clock import new_id, wall_ms
from cryb_node.db import Connection
from cryb_node.events import Event
from cryb_node.node import Node
from cryb_node.problems import Problem, not_found
from cryb_node.realtime.protocol import Dispatch
from cryb_node.services import PERMISSIONS, RELATIONSHIPS, Notice, Perm, Permissions, Relationships

from . import prefs as p
from . import queries
from .queries_outbox import enqueue
from .rules import Candidate, Rules, update_index
from .schemas import InboxQuery, NotificationList, NotificationOut, Settings

log = logging.getLogger(__name__)

CREATE = "NOTIFICATION_CREATE"
READ = "NOTIFICATION_READ"
TITLES = {
    "mention": "You were mentioned",
    "reply": "New reply",
    "dm": "New direct message",
    "friend_request": "New friend request",
    "friend_accept": "Friend request accepted",
    "comment": "New comment on your post",
    "moderation": "A moderator acted on your content",
    "report_resolved": "Your report was resolved",
    "announcement": "New announcement",
    "event_reminder": "An event starts soon",
}
_notice = msgspec.msgpack.Decoder(Notice)
_pack = msgspec.msgpack.Encoder().encode
_json = msgspec.json.Encoder().encode
_B32 = "0123456789abcdefghjkmnpqrstvwxyz"  # the alphabet of cryb_node.clock.new_id


class Notifications:
    def __init__(self, node: Node, settings: Settings) -> None:
        self.node = node
        self.s = settings
        self.db = node.db
        self.rules = Rules(node.db)
        self.prefs = p.Prefs(node.db)
        # Milliseconds since the epoch: the node's clock (tests may replace it with a fixed one).
        self.clock: Callable[[], int] = node.clock.time_ms
        # Set when something may be waiting (a pending notice, a due outbox row).
        self.wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._last_id = ""

    def _next_id(self) -> str:
        """A time-sortable id, strictly increasing within this node (so several notifications made
        in one millisecond keep their order in the inbox and its cursor). Runs in the writer."""
        nid = new_id()
        if nid <= self._last_id:
            value = 0
            for ch in self._last_id:
                value = value * 32 + _B32.index(ch)
            value += 1
            nid = "".join(_B32[(value >> (5 * i)) & 31] for i in reversed(range(26)))
        self._last_id = nid
        return nid

    # -- the core's Notifier ------------------------------------------------------------------

    def record(self, conn: Connection, notice: Notice) -> None:
        queries.record_pending(conn, notice.key, _pack(notice))
        # The caller's transaction commits right after this returns; the worker re-checks shortly
        # after waking (and polls anyway), so an early wake-up loses nothing.
        self._loop.call_soon_threadsafe(self._loop.call_later, 0.05, self.wake.set)

    async def process_pending(self) -> int:
        rows = await queries.pending(self.db)
        if not rows:
            return 0
        cands = []
        for row in rows:
            n = _notice.decode(row["data"])
            cands.append(
                Candidate(
                    n.user_id,
                    n.kind,
                    n.key,
                    n.actor_id,
                    n.community_id,
                    target_id=n.target_id,
                    preview=n.text,
                )
            )
        await self.deliver(cands, done_pending=[r["seq"] for r in rows])
        return len(rows)

    # -- events -------------------------------------------------------------------------------

    async def handle(self, events: list[Event]) -> None:
        """The bus consumer: at-least-once, made exactly-once by the inbox's (user, source) key."""
        await self.db.write(lambda conn: update_index(conn, events))
        oldest = self.clock() - self.s.max_event_age_s * 1000
        perms: Permissions | None = self.node.services.get(PERMISSIONS)
        cands: list[Candidate] = []
        for ev in events:
            if wall_ms(ev.body.hlc) < oldest:
                continue  # old history (the plugin was just enabled): indexed, tells nobody
            channel_kind = None
            channel = getattr(ev.payload, "channel_id", None)
            if ev.kind == "message.create" and ev.body.community and channel and perms and ev.body.author:
                access = await perms.channel(ev.body.author, channel)
                channel_kind = access.kind if access else None
            cands += await self.rules.candidates(ev, channel_kind)
        if cands:
            await self.deliver(cands)

    async def _allowed(self, c: Candidate) -> bool:
        rel: Relationships | None = self.node.services.get(RELATIONSHIPS)
        if c.actor_id and rel is not None and await rel.is_blocked(c.user_id, c.actor_id):
            return False  # blocks always suppress, whichever side blocked
        if c.needs_view:
            perms: Permissions | None = self.node.services.get(PERMISSIONS)
            if perms is None or c.channel_id is None:
                return False
            access = await perms.channel(c.user_id, c.channel_id)
            return access is not None and access.member and access.has(Perm.VIEW_CHANNEL)
        return True

    async def deliver(self, cands: list[Candidate], done_pending: list[int] | None = None) -> list[str]:
        allowed = [c for c in cands if await self._allowed(c)]
        now = self.clock()

        def write(conn: Connection) -> list[tuple[str, NotificationOut]]:
            created = []
            for c in allowed:
                user = queries.load_user(conn, c.user_id)
                decision = p.decide(
                    user,
                    queries.load_scope(conn, c.user_id, "community", c.community_id),
                    queries.load_scope(conn, c.user_id, "channel", c.channel_id),
                    c.kind,
                    now,
                )
                if decision is None:
                    continue
                nid = self._next_id()
                out = NotificationOut(
                    id=nid, kind=c.kind, actor_id=c.actor_id, community_id=c.community_id,
                    channel_id=c.channel_id, target_id=c.target_id, preview=c.preview, created_at=now,
                    read=False,
                )  # fmt: skip
                if not queries.insert_notification(conn, out, c.user_id, c.source, decision.email):
                    continue  # told already (a replay)
                created.append((c.user_id, out))
                if decision.push:
                    body = _json({"id": nid, "kind": c.kind, "title": TITLES[c.kind], "body": c.preview})
                    for sub_id in queries.subscriptions_of(conn, c.user_id):
                        enqueue(conn, "push", c.user_id, f"push:{nid}:{sub_id}",
                                {"sub": sub_id, "body": body}, now, now)  # fmt: skip
                if decision.email:
                    enqueue(conn, "email", c.user_id, f"mail:{nid}", {"type": "single", "ids": [nid]},
                            decision.hold_until or now, now)  # fmt: skip
            if done_pending:
                queries.forget_pending(conn, done_pending)
            return created

        created = await self.db.write(write)
        for user_id, out in created:
            self.node.realtime.publish(Dispatch(CREATE, msgspec.to_builtins(out), users=frozenset({user_id})))
        if created:
            self.wake.set()
        return [out.id for _, out in created]

    # -- the inbox ----------------------------------------------------------------------------

    async def list(self, user_id: str, q: InboxQuery) -> NotificationList:
        found = await queries.inbox_page(
            self.db, user_id, q.limit + 1, before=q.before, unread=q.unread, community_id=q.community_id
        )
        more = len(found) > q.limit
        found = found[: q.limit]
        return NotificationList(found, found[-1].id if more else None)

    async def unread(self, user_id: str) -> int:
        return await queries.unread(self.db, user_id)

    async def mark_read(
        self, user_id: str, *, nid: str | None = None, community_id: str | None = None
    ) -> int:
        now = self.clock()
        if nid is not None and not await queries.in_inbox(self.db, user_id, nid):
            raise not_found("notification")
        marked = await self.db.write(
            lambda conn: queries.mark_read(conn, user_id, now, nid=nid, community_id=community_id)
        )
        self.node.realtime.publish(
            Dispatch(READ, {"id": nid, "community_id": community_id}, users=frozenset({user_id}))
        )
        return marked

    async def delete(self, user_id: str, nid: str) -> None:
        n = await self.db.write(lambda conn: queries.delete_notification(conn, user_id, nid))
        if not n:
            raise not_found("notification")


def check_scope_id(value: str, name: str) -> str:
    if not (0 < len(value) <= 64):
        raise Problem("invalid_field", 400, f"{name} is not a valid id", field=name)
    return value
