"""The primary's side: every committed event goes to the JetStream stream in log order, with its
position as the message id (Nats-Msg-Id), so a retry is dropped by the stream's duplicate window.

The publisher is a durable bus consumer: its offset is the cursor of what the stream holds, stored in
the database, so a restart or a NATS outage resumes where it stopped. It never touches a write: the
log commits first and the publisher follows (a NATS outage only makes edges lag)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from cryb_node.bus import Subscription
from cryb_node.events import Event

from . import wire
from .nats_link import NatsLink

if TYPE_CHECKING:
    from cryb_node.node import Node

log = logging.getLogger(__name__)
CONSUMER = "scale.publish"
DUPLICATE_WINDOW_S = 600.0

SELECT_RAW = (
    "SELECT e.pos, e.body, e.sig, c.content, k.node_key, k.cert FROM events e"
    " LEFT JOIN event_content c ON c.event_id = e.id LEFT JOIN log_keys k ON k.origin = e.origin"
    " WHERE e.pos BETWEEN ? AND ? ORDER BY e.pos"
)


def _stream_event(r: Any) -> wire.StreamEvent:
    """A row of SELECT_RAW as the stream carries it."""
    return wire.StreamEvent(r["pos"], r["body"], r["sig"], r["content"], r["node_key"], r["cert"])


async def ensure_stream(link: NatsLink, stream: str, replicas: int = 1) -> None:
    """Create the stream if it is missing. It keeps everything (limits retention, no maximum): a new
    edge starts from a snapshot and the stream after it, and an edge that was away catches up."""
    config = StreamConfig(
        name=stream,
        subjects=[wire.subject(stream)],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        duplicate_window=DUPLICATE_WINDOW_S,
        num_replicas=replicas,  # 3 on a 3-server NATS cluster (docs/scaling.md)
    )
    try:
        await link.js.add_stream(config)
    except BadRequestError:
        await link.js.update_stream(config)  # exists with other settings (an older node's)


class Publisher:
    def __init__(self, node: Node) -> None:
        self.node = node
        cfg = node.config.scale
        self.stream = cfg.stream
        self.subject = wire.subject(cfg.stream)
        self.link = NatsLink(cfg.nats_url, f"cryb-primary:{node.config.node.name}")
        self.published = 0  # highest position the stream acknowledged
        # Message ids name this node's log key with the position: a primary restored from backup or
        # promoted from an edge has a new log key, so its positions are never taken for duplicates of
        # the old primary's within the duplicate window.
        self._id_prefix = node.identity.origin.hex()[:16]
        self._stream_ready = False

    def subscription(self) -> Subscription:
        # refused events too: the stream carries every position, and an edge's projections refuse them
        # the same way (the rule book is deterministic)
        return Subscription(CONSUMER, handle=self._handle, refused=True, batch_size=512)

    async def _handle(self, events: list[Event]) -> None:
        first, last = events[0].pos, events[-1].pos
        rows = await self.node.db.fetchall(SELECT_RAW, (first, last))
        messages = [(r["pos"], wire.encode(_stream_event(r))) for r in rows]
        delay = 0.05
        while True:  # until the stream has them: the bus offset only moves once they are in
            try:
                await self._publish(messages)
                return
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._stream_ready = False  # NATS may have come back without its store: look again
                self.link.last_error = f"publishing: {type(err).__name__}: {err}"
                log.warning("publishing to NATS failed (retrying)", extra={"fields": {"error": str(err)}})
                await asyncio.sleep(delay)
                delay = min(1.0, delay * 2)

    async def _publish(self, messages: list[tuple[int, bytes]]) -> None:
        await self.link.wait_connected()
        if not self._stream_ready:
            await ensure_stream(self.link, self.stream, self.node.config.scale.stream_replicas)
            # A stream that came back shorter than our cursor (its store was lost, or someone purged
            # it) gets the missing events again from the log: edges find their place by position.
            self.published = min(self.published, await self._stream_tail())
            self._stream_ready = True
        if messages and self.published < messages[0][0] - 1:
            await self._republish(self.published, messages[0][0])
        js = self.link.js
        # One at a time, each acknowledged before the next: the stream holds positions in log order
        # even when a publish fails halfway (the retry starts again at the first unacknowledged one).
        for pos, data in messages:
            if pos <= self.published:
                continue
            await js.publish(
                self.subject,
                data,
                stream=self.stream,
                headers={"Nats-Msg-Id": f"{self._id_prefix}:{pos}", wire.POS_HEADER: str(pos)},
            )
            self.published = pos
        self.link.last_error = None

    async def _stream_tail(self) -> int:
        """The log position of the stream's last message (0 if it is empty)."""
        info = await self.link.js.stream_info(self.stream)
        if not info.state.messages:
            return 0
        msg = await self.link.js.get_msg(self.stream, info.state.last_seq)
        return int((msg.headers or {}).get(wire.POS_HEADER, "0"))

    async def _republish(self, after: int, before: int) -> None:
        log.warning(
            "the stream lacks events the log holds: publishing them again",
            extra={"fields": {"after": after, "before": before}},
        )
        while after < before - 1:
            rows = await self.node.db.fetchall(SELECT_RAW, (after + 1, min(before - 1, after + 512)))
            if not rows:
                break
            await self._publish_rows(rows)
            after = max(after + 1, rows[-1]["pos"]) if rows else before
        self.published = max(self.published, before - 1)

    async def _publish_rows(self, rows: list) -> None:
        js = self.link.js
        for r in rows:
            pos = r["pos"]
            await js.publish(
                self.subject,
                wire.encode(_stream_event(r)),
                stream=self.stream,
                headers={"Nats-Msg-Id": f"{self._id_prefix}:{pos}", wire.POS_HEADER: str(pos)},
            )
            self.published = pos

    def status(self) -> tuple[bool, str]:
        ok, detail = self.link.status()
        lag = max(0, self.node.events.length - self.published)
        return ok, f"{detail}; {lag} event(s) not yet published"
