"""The core's own routes: health, readiness, metrics, node info, the OpenAPI document and its docs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from importlib import resources
from typing import TYPE_CHECKING

import msgspec
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from cryb_node import __version__
from cryb_node.appkeys import METRICS
from cryb_node.health import Ready, readiness
from cryb_node.http.admin_routes import admin_routes
from cryb_node.http.api import Api, Call, json_response, openapi
from cryb_node.http.db_routes import db_routes
from cryb_node.realtime import gateway as realtime_gateway

if TYPE_CHECKING:
    from cryb_node.node import Node


class Health(msgspec.Struct):
    status: str


class NodeInfo(msgspec.Struct):
    name: str
    version: str
    node_key: str
    origin: str
    base_url: str
    plugins: list[str]


_DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CRYB node API</title>
<link rel="stylesheet" href="/api/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/static/swagger-ui-bundle.js"></script>
<script src="/api/docs/static/init.js"></script></body></html>
"""
_DOCS_INIT = 'window.ui = SwaggerUIBundle({url: "/api/openapi.json", dom_id: "#swagger-ui"});\n'


def core_routes(api: Api, node: Node) -> None:
    openapi_cache: dict[str, bytes] = {}
    admin_routes(api, node)
    db_routes(api, node)

    @api.route("GET", "/healthz", response=Health, bucket=None, auth="none", summary="The process is alive")
    async def healthz(call: Call) -> Health:
        return Health("ok")

    @api.route(
        "GET",
        "/readyz",
        response=Ready,
        bucket=None,
        auth="none",
        summary="Database and every plugin are ready (503 otherwise)",
    )
    async def readyz(call: Call) -> web.Response:
        ready = await readiness(node)
        return json_response(ready, 200 if ready.serving else 503)

    @api.route(
        "GET",
        "/metrics",
        bucket=None,
        auth="none",
        summary="Prometheus metrics (text format)",
        produces="text/plain",
    )
    async def metrics(call: Call) -> web.Response:
        registry = call.request.app[METRICS]
        resp = web.Response(body=generate_latest(registry))
        resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return resp

    @api.route("GET", "/api/v1/node", response=NodeInfo, summary="This node's name, version and keys")
    async def node_info(call: Call) -> NodeInfo:
        return NodeInfo(
            name=node.config.node.name,
            version=__version__,
            node_key=node.identity.node_public.hex(),
            origin=node.identity.origin.hex(),
            base_url=node.config.base_url,
            plugins=[p.plugin.name for p in node.plugins],
        )

    @api.route(
        "GET",
        "/api/openapi.json",
        bucket=None,
        auth="none",
        summary="This document",
        produces="application/json",
    )
    async def openapi_json(call: Call) -> web.Response:
        # Routes are fixed once the app starts, so the document is built once.
        if "doc" not in openapi_cache:
            # In a thread: the first build reads the handlers' source for their problem codes.
            doc = await asyncio.to_thread(
                openapi,
                api.specs,
                title=f"CRYB node API ({node.config.node.name})",
                version=__version__,
                extra_paths={},
            )
            openapi_cache["doc"] = msgspec.json.encode(doc)
        return web.Response(body=openapi_cache["doc"], content_type="application/json")

    @api.route(
        "GET",
        "/gateway",
        status=101,
        bucket="gateway",
        auth="none",
        summary="Upgrade to the realtime WebSocket gateway (protocol: docs/gateway.md)",
    )
    def gateway(call: Call) -> Awaitable[web.StreamResponse]:
        # Not a coroutine of its own: its frame would sit under every open socket (Connection.serve).
        return realtime_gateway.handle(call.request, node, node.realtime)

    @api.route(
        "GET",
        "/api/docs",
        bucket=None,
        auth="none",
        summary="Swagger UI for this API (offline)",
        produces="text/html",
    )
    async def docs(call: Call) -> web.Response:
        return web.Response(text=_DOCS_HTML, content_type="text/html")

    @api.route(
        "GET",
        "/api/docs/static/init.js",
        bucket=None,
        auth="none",
        summary="Swagger UI start-up",
        produces="text/javascript",
    )
    async def docs_init(call: Call) -> web.Response:
        return web.Response(text=_DOCS_INIT, content_type="text/javascript")


def swagger_dir() -> str:
    return str(resources.files("cryb_web") / "vendor" / "swagger-ui")
