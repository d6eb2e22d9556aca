"""`GET /gateway`: one WebSocket connection through HELLO -> IDENTIFY|RESUME -> READY, then frames."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import WSMsgType, web

from cryb_node.http.api import Principal
from cryb_node.http.middleware import AUTHENTICATOR
from cryb_node.problems import Problem
from cryb_node.realtime import protocol as p
from cryb_node.realtime.hub import HEARTBEAT_GRACE, Hub, Session
from cryb_node.services import Perm

if TYPE_CHECKING:
    from cryb_node.node import Node

log = logging.getLogger(__name__)


class _Op(msgspec.Struct):
    op: str


_decode_op = msgspec.json.Decoder(_Op).decode


class Closing(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Connection:
    """Reads and answers one socket's frames; the Session is what survives it."""

    __slots__ = (
        "_frames", "_task", "_timed_out", "_window_start", "cfg", "deadline", "hub", "node", "session",
        "transport", "ws",
    )  # fmt: skip

    def __init__(self, node: Node, hub: Hub) -> None:
        self.node = node
        self.hub = hub
        self.cfg = hub.config
        self.ws = web.WebSocketResponse(
            max_msg_size=self.cfg.max_frame_bytes, compress=self.cfg.compress, autoping=True
        )
        self.transport: asyncio.WriteTransport | None = None
        self.session: Session | None = None
        self._window_start = node.clock.monotonic()
        self._frames = 0.0
        # While _next waits: when the hub's watchdog gives up on the client (the loop's time).
        self.deadline = math.inf
        self._timed_out = False
        self._task: asyncio.Task[Any] | None = None

    def expire(self) -> None:
        """The watchdog's call: the client said nothing in time. _next turns it into a close."""
        if self._task is not None:
            self._timed_out = True
            self._task.cancel()

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """The socket's whole life in one coroutine frame: it stays suspended under every open
        socket, as does each caller's (about 300 bytes each, 3 MiB per frame at 10,000 sessions)."""
        ws = self.ws
        await ws.prepare(request)
        self.transport = request.transport
        self._task = asyncio.current_task()
        self.hub.watchdog.watch(self)
        try:
            await self._send(
                p.frame(
                    "HELLO",
                    {
                        "heartbeat_interval_ms": int(self.cfg.heartbeat_interval_s * 1000),
                        "resume_window_s": self.cfg.resume_window_s,
                        "protocol": p.PROTOCOL_VERSION,
                    },
                )
            )
            while self.session is None:
                await self._handshake(
                    await self._next(self.cfg.identify_timeout_s, p.Close.NOT_AUTHENTICATED)
                )
            while True:
                await self._handle(
                    await self._next(
                        self.cfg.heartbeat_interval_s * HEARTBEAT_GRACE, p.Close.SESSION_TIMED_OUT
                    )
                )
        except Closing as closing:
            if not ws.closed:
                await ws.close(code=closing.code, message=closing.message.encode())
        except Exception:
            log.exception("gateway connection failed")
            if not ws.closed:
                await ws.close(code=p.Close.UNKNOWN_ERROR, message=b"internal error")
        finally:
            self.hub.watchdog.unwatch(self)
            if self.session is not None and self.session.ws is ws:
                await self.session.detach()
                self._presence_changed()
                for loaded in self.node.plugins:
                    try:
                        await loaded.plugin.gateway_closed(self.node, self.session)
                    except Exception:
                        log.exception("%s: gateway_closed failed", loaded.plugin.name)
        return ws

    async def _send(self, data: bytes) -> None:
        await self.ws.send_frame(data, WSMsgType.TEXT)

    async def _next(self, timeout: float, code_on_timeout: int) -> p.ClientFrame | tuple[p.GatewayOp, Any]:
        assert self._task is not None
        self.deadline = self._task.get_loop().time() + timeout
        try:
            msg = await self.ws.receive()
        except asyncio.CancelledError:
            if not self._timed_out:
                raise  # the node is stopping
            self._timed_out = False
            self._task.uncancel()
            raise Closing(code_on_timeout, "timed out waiting for the client") from None
        finally:
            self.deadline = math.inf
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
            raise Closing(1000, "bye")
        if msg.type == WSMsgType.ERROR:
            # aiohttp closes an oversize frame with 1009 itself; anything else is a protocol error.
            raise Closing(1009 if self.ws.close_code == 1009 else p.Close.DECODE_ERROR, "bad frame")
        if msg.type != WSMsgType.TEXT:
            raise Closing(p.Close.DECODE_ERROR, "frames are JSON text")
        raw = msg.data.encode()
        try:
            op = _decode_op(raw).op
        except msgspec.DecodeError:
            self._count_frame()
            raise Closing(p.Close.DECODE_ERROR, "frame is not a JSON object with an op") from None
        plugin_op = self.hub.ops.get(op)
        self._count_frame(plugin_op[0].cost if plugin_op is not None else 1.0)
        if plugin_op is not None:
            try:
                return plugin_op[0], plugin_op[1](raw)
            except msgspec.DecodeError as err:
                raise Closing(p.Close.DECODE_ERROR, f"bad {op} frame: {err}"[:120]) from None
        if op not in p.CLIENT_OPS:
            raise Closing(p.Close.UNKNOWN_OP, f"unknown op {op[:40]}")
        try:
            return p.decode_client(raw)
        except msgspec.DecodeError as err:
            raise Closing(p.Close.DECODE_ERROR, f"bad {op} frame: {err}"[:120]) from None

    def _count_frame(self, cost: float = 1.0) -> None:
        now = self.node.clock.monotonic()
        if now - self._window_start > self.cfg.client_window_s:
            self._window_start, self._frames = now, 0.0
        self._frames += cost
        if self._frames > self.cfg.client_frames:
            raise Closing(p.Close.RATE_LIMITED, "too many frames; slow down")

    async def _authenticate(self, token: str) -> Principal:
        auth = self.node.services.get(AUTHENTICATOR)
        try:
            principal = await auth.authenticate(token) if auth is not None else None
        except Problem as err:  # a refusal that says why (account_moved)
            raise Closing(p.Close.AUTHENTICATION_FAILED, err.detail[:120]) from None
        if principal is None:
            raise Closing(p.Close.AUTHENTICATION_FAILED, "invalid or expired token")
        if principal.scopes is not None and "read" not in principal.scopes:
            raise Closing(p.Close.AUTHENTICATION_FAILED, "the gateway needs a token with the read scope")
        return principal

    async def _handshake(self, frame: p.ClientFrame | tuple[p.GatewayOp, Any]) -> None:
        if isinstance(frame, p.Heartbeat):
            await self._send(p.frame("HEARTBEAT_ACK"))
            return
        if isinstance(frame, p.Identify):
            async with self.hub.ready_gate:
                principal = await self._authenticate(frame.d.token)
                session = self.hub.create(principal.user_id)
                session.credential = principal.session_id
                if frame.d.intents is not None:
                    session.intents = frozenset(frame.d.intents)
                ready = await self._ready_payload(session)
            session.attach(self.ws, self.transport)
            self.session = session
            session.send(p.frame("READY", ready))  # through the session: nothing can overtake it
            self._presence_changed()
            return
        if isinstance(frame, p.Resume):
            user_id = (await self._authenticate(frame.d.token)).user_id
            resumed = self.hub.resumable(frame.d.session_id, user_id)
            missed = resumed.replay_after(frame.d.seq) if resumed is not None else None
            if resumed is None or missed is None:
                await self._send(p.frame("INVALID_SESSION", {"resumable": False}))
                return  # the client may IDENTIFY on this same socket
            resumed.attach(self.ws, self.transport)
            self.session = resumed
            for data in missed:
                resumed.send(data)
            resumed.send(
                p.frame("RESUMED", {"session_id": resumed.id, "replayed": len(missed), "seq": resumed.seq})
            )
            self._presence_changed()
            return
        raise Closing(p.Close.NOT_AUTHENTICATED, "IDENTIFY or RESUME first")

    async def _ready_payload(self, session: Session) -> dict[str, Any]:
        ready: dict[str, Any] = {"session_id": session.id, "user": {"id": session.user_id}}
        for loaded in self.node.plugins:
            ready.update(await loaded.plugin.gateway_ready(self.node, session.user_id))
        if self.hub.permissions is not None:
            channels = await self.hub.permissions.visible_channels(session.user_id)
            self.hub.share(session, {c.community_id for c in channels})
            # Who among the people sharing a community is online now (changes follow as PRESENCE_UPDATE);
            # for a large community the client reads it from the member list as it shows it.
            limit = self.cfg.ready_presences_max
            small = sorted(c for c in session.communities if self.hub.sharing(c) <= limit + 1)
            ready["presences"] = self.hub.online_in(small, session.user_id)
            ready["presences_partial"] = sorted(session.communities.difference(small))
        return ready

    async def _handle(self, frame: p.ClientFrame | tuple[p.GatewayOp, Any]) -> None:
        session = self.session
        assert session is not None
        if isinstance(frame, tuple):
            await frame[0].handle(session, frame[1])
        elif isinstance(frame, p.Heartbeat):
            session.send(p.frame("HEARTBEAT_ACK"))
        elif isinstance(frame, p.PresenceUpdate):
            session.status = frame.d.status
            # Also picks up communities joined since READY (the node does that itself on a join;
            # a client saying so costs one look-up).
            await self.hub.refresh_membership(session.user_id)
            self._presence_changed()
        elif isinstance(frame, p.Typing):
            await self._typing(session, frame.d.channel_id)
        else:
            raise Closing(p.Close.ALREADY_AUTHENTICATED, "already identified")

    async def _typing(self, session: Session, channel_id: str) -> None:
        perms = self.hub.permissions
        if perms is None or not session.typing_allowed(channel_id):
            return  # typing is best-effort: extra indicators are dropped, not punished
        access = await perms.channel(session.user_id, channel_id)
        if access is None or not access.member or not access.has(Perm.SEND_MESSAGES):
            return
        self.hub.publish(
            p.Dispatch(
                "TYPING_START",
                {"channel_id": channel_id, "user_id": session.user_id, "at": self.node.clock.time_ms()},
                community_id=access.community_id,
                channel_id=channel_id,
                exclude_user=session.user_id,
            )
        )

    def _presence_changed(self) -> None:
        if self.session is not None:
            self.hub.presence_changed(self.session.user_id, self.session.communities)


def handle(request: web.Request, node: Node, hub: Hub) -> Awaitable[web.StreamResponse]:
    """`GET /gateway`. Not a coroutine of its own: see Connection.serve."""
    return Connection(node, hub).serve(request)
