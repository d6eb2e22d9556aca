"""Presence, typing and the other dispatches that are not events (notifications, read markers,
purges), passed between the processes that serve sockets over a plain NATS subject: what one hub
publishes, every other hub delivers to its own sockets, each checking permissions on its own replica.

Best-effort like the originals (no persistence: a dispatch sent while NATS is down is lost, as one
sent to a dropped socket is). Presence is still computed per process from its own sessions, coalesced
as in one process; see docs/scaling.md for what that means for a user connected to two edges."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import TYPE_CHECKING, Any

import msgspec

from cryb_node.realtime.protocol import Dispatch
from cryb_node.services import Perm

from .nats_link import NatsLink

if TYPE_CHECKING:
    from cryb_node.realtime.hub import Hub
    from cryb_node.signals import Signals

log = logging.getLogger(__name__)


class Relayed(msgspec.Struct, array_like=True):
    origin: str
    name: str
    data: Any
    community_id: str | None
    channel_id: str | None
    perm: int
    users: list[str] | None
    exclude_user: str | None
    membership_of: str | None


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(Relayed).decode


class Signal(msgspec.Struct, array_like=True):
    origin: str
    topic: str
    payload: bytes


def subject(stream: str) -> str:
    return f"cryb.{stream.lower()}.live"


class Relay:
    def __init__(self, hub: Hub, signals: Signals, link: NatsLink, stream: str) -> None:
        self.hub = hub
        self.signals = signals
        self.link = link
        self.subject = subject(stream)
        self.signal_subject = f"cryb.{stream.lower()}.signals"
        self.origin = secrets.token_hex(8)  # this process: its own dispatches come back and are dropped
        self.sent = self.received = self.dropped = 0
        self._task: asyncio.Task[None] | None = None
        self._sub: Any = None

    async def start(self) -> None:
        self.hub.relay = self._send
        self.signals.transport = self._signal
        self._task = asyncio.create_task(self._subscribe(), name="scale:relay")

    async def stop(self) -> None:
        self.hub.relay = None
        self.signals.transport = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _subscribe(self) -> None:
        await self.link.wait_connected()
        assert self.link.nc is not None
        # nats-py subscribes again by itself after a reconnect
        self._sub = await self.link.nc.subscribe(self.subject, cb=self._on_message)
        await self.link.nc.subscribe(self.signal_subject, cb=self._on_signal)

    def _signal(self, topic: str, payload: bytes) -> None:
        if not self.link.connected or self.link.nc is None:
            self.dropped += 1
            return
        data = msgspec.msgpack.encode(Signal(self.origin, topic, payload))
        asyncio.ensure_future(self.link.nc.publish(self.signal_subject, data)).add_done_callback(
            self._published
        )

    async def _on_signal(self, msg: Any) -> None:
        try:
            sig = msgspec.msgpack.decode(msg.data, type=Signal)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return
        if sig.origin != self.origin:
            self.signals.deliver(sig.topic, sig.payload)

    def _send(self, d: Dispatch) -> None:
        if d.each is not None or not self.link.connected:
            self.dropped += 1  # a per-recipient payload is computed where it is published
            return
        msg = Relayed(
            self.origin, d.name, d.data, d.community_id, d.channel_id, int(d.perm),
            sorted(d.users) if d.users is not None else None, d.exclude_user, d.membership_of,
        )  # fmt: skip
        try:
            data = _encode(msg)
        except (TypeError, msgspec.EncodeError):
            self.dropped += 1
            log.warning("a %s dispatch could not be relayed", d.name)
            return
        nc = self.link.nc
        assert nc is not None
        task = asyncio.ensure_future(nc.publish(self.subject, data))
        task.add_done_callback(self._published)
        self.sent += 1

    def _published(self, task: asyncio.Future[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.dropped += 1

    async def _on_message(self, msg: Any) -> None:
        try:
            r = _decode(msg.data)
        except msgspec.DecodeError:
            return
        if r.origin == self.origin:
            return
        self.received += 1
        d = Dispatch(
            r.name, r.data, community_id=r.community_id, channel_id=r.channel_id, perm=Perm(r.perm),
            users=frozenset(r.users) if r.users is not None else None, exclude_user=r.exclude_user,
            membership_of=r.membership_of,
        )  # fmt: skip
        self.hub.publish(d, relayed=True)
