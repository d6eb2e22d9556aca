"""Node-local facts other processes of the same node must hear (a revoked session, say): a plugin
publishes a small payload on a topic and subscribes to the topic. In one process nothing travels;
with edges (cryb_node/scale/relay.py) each payload reaches every other process's subscribers."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


class Signals:
    def __init__(self) -> None:
        self._subscribers: dict[str, list[Callable[[bytes], None]]] = {}
        # Set by the relay when other processes exist: sends (topic, payload) to them.
        self.transport: Callable[[str, bytes], None] | None = None

    def subscribe(self, topic: str, callback: Callable[[bytes], None]) -> None:
        """``callback(payload)`` for each payload another process publishes on ``topic``."""
        self._subscribers.setdefault(topic, []).append(callback)

    def publish(self, topic: str, payload: bytes) -> None:
        """Tell the node's other processes (this one already knows)."""
        if self.transport is not None:
            self.transport(topic, payload)

    def deliver(self, topic: str, payload: bytes) -> None:
        """A payload from another process (the relay calls this)."""
        for callback in self._subscribers.get(topic, ()):
            try:
                callback(payload)
            except Exception:
                log.exception("signal subscriber for %s failed", topic)
