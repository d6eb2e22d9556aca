"""The hub: live gateway sessions, permission-filtered fan-out of committed events, presence, typing.

Committed events arrive from the bus in log order; plugins' dispatchers turn them into Dispatches; one
fan-out task delivers them in order, so every session sees events in the order they were committed.
Each Dispatch is JSON-encoded once; a session only splices in its own sequence number.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

from cryb_node.clock import Clock
from cryb_node.config import RealtimeSection
from cryb_node.events import Event
from cryb_node.realtime.protocol import (
    Close,
    Dispatch,
    Dispatcher,
    DispatchFrame,
    GatewayOp,
    op_decoder,
    text_frame,
)
from cryb_node.services import Perm, Permissions

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)
TYPING_EVERY_S = 3.0
# A session is a zombie once this many heartbeat intervals pass without a frame from its client.
HEARTBEAT_GRACE = 1.5
# Frames go straight to the socket's transport while its buffer holds less than this (the kernel
# takes them as fast as they come); beyond it they wait in the session's bounded queue for a drain.
DIRECT_WRITE_BELOW = 64 * 1024


class Session:
    """One identified client session; it outlives a dropped socket for the resume window.

    Ten thousand of these live at once on a busy node, so a session holds slots, not a dict, and
    what only a backlog needs (the output queue and the task that drains it) exists only while
    there is one: a client that keeps up costs no task and no queue."""

    __slots__ = (
        "__weakref__",
        "_direct",
        "_out",
        "_out_bytes",
        "_replay",
        "_transport",
        "_typing",
        "_writer",
        "communities",
        "credential",
        "detached_at",
        "hub",
        "id",
        "intents",
        "seq",
        "status",
        "user_id",
        "ws",
    )

    def __init__(self, hub: Hub, user_id: str) -> None:
        self.hub = hub
        self.id = secrets.token_urlsafe(16)
        self.user_id = user_id
        self.seq = 0
        self.ws: web.WebSocketResponse | None = None
        # The socket's transport: what it holds counts against the send buffer limit, and while it
        # keeps up, uncompressed frames are written to it directly (``_direct``).
        self._transport: asyncio.WriteTransport | None = None
        self._direct = False
        self.status = "online"
        self.communities: set[str] = set()
        self.detached_at: float | None = None
        # The last dispatches, for a resume: shared frames (their bytes exist once for every session;
        # a session's copy with its seq is made only when written), the newest being number ``seq``.
        # One pointer per entry, as a thousand sessions keep thousands each. Made with the first, a
        # list trimmed in steps rather than a deque: an empty deque costs ~620 bytes, 6 MiB at 10,000
        # sessions that have had one dispatch.
        self._replay: list[DispatchFrame] | None = None
        # Frames waiting for the socket to drain, and the task writing them; None while it keeps up.
        self._out: deque[bytes | tuple[int, DispatchFrame]] | None = None
        self._out_bytes = 0
        self._writer: asyncio.Task[None] | None = None
        self._typing: dict[str, float] = {}
        self.intents: frozenset[str] | None = None  # dispatch kinds it asked for (None: all)
        self.credential: str | None = None  # the sign-in session or API token it identified with

    # -- sending ------------------------------------------------------------------------------

    def dispatch(self, frame: DispatchFrame) -> None:
        if self.intents is not None and frame.name not in self.intents:
            return
        self.seq += 1
        item = (self.seq, frame)
        keep = self.hub.config.resume_buffer_events
        if keep:
            replay = self._replay
            if replay is None:
                replay = self._replay = []
            replay.append(frame)
            if len(replay) > keep + keep // 4 + 1:  # trimmed every keep/4 frames: O(1) per frame
                del replay[:-keep]
        self._enqueue(item, frame.size)

    def send(self, data: bytes) -> None:
        self._enqueue(data, len(data))

    def _enqueue(self, data: bytes | tuple[int, DispatchFrame], size: int) -> None:
        ws = self.ws
        if ws is None:
            return  # detached: the replay buffer has it for a resume
        transport = self._transport
        buffered = transport.get_write_buffer_size() if transport is not None else 0
        if self._out_bytes + buffered + size > self.hub.config.send_buffer_bytes:
            # The client stopped reading. Cut it off rather than grow memory; it may resume.
            self.hub.metrics["slow_consumer_disconnects"] += 1
            asyncio.get_running_loop().create_task(self.close(Close.SLOW_CONSUMER, "slow consumer; resume"))
            self._drop_output()
            return
        if (
            self._direct
            and transport is not None
            and not self._out  # nothing queued ahead of it: order is kept
            and buffered < DIRECT_WRITE_BELOW
            and not ws.closed
            and not transport.is_closing()
        ):
            # The common case, written now: no task to wake per socket, no await per frame.
            transport.write(text_frame(data[1].with_seq(data[0]) if isinstance(data, tuple) else data))
            return
        if self._out is None:
            self._out = deque()
        self._out.append(data)
        self._out_bytes += size
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._drain(ws))

    def _drop_output(self) -> None:
        self._out = None
        self._out_bytes = 0

    async def _drain(self, ws: web.WebSocketResponse) -> None:
        """Write the backlog in order, then end: the next backlog starts a new one."""
        from aiohttp import WSMsgType

        try:
            while self._out and self.ws is ws:
                item = self._out.popleft()
                data = item[1].with_seq(item[0]) if isinstance(item, tuple) else item
                self._out_bytes -= item[1].size if isinstance(item, tuple) else len(data)
                await ws.send_frame(data, WSMsgType.TEXT)
        except ConnectionError:
            # The socket went while frames waited: the connection's reader sees the close and
            # detaches; what was queued is in the replay buffer for a resume.
            self._drop_output()
        finally:
            if self._writer is asyncio.current_task():
                self._writer = None
                if not self._out:
                    self._out = None

    def replay_after(self, seq: int) -> list[bytes] | None:
        """Frames after ``seq``, or None when the buffer no longer reaches back that far."""
        if seq > self.seq or seq < 0:
            return None
        if seq == self.seq:
            return []
        replay = self._replay or []
        held = min(len(replay), self.hub.config.resume_buffer_events)  # the newest; older ones await a trim
        first = self.seq - held + 1  # the seq of the oldest frame held
        if seq + 1 < first:
            return None
        missed = replay[len(replay) - held + seq + 1 - first :]
        return [frame.with_seq(s) for s, frame in enumerate(missed, start=seq + 1)]

    # -- lifetime -----------------------------------------------------------------------------

    def attach(self, ws: web.WebSocketResponse, transport: asyncio.WriteTransport | None = None) -> None:
        """Send to ``ws`` from now on; with its ``transport``, uncompressed frames are written directly
        while it keeps up (a compressed socket's frames go through aiohttp's compressor instead)."""
        self.ws = ws
        self.detached_at = None
        self._transport = transport
        self._direct = transport is not None and not ws.compress
        self._drop_output()
        if self._writer is not None:  # still writing to the socket this one replaces: stop it
            self._writer.cancel()
            self._writer = None

    async def detach(self) -> None:
        self.ws = None
        self._transport = None
        self._direct = False
        self.detached_at = self.hub.clock.monotonic()
        self._drop_output()
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
            self._writer = None

    async def close(self, code: int, message: str) -> None:
        ws = self.ws
        if ws is not None and not ws.closed:
            await ws.close(code=code, message=message.encode())

    def typing_allowed(self, channel_id: str) -> bool:
        now = self.hub.clock.monotonic()
        if now - self._typing.get(channel_id, 0.0) < TYPING_EVERY_S:
            return False
        self._typing[channel_id] = now
        return True


class Waiting(Protocol):
    """A socket waiting for its client: by ``deadline`` (the loop's time; inf while not waiting)."""

    deadline: float

    def expire(self) -> None: ...


class Watchdog:
    """The gateway's read deadlines (IDENTIFY in time, a heartbeat in time) for every socket at
    once: one number per socket, checked by one task every ``tick`` seconds. A timer per socket
    (``ws.receive(timeout=...)``) cost about half a KiB per session, 5 MiB at 10,000; here a
    deadline is noticed at most ``tick`` late."""

    def __init__(self, tick: float) -> None:
        self.tick = tick
        self._watched: set[Waiting] = set()

    def watch(self, socket: Waiting) -> None:
        self._watched.add(socket)

    def unwatch(self, socket: Waiting) -> None:
        self._watched.discard(socket)

    def expire_due(self, now: float) -> None:
        for socket in [s for s in self._watched if s.deadline <= now]:
            socket.deadline = math.inf
            socket.expire()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.tick)
            self.expire_due(loop.time())


class Hub:
    def __init__(
        self, config: RealtimeSection, permissions: Permissions | None = None, *, clock: Clock
    ) -> None:
        self.config = config
        self.permissions = permissions
        self.clock = clock  # the node's: resume windows, typing and presence pacing
        self.sessions: dict[str, Session] = {}
        self.by_user: dict[str, set[Session]] = {}
        self.dispatchers: dict[str, list[Dispatcher]] = {}
        # Plugins' client ops (Plugin.gateway_ops): op -> (the op, a decoder of its frames' ``d``).
        self.ops: dict[str, tuple[GatewayOp, Callable[[bytes], object]]] = {}
        self.metrics = {"dispatched": 0, "delivered": 0, "slow_consumer_disconnects": 0}
        self._queue: asyncio.Queue[Dispatch] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        # Presence: users whose presence may have changed, per community, until the next flush; and
        # the status each community was last told (absent = offline).
        # Set when other processes serve sockets too (edges): gets every non-event dispatch.
        self.relay: Callable[[Dispatch], None] | None = None
        self._presence_pending: dict[str, set[str]] = {}
        self._presence_sent: dict[tuple[str, str], str] = {}
        self._presence_wake = asyncio.Event()
        self._presence_due: dict[str, float] = {}  # community id -> when its next flush may go
        self._presence_task: asyncio.Task[None] | None = None
        # community id -> the sessions sharing presence in it (``Session.communities``), so that who
        # is online in a community costs its own members, not a walk over every connected user.
        self._sharing: dict[str, set[Session]] = {}
        self.ready_gate = asyncio.Semaphore(config.ready_concurrency)
        self._reaped_at = 0.0
        waits = min(config.identify_timeout_s, config.heartbeat_interval_s * HEARTBEAT_GRACE)
        self.watchdog = Watchdog(tick=min(1.0, waits / 4))
        self._watchdog_task: asyncio.Task[None] | None = None

    def add_dispatchers(self, mapping: Mapping[str, Dispatcher]) -> None:
        for kind, fn in mapping.items():
            self.dispatchers.setdefault(kind, []).append(fn)

    def add_ops(self, mapping: Mapping[str, GatewayOp]) -> None:
        for name, op in mapping.items():
            if name in self.ops:
                raise ValueError(f"two plugins handle the gateway op {name}")
            self.ops[name] = (op, op_decoder(op))

    async def start(self) -> None:
        self._task = asyncio.create_task(self._fan_out_loop(), name="realtime-fan-out")
        self._presence_task = asyncio.create_task(self._presence_loop(), name="realtime-presence")
        self._watchdog_task = asyncio.create_task(self.watchdog.run(), name="realtime-watchdog")

    async def stop(self) -> None:
        for session in list(self.sessions.values()):
            await session.close(Close.SERVER_RESTART, "node restarting; resume")
            await session.detach()
        for task in (self._task, self._presence_task, self._watchdog_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # -- sessions -----------------------------------------------------------------------------

    def create(self, user_id: str) -> Session:
        self._reap()
        session = Session(self, user_id)
        self.sessions[session.id] = session
        self.by_user.setdefault(user_id, set()).add(session)
        return session

    def resumable(self, session_id: str, user_id: str) -> Session | None:
        self._reap()
        session = self.sessions.get(session_id)
        if session is None or session.user_id != user_id or session.ws is not None:
            return None
        if self._expired(session, self.clock.monotonic()):
            self._forget(session)
            return None
        return session

    def _reap(self) -> None:
        now = self.clock.monotonic()
        # At most once a second: a walk over every session on each IDENTIFY made a connect storm
        # quadratic; a session kept a second past its resume window is harmless.
        if now - self._reaped_at < 1.0:
            return
        self._reaped_at = now
        for session in list(self.sessions.values()):
            if self._expired(session, now):
                self._forget(session)

    def _expired(self, session: Session, now: float) -> bool:
        return session.detached_at is not None and now - session.detached_at > self.config.resume_window_s

    def _forget(self, session: Session) -> None:
        self.sessions.pop(session.id, None)
        self.share(session, set())
        peers = self.by_user.get(session.user_id)
        if peers is not None:
            peers.discard(session)
            if not peers:
                del self.by_user[session.user_id]

    def presence_of(self, user_id: str) -> str:
        live = [s for s in self.by_user.get(user_id, ()) if s.ws is not None]
        if not live:
            return "offline"
        statuses = {s.status for s in live}
        for status in ("online", "dnd", "idle"):
            if status in statuses:
                return status
        return "offline"  # invisible

    # -- presence -----------------------------------------------------------------------------

    def share(self, session: Session, communities: set[str]) -> None:
        """The communities whose members see this session's presence (and whose presence it sees)."""
        for community_id in session.communities - communities:
            peers = self._sharing.get(community_id)
            if peers is not None:
                peers.discard(session)
                if not peers:
                    del self._sharing[community_id]
        for community_id in communities - session.communities:
            self._sharing.setdefault(community_id, set()).add(session)
        session.communities = communities

    def sharing(self, community_id: str) -> int:
        """Sessions sharing presence in a community (live or resumable): at least its online count."""
        return len(self._sharing.get(community_id, ()))

    def online_in(self, communities: Iterable[str], exclude_user: str) -> list[dict[str, str]]:
        """Who is online (not offline or invisible) among the people sharing these communities."""
        seen = {exclude_user}
        out = []
        for community_id in communities:
            for peer in self._sharing.get(community_id, ()):
                if peer.user_id in seen:
                    continue
                seen.add(peer.user_id)
                if (status := self.presence_of(peer.user_id)) != "offline":
                    out.append({"user_id": peer.user_id, "status": status})
        return out

    async def refresh_membership(self, user_id: str) -> None:
        """The user's communities changed (a join, a leave, a ban): their open sessions share
        presence with the new set, and are told who is online in communities new to them (READY
        told them only about the ones they were in)."""
        sessions = self.by_user.get(user_id)
        if not sessions or self.permissions is None:
            return
        now = {c.community_id for c in await self.permissions.visible_channels(user_id)}
        for session in list(sessions):
            before = session.communities
            self.share(session, set(now))
            for community_id in sorted(now - before):
                presences = self.online_in([community_id], user_id)
                if presences:
                    data = {"community_id": community_id, "presences": presences}
                    session.dispatch(DispatchFrame("PRESENCE_UPDATE", data))
        self.presence_changed(user_id, now)

    def presence_changed(self, user_id: str, communities: Iterable[str]) -> None:
        """A user's presence may have changed: each community hears it with the next flush."""
        for community_id in communities:
            self._presence_pending.setdefault(community_id, set()).add(user_id)
        self._presence_wake.set()

    async def _presence_loop(self) -> None:
        while True:
            await self._presence_wake.wait()
            await asyncio.sleep(self.config.presence_flush_s)  # gather the changes of a burst
            self._presence_wake.clear()
            self.flush_presence(self.clock.monotonic())
            if self._presence_pending:
                self._presence_wake.set()  # a large community's changes wait for its next turn

    def _presence_every(self, community_id: str) -> float:
        """Seconds between a community's PRESENCE_UPDATEs: presence_flush_s, stretched in proportion
        past ready_presences_max sessions, so one community's presence costs at most about
        ready_presences_max / presence_flush_s frames a second whatever its size (each flush goes
        to every member: at a fixed rate a connect storm of N members cost N frames per flush)."""
        sharing, cap = len(self._sharing.get(community_id, ())), max(1, self.config.ready_presences_max)
        return self.config.presence_flush_s * max(1.0, sharing / cap)

    def flush_presence(self, now: float) -> None:
        """One PRESENCE_UPDATE per community due with its members' changes since its last flush."""
        pending, self._presence_pending = self._presence_pending, {}
        for community_id, users in pending.items():
            if now < self._presence_due.get(community_id, 0.0):
                self._presence_pending[community_id] = users
                continue
            changes = []
            for user_id in sorted(users):
                status, key = self.presence_of(user_id), (community_id, user_id)
                if self._presence_sent.get(key, "offline") == status:
                    continue  # e.g. a second tab opened, or offline and back within the window
                changes.append({"user_id": user_id, "status": status})
                if status == "offline":
                    self._presence_sent.pop(key, None)
                else:
                    self._presence_sent[key] = status
            if changes:
                data = {"community_id": community_id, "presences": changes}
                self.publish(Dispatch("PRESENCE_UPDATE", data, community_id=community_id))
                self._presence_due[community_id] = now + self._presence_every(community_id)

    # -- fan-out ------------------------------------------------------------------------------

    def on_events(self, events: list[Event]) -> None:
        """Bus listener: called in the event loop with each committed batch, in log order."""
        for ev in events:
            for fn in self.dispatchers.get(ev.kind, ()):
                try:
                    out = fn(ev)
                except Exception:
                    log.exception("dispatcher for %s failed", ev.kind)
                    continue
                for d in [out] if isinstance(out, Dispatch) else out or ():
                    self._queue.put_nowait(d)

    def publish(self, dispatch: Dispatch, *, relayed: bool = False) -> None:
        """Send something that is not an event (presence, typing, notifications). With several
        processes (cryb_node/scale/relay.py) ``relay`` hands it to the others' hubs too."""
        self._queue.put_nowait(dispatch)
        if self.relay is not None and not relayed:
            self.relay(dispatch)

    async def _fan_out_loop(self) -> None:
        while True:
            dispatch = await self._queue.get()
            try:
                await self.deliver(dispatch)
            except Exception:
                log.exception("fan-out of %s failed", dispatch.name)

    async def deliver(self, d: Dispatch) -> int:
        if d.membership_of is not None:
            await self.refresh_membership(d.membership_of)
        users: Iterable[str] = d.users if d.users is not None else list(self.by_user)
        frame: DispatchFrame | None = None
        delivered = 0
        for user_id in users:
            sessions = self.by_user.get(user_id)
            if not sessions or user_id == d.exclude_user or not await self._may_see(user_id, d):
                continue
            if d.each is not None:
                mine = await d.each(user_id)
                if mine is None:
                    continue
                for session in sessions:
                    session.dispatch(DispatchFrame(*mine))
                    delivered += 1
                continue
            if frame is None:
                frame = DispatchFrame(d.name, d.data)
            for session in sessions:
                session.dispatch(frame)
                delivered += 1
        self.metrics["dispatched"] += 1
        self.metrics["delivered"] += delivered
        return delivered

    async def _may_see(self, user_id: str, d: Dispatch) -> bool:
        if d.channel_id is None and d.community_id is None:
            return d.users is not None  # addressed only to named users
        if self.permissions is None:
            return False
        if d.channel_id is not None:
            access = await self.permissions.channel(user_id, d.channel_id)
            return access is not None and access.member and access.has(d.perm)
        # Members only: a public community's permissions let anyone read it, but its live events
        # (presence above all) are for the people in it.
        community_id = d.community_id or ""
        perms = await self.permissions.community(user_id, community_id)
        return bool(perms & (d.perm | Perm.ADMINISTRATOR)) and await self.permissions.is_member(
            user_id, community_id
        )
