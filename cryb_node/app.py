"""Builds the aiohttp Application from config and plugins; the node's lifetime is its cleanup_ctx."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from cryb_node import webui
from cryb_node.appkeys import METRICS, NODE
from cryb_node.clock import Clock
from cryb_node.config import Config
from cryb_node.http import middleware as mw
from cryb_node.http.api import Api
from cryb_node.http.ratelimit import RateLimiter
from cryb_node.http.ratestore import ExpiringStore
from cryb_node.http.routes import core_routes, swagger_dir
from cryb_node.metrics import make_registry
from cryb_node.node import Node
from cryb_node.plugins import Loaded
from cryb_node.scale import forward as scale_http

SHUTDOWN_HOOKS = web.AppKey("shutdown_hooks", list)


def build_app(
    config: Config, plugins: list[Loaded] | None = None, *, clock: Clock | None = None
) -> web.Application:
    node = Node(config, plugins, clock)
    registry, histogram = make_registry(node)
    limiter = RateLimiter(config.rate_limits, node.clock.time)
    limiter.share_through(node.signals)  # with edges, one window per caller across every process

    def authenticator() -> mw.Authenticator | None:
        return node.services.get(mw.AUTHENTICATOR)

    app = web.Application(
        client_max_size=config.server.max_body_bytes,
        middlewares=[
            mw.request_middleware(histogram),
            # outside the error middleware, so a problem answer (404, 429, 500) carries them too
            mw.security_headers(config.base_url.startswith("https://")),
            mw.error_middleware,
            # an edge forwards writes (and node-local reads) to the primary before anything else runs
            *scale_http.middlewares(config, node),
            mw.body_limit_middleware(config.server.max_body_bytes),
            mw.auth_middleware(authenticator),
            mw.ratelimit_middleware(limiter, set(config.server.trusted_proxies)),
        ],
    )
    app[NODE] = node
    app[METRICS] = registry
    app[SHUTDOWN_HOOKS] = []
    scale_http.install(app, config)

    api = Api()
    core_routes(api, node)
    for loaded in node.plugins:
        loaded.plugin.routes(api.for_plugin(loaded.plugin.name), node)
    api.install(app)
    webui.install(app)
    if Path(swagger_dir()).is_dir():
        app.router.add_static("/api/docs/static/", swagger_dir())

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        async with node.running():
            if config.rate_limits.enabled:
                await limiter.attach(ExpiringStore(node.db, "ratelimit", clock=node.clock.time))
            try:
                yield
            finally:
                await limiter.detach()  # saves the last second's counts before the database closes

    app.cleanup_ctx.append(lifetime)

    async def on_shutdown(app: web.Application) -> None:
        # Close long-lived connections (WebSockets, with a resume hint) so the runner can finish;
        # the node itself closes after, in the cleanup_ctx.
        await node.realtime.stop()
        for hook in app[SHUTDOWN_HOOKS]:
            with contextlib.suppress(Exception):
                await hook()

    app.on_shutdown.append(on_shutdown)
    return app
