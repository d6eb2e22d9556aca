"""The node's scale role, started and stopped with it: the primary's publisher when `[scale]
nats_url` is set, an edge's replica when `role = "edge"`, nothing otherwise."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryb_node.config import Config
    from cryb_node.node import Node

    from .publisher import Publisher
    from .replica import Replica


def is_edge(config: Config) -> bool:
    return config.scale.role == "edge"


def edge_marked(data_dir: Path) -> bool:
    from .snapshot import edge_marked as marked

    return marked(data_dir)


def runs_consumer(config: Config, plugin: str, name: str) -> bool:
    """Whether a bus consumer runs here: every one on a primary; on an edge those whose plugin or own
    name is in edge_consumers (a second mail or push sender would message people twice)."""
    return not is_edge(config) or plugin in config.scale.edge_consumers or name in config.scale.edge_consumers


def runs_jobs(config: Config) -> bool:
    """Scheduled jobs (expiry, rollups, cleanup) run on the primary, whose writes edges then apply."""
    return not is_edge(config)


@contextlib.asynccontextmanager
async def running(node: Node) -> AsyncIterator[Publisher | Replica | None]:
    """Call before the bus starts: the publisher is one of its durable consumers."""
    cfg = node.config.scale
    # nats-py is imported only here: a single process (the default) needs no NATS client at all.
    if is_edge(node.config):
        from .relay import Relay
        from .replica import Replica

        replica = Replica(node)
        await replica.start()
        relay = Relay(node.realtime, node.signals, replica.link, cfg.stream)
        await relay.start()
        try:
            yield replica
        finally:
            await relay.stop()
            await replica.stop()
    elif cfg.nats_url:
        from .publisher import Publisher
        from .relay import Relay

        publisher = Publisher(node)
        node.bus.subscribe(publisher.subscription())
        await publisher.link.start()
        relay = Relay(node.realtime, node.signals, publisher.link, cfg.stream)
        await relay.start()
        try:
            yield publisher
        finally:
            await relay.stop()
            await publisher.link.stop()
    else:
        yield None


def after_bus_start(node: Node, part: Any) -> None:
    """The publisher's cursor is its bus consumer's stored offset, known once the bus started."""
    if part is None:  # one process: nothing of NATS is imported (nats-py is the `scale` extra's)
        return
    from .publisher import CONSUMER, Publisher

    if isinstance(part, Publisher):
        part.published = node.bus.consumers[CONSUMER].offset
