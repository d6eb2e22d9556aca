"""The voice plugin: voice channels' who-is-in-the-call state, WebRTC signalling over the gateway,
TURN credentials, and moderation of members in a call (docs/voice.md).

Media never passes through the node: in ``mesh`` mode browsers send it to each other (through a TURN
relay such as coturn when a NAT is in the way). The node decides who may join and whom they may
signal, on every op, and drops a member from the call the moment they lose CONNECT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from importlib import resources
from importlib.abc import Traversable
from typing import Any

import msgspec

from cryb_node.db import Connection
from cryb_node.events import Event, EventType
from cryb_node.http.api import Api
from cryb_node.node import Node
from cryb_node.plugins import Plugin
from cryb_node.problems import Problem
from cryb_node.realtime.hub import Session
from cryb_node.realtime.protocol import GatewayOp

from . import events, queries
from . import schemas as s
from .janus import Janus, JanusProxy
from .parts import ROOMS, rooms_of
from .rooms import Rooms
from .routes import routes
from .settings import VoiceSettings

log = logging.getLogger(__name__)
# Governance that can change who may connect where.
_RECHECK = ("community.", "member.", "role.", "channel.", "overwrite.")


class VoicePlugin(Plugin):
    name = "voice"
    config_type = VoiceSettings

    def migrations(self) -> Traversable:
        return resources.files(__package__) / "migrations"

    def event_types(self) -> Iterable[EventType]:
        return events.event_types()

    def clear_community(self, conn: Connection, community_id: str) -> None:
        queries.clear_community(conn, community_id)

    def setup(self, node: Node) -> None:
        node.services.provide(ROOMS, Rooms(node, node.settings(self.name) or VoiceSettings()))

    def routes(self, api: Api, node: Node) -> None:
        routes(api, node)

    @contextlib.asynccontextmanager
    async def lifespan(self, node: Node) -> AsyncIterator[None]:
        rooms = rooms_of(node)
        queue: asyncio.Queue[Event] = asyncio.Queue()

        def on_events(batch: list[Event]) -> None:
            for ev in batch:
                if ev.body.community is not None and (
                    ev.body.kind.startswith("voice.") or ev.body.kind.startswith(_RECHECK)
                ):
                    queue.put_nowait(ev)

        async def work() -> None:
            while True:
                ev = await queue.get()
                try:
                    await _apply(rooms, ev)
                except Exception:
                    log.exception("voice: applying %s failed", ev.body.kind)

        if rooms.settings.mode == "sfu" and rooms.settings.janus_url:
            rooms.janus = Janus(rooms.settings.janus_url, rooms.settings.janus_admin_key)
            await rooms.janus.start()
            rooms.proxy = JanusProxy(rooms.settings.janus_url)
            await rooms.proxy.start()
        unlisten = node.bus.listen(on_events)
        task = asyncio.create_task(work(), name="voice-events")
        try:
            yield
        finally:
            unlisten()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if rooms.janus is not None:
                await rooms.janus.stop()
                rooms.janus = None
            if rooms.proxy is not None:
                await rooms.proxy.stop()
                rooms.proxy = None

    def gateway_ops(self, node: Node) -> Mapping[str, GatewayOp]:
        def guarded(op: str, fn: Any) -> GatewayOp:
            async def handle(session: Session, d: Any) -> None:
                try:
                    await fn(rooms_of(node), session, d)
                except Problem as err:
                    channel_id = getattr(d, "channel_id", None)
                    Rooms.tell(session, "VOICE_ERROR", {"op": op, "code": err.code, "detail": err.detail,
                                                        "channel_id": channel_id})  # fmt: skip

            # A call's candidates and speaking changes come in bursts: a quarter of a frame each.
            return GatewayOp(d_types[op], handle, cost=0.25)

        d_types: dict[str, type[msgspec.Struct]] = {
            "VOICE_JOIN": s.JoinData, "VOICE_LEAVE": s.LeaveData,
            "VOICE_SIGNAL": s.SignalData, "VOICE_STATE": s.StateData,
        }  # fmt: skip

        async def join(rooms: Rooms, session: Session, d: s.JoinData) -> None:
            await rooms.join(session, d)

        async def leave(rooms: Rooms, session: Session, d: s.LeaveData) -> None:
            await rooms.leave(session.user_id, "left", session)

        async def signal(rooms: Rooms, session: Session, d: s.SignalData) -> None:
            await rooms.signal(session, d)

        async def state(rooms: Rooms, session: Session, d: s.StateData) -> None:
            await rooms.update(session, d)

        fns = {"VOICE_JOIN": join, "VOICE_LEAVE": leave, "VOICE_SIGNAL": signal, "VOICE_STATE": state}
        return {op: guarded(op, fn) for op, fn in fns.items()}

    async def gateway_closed(self, node: Node, session: Session) -> None:
        await rooms_of(node).leave(session.user_id, "gateway_closed", session)

    async def gateway_ready(self, node: Node, user_id: str) -> Mapping[str, Any]:
        return {"voice_states": await rooms_of(node).visible_states(user_id)}


async def _apply(rooms: Rooms, ev: Event) -> None:
    """A committed event's effect on live calls (local or from a peer)."""
    b, p = ev.body, ev.payload
    assert b.community is not None
    if b.kind.startswith("voice.") and await queries.refused(rooms.node.db, ev.id):
        return  # a peer's moderation the rule book refused: stored as evidence, no effect
    if b.kind == "voice.mute" and p is not None and b.target:
        await rooms.apply_server(b.community, b.target, p.mute, None)
    elif b.kind == "voice.deafen" and p is not None and b.target:
        await rooms.apply_server(b.community, b.target, None, p.deaf)
    elif b.kind == "voice.move" and p is not None and b.target:
        here = rooms.by_user.get(b.target)
        if here is not None and here.channel_id == p.channel_id:
            await rooms.move(b.community, b.target, p.to_channel_id, b.author)
    elif b.community in rooms.communities():
        await rooms.recheck(b.community)


plugin = VoicePlugin()
