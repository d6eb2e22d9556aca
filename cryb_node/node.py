"""A running node's parts and their lifetime: data dir, keys, database, migrations, event log, bus,
scheduler and plugins. The HTTP app (app.py) and the CLI (cli.py) both start one of these.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from cryb_node import identity, migrate, upgrade
from cryb_node.backfill import Backfills
from cryb_node.backup import blobs, replica
from cryb_node.backup.replication import Replicator
from cryb_node.bus import Bus
from cryb_node.clock import Clock
from cryb_node.config import Config
from cryb_node.db import DB_FILE, Connection, Database
from cryb_node.events import EventLog, Registry
from cryb_node.metrics import LoopLag
from cryb_node.plugins import Loaded
from cryb_node.plugins import load as load_plugins
from cryb_node.realtime.hub import Hub
from cryb_node.scale import lifetime as scale
from cryb_node.scheduler import Scheduler
from cryb_node.services import PERMISSIONS, Services
from cryb_node.signals import Signals

log = logging.getLogger(__name__)


class Node:
    def __init__(
        self, config: Config, plugins: list[Loaded] | None = None, clock: Clock | None = None
    ) -> None:
        self.config = config
        self.clock = clock or Clock()
        self.plugins = load_plugins(config) if plugins is None else plugins
        self.services = Services()
        self.registry = Registry()
        for loaded in self.plugins:
            for et in loaded.plugin.event_types():
                self.registry.add(et)
        for loaded in self.plugins:
            authority = loaded.plugin.authority(self)
            if authority is not None:
                if self.registry.authority is not None:
                    raise ValueError(f"plugin {loaded.spec} provides a second authority")
                self.registry.authority = authority
        for loaded in self.plugins:  # once every kind is known
            for kind, projection in loaded.plugin.projections().items():
                self.registry.also(kind, projection)
        self.scheduler = Scheduler()
        self.loop_lag = LoopLag()
        self.realtime = Hub(config.realtime, clock=self.clock)
        self.signals = Signals()
        self.backfills: Backfills
        self.db: Database
        self.events: EventLog
        self.bus: Bus
        self.identity: identity.Identity
        self.first_start = False
        # True when the node serves (background work running), False for a CLI command's node.
        self.serving = False
        # The Litestream child, while `[replication]` is enabled and the node serves.
        self.replication: Replicator | None = None
        # The scale role's part (cryb_node/scale/): the publisher, an edge's replica, or None.
        self.scale: Any = None
        # Set once every part has started (plugins' background work may wait for the others').
        self.started = asyncio.Event()

    @property
    def data_dir(self) -> Path:
        return self.config.data_path

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_FILE

    def settings(self, name: str) -> Any:
        for loaded in self.plugins:
            if loaded.plugin.name == name:
                return loaded.settings
        raise KeyError(name)

    def _migrate(self, conn: Connection) -> list[migrate.Migration]:
        """Apply pending migrations; an existing database is backed up first (upgrade.py)."""
        migrations = migrate.all_migrations(self.plugins)
        migrate.check(conn, migrations)
        if upgrade.pending(conn, migrations) and upgrade.has_history(conn):
            copy = upgrade.backup_before_upgrade(conn, self.data_dir, self.clock)
            log.info("backed up the database before upgrading", extra={"fields": {"backup": str(copy)}})
        return migrate.apply(conn, migrations, self.clock)

    @contextlib.asynccontextmanager
    async def running(self, *, background: bool = True) -> AsyncIterator[Node]:
        """Open everything; with ``background`` also start bus consumers and scheduled jobs."""
        self.serving = background
        # The data dir holds keys and PII: only the node's own user may enter it.
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # An edge's database is a replica of the primary's: the primary's Litestream backs it up.
        litestream_file = self.config.replication.enabled and not scale.is_edge(self.config)
        replicate = background and litestream_file
        if replicate and self.config.replication.restore_on_start and not self.db_path.exists():
            # Also replaces the log key, so the restored log never reuses a sequence number.
            media = blobs.source(self.plugins, self.data_dir)
            await asyncio.to_thread(replica.restore_missing, self.config, self.db_path, media)
        self.identity, self.first_start = identity.load_or_create(self.data_dir)
        cfg = self.config.db
        self.db = Database(
            self.db_path,
            readers=cfg.readers,
            busy_timeout_ms=cfg.busy_timeout_ms,
            group_commit_max=cfg.group_commit_max,
            clock=self.clock,
            own_checkpoints=not litestream_file,  # Litestream checkpoints it, from whatever process
        )
        await self.db.open()
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(self.db.close)
            applied = await self.db.run_in_writer(self._migrate)
            for mig in applied:
                log.info("applied migration %s/%04d_%s", mig.source, mig.version, mig.name)
            self.backfills = Backfills(self.db, self.clock)
            self.events = EventLog(self.db, self.identity, self.registry, self.clock)
            self.bus = Bus(self.db, self.events, self.clock)
            await self.events.open()
            if scale.is_edge(self.config) or scale.edge_marked(self.data_dir):
                self.events.read_only = "this data directory is an edge's: writes go to the primary"
            if replicate:
                self.replication = Replicator(
                    self.config.replication,
                    self.db_path,
                    self.data_dir,
                    self.db,
                    media=blobs.source(self.plugins, self.data_dir),
                    clock=self.clock,
                )
                await self.replication.start()
                # Stops after consumers and plugins (LIFO) but before the database closes.
                stack.push_async_callback(self.replication.stop)
            # The provide phase: every plugin's services, then the registry is frozen.
            for loaded in self.plugins:
                loaded.plugin.setup(self)
            self.services.freeze()
            for loaded in self.plugins:
                lifespan = loaded.plugin.lifespan(self)
                if lifespan is not None:
                    await stack.enter_async_context(lifespan)
            if background:
                # Realtime fan-out: committed events -> plugins' dispatchers -> permitted sockets.
                self.realtime.permissions = self.services.get(PERMISSIONS)
                for loaded in self.plugins:
                    self.realtime.add_dispatchers(loaded.plugin.dispatchers(self))
                    self.realtime.add_ops(loaded.plugin.gateway_ops(self))
                stack.callback(self.bus.listen(self.realtime.on_events))
                await self.realtime.start()
                stack.push_async_callback(self.realtime.stop)
                for loaded in self.plugins:
                    for sub in loaded.plugin.subscriptions(self):
                        if scale.runs_consumer(self.config, loaded.plugin.name, sub.name):
                            self.bus.subscribe(sub)
                    if scale.runs_jobs(self.config):
                        for job in loaded.plugin.jobs(self):
                            self.scheduler.add(job)
                self.scale = await stack.enter_async_context(scale.running(self))
                await self.bus.start()
                scale.after_bus_start(self, self.scale)
                stack.push_async_callback(self.bus.stop)
                self.scheduler.start()
                stack.callback(self.scheduler.stop)
                self.loop_lag.start()
                stack.push_async_callback(self.loop_lag.stop)
                self.backfills.jobs = [b for lp in self.plugins for b in lp.plugin.backfills(self)]
                await self.backfills.start()
                stack.push_async_callback(self.backfills.stop)
            self.started.set()
            stack.callback(self.started.clear)
            yield self
