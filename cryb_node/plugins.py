"""The plugin contract: every way to extend a node, in one list, and the loader.

A plugin is an object derived from ``Plugin`` (usually a module-level ``plugin = MyPlugin()``).
Built-in plugins (``cryb_plugins.*``) load through the same loader as third-party ones, which are
named in cryb.toml as ``"package.module:attribute"`` or by a ``cryb.plugins`` entry point. Plugins
talk to each other only through the event bus and the typed services in ``node.services``
(provided in ``setup``, looked up by ``ServiceKey``; see cryb_node/services.py).
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from importlib.abc import Traversable
from typing import TYPE_CHECKING, Any

import click
import msgspec

from cryb_node.config import Config, ConfigError, explain

if TYPE_CHECKING:
    from cryb_node.backfill import Backfill
    from cryb_node.bus import Subscription
    from cryb_node.db import Connection
    from cryb_node.events import EventType, Projection
    from cryb_node.export import ExportSink
    from cryb_node.http.api import Api
    from cryb_node.node import Node
    from cryb_node.realtime.hub import Session
    from cryb_node.realtime.protocol import Dispatcher, GatewayOp
    from cryb_node.refusals import Authority
    from cryb_node.scheduler import Job

# Built-in plugins in load order (later ones may use services the earlier ones provide).
BUILTIN: list[str] = [
    "cryb_plugins.users:plugin",
    "cryb_plugins.media:plugin",
    "cryb_plugins.communities:plugin",
    "cryb_plugins.content:plugin",
    "cryb_plugins.analytics:plugin",
    "cryb_plugins.notifications:plugin",
    "cryb_plugins.search:plugin",
    "cryb_plugins.integrations:plugin",
    "cryb_plugins.saved:plugin",
    "cryb_plugins.happenings:plugin",
    "cryb_plugins.polls:plugin",
    "cryb_plugins.voice:plugin",
    # federation (core, built as a plugin on the same hooks): after the plugins whose events it ships
    "cryb_node.sync:plugin",
]


@dataclass(frozen=True)
class Readiness:
    ok: bool
    detail: str = ""


class Plugin:
    """Override the hooks you need; each has a safe default."""

    #: Unique short name; also the name of the plugin's ``[plugin.<name>]`` config section.
    name: str = ""
    #: msgspec Struct validating ``[plugin.<name>]`` (None: the plugin takes no settings).
    config_type: type[msgspec.Struct] | None = None

    def migrations(self) -> Traversable | None:
        """Folder of NNNN_name.sql files, applied in order after the core's."""
        return None

    def event_types(self) -> Iterable[EventType]:
        """Event kinds this plugin defines, with their payload types and projections."""
        return ()

    def authority(self, node: Node) -> Authority | None:
        """The rule book deciding community events at their position (one plugin provides it)."""
        return None

    def clear_community(self, conn: Connection, community_id: str) -> None:
        """Delete this plugin's projection rows of one community: the authority re-applies its allowed
        events when a late verdict withdraws one that was applied (run in the writer)."""

    def projections(self) -> Mapping[str, Projection]:
        """Event kind defined by another plugin -> a projection into this plugin's own tables that
        the kind also changes (e.g. a ban's delete window hiding content); it runs after the kind's
        own projection, in the same transaction, so replaying the log gives the same rows."""
        return {}

    def setup(self, node: Node) -> None:
        """Provide this plugin's services (``node.services.provide(KEY, impl)``). Runs once the
        database is open, before any lifespan, consumer, job or request, in load order (a plugin
        may ``require`` what earlier ones provide); the registry is frozen after the last one."""

    def routes(self, api: Api, node: Node) -> None:
        """Register HTTP routes on the typed router (they appear in /api/openapi.json). Routes are
        built before the node starts: handlers look services up per request (``require``)."""

    def subscriptions(self, node: Node) -> Iterable[Subscription]:
        """Durable bus consumers (each with its own stored offset)."""
        return ()

    def jobs(self, node: Node) -> Iterable[Job]:
        """Scheduled jobs (APScheduler triggers), run while the node serves."""
        return ()

    def backfills(self, node: Node) -> Iterable[Backfill]:
        """Long data migrations run in batches in the background while the node serves."""
        return ()

    def lifespan(self, node: Node) -> AbstractAsyncContextManager[None] | None:
        """An async context manager (e.g. a ``contextlib.asynccontextmanager`` method) entered at
        start, after every plugin's setup, and exited at shutdown in reverse order."""
        return None

    def dispatchers(self, node: Node) -> Mapping[str, Dispatcher]:
        """Event kind -> function turning a committed event into realtime Dispatch(es) (or None)."""
        return {}

    async def gateway_ready(self, node: Node, user_id: str) -> Mapping[str, Any]:
        """Fields this plugin adds to a gateway session's READY payload (e.g. communities, unread)."""
        return {}

    def gateway_ops(self, node: Node) -> Mapping[str, GatewayOp]:
        """Client ops this plugin handles on identified gateway sessions (op name -> GatewayOp, e.g.
        voice signalling); each handler authorises every frame itself."""
        return {}

    async def gateway_closed(self, node: Node, session: Session) -> None:
        """A gateway session's socket closed (it may still resume): drop what lives only while the
        socket does (a voice connection)."""

    async def readiness(self, node: Node) -> Readiness | None:
        """Contribute a check to /readyz (None: nothing to check)."""
        return None

    def metrics(self, node: Node) -> Iterable[Any]:
        """Prometheus metric families (prometheus_client Metric) read at scrape time for /metrics."""
        return ()

    def state_queries(self) -> Mapping[str, str]:
        """name -> SQL selecting this plugin's projection rows of one community (parameter
        ``:community``) for the federation state hash: only rows that are a pure function of the
        community's events (no node-local columns)."""
        return {}

    async def export_user(self, node: Node, user_id: str, sink: ExportSink) -> None:
        """Write this plugin's part of a local member's data export (GET /users/@me/export): their
        own records as JSON files, their files' bytes, a README paragraph per file (``sink.describe``).
        Read in pages; what the member erased is left out."""

    def private_columns(self) -> Mapping[str, Iterable[str]]:
        """table -> columns of this plugin's tables holding secrets or private text (hashes, sealed
        PII, bearer codes, direct messages) that the admin data console reads as NULL."""
        return {}

    def cli(self) -> click.Command | list[click.Command] | None:
        """A click command or group (or several) added to the ``cryb`` CLI, each under its own name
        (a nameless one under the plugin's)."""
        return None


@dataclass(frozen=True)
class Loaded:
    plugin: Plugin
    settings: Any  # the validated config_type instance, or None
    spec: str


def _resolve(spec: str) -> Plugin:
    if ":" in spec:
        module_name, _, attr = spec.partition(":")
        try:
            obj = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as err:
            raise ConfigError(f"plugins.extra: cannot load {spec!r}: {err}") from None
    else:
        eps = [ep for ep in importlib.metadata.entry_points(group="cryb.plugins") if ep.name == spec]
        if not eps:
            raise ConfigError(f"plugins.extra: no plugin entry point named {spec!r}")
        obj = eps[0].load()
    if isinstance(obj, type) and issubclass(obj, Plugin):
        obj = obj()
    if not isinstance(obj, Plugin) or not obj.name:
        raise ConfigError(f"plugins.extra: {spec!r} is not a named cryb_node.plugins.Plugin")
    return obj


def load(config: Config) -> list[Loaded]:
    """Import the enabled plugins and validate their config sections. Raises ConfigError."""
    unknown = set(config.plugins.disabled) - {s.rsplit(".", 1)[-1].split(":")[0] for s in BUILTIN}
    if unknown:
        raise ConfigError(f"plugins.disabled: no built-in plugin named {', '.join(sorted(unknown))}")
    specs = [s for s in BUILTIN if s.split(":")[0].rsplit(".", 1)[-1] not in config.plugins.disabled]
    loaded: list[Loaded] = []
    seen: set[str] = set()
    for spec in [*specs, *config.plugins.extra]:
        plugin = _resolve(spec)
        if plugin.name in seen:
            raise ConfigError(f"plugins: two plugins are named {plugin.name!r}")
        seen.add(plugin.name)
        raw = config.plugin.get(plugin.name, {})
        settings = None
        if plugin.config_type is not None:
            try:
                settings = msgspec.convert(raw, plugin.config_type, strict=True)
            except msgspec.ValidationError as err:
                raise ConfigError(f"plugin.{plugin.name}.{explain(err)}") from None
        elif raw:
            raise ConfigError(f"plugin.{plugin.name}: this plugin takes no settings")
        loaded.append(Loaded(plugin, settings, spec))
    stray = set(config.plugin) - seen
    if stray:
        raise ConfigError(f"plugin.{sorted(stray)[0]}: no such plugin is enabled")
    return loaded
