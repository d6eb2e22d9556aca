"""HTTP on an edge and on a publishing primary.

An edge answers reads of the replicated community state itself and forwards everything else to the
primary: every write (its answer waits until this edge has applied the write's event, so the caller
reads their own write here next), and the reads of node-local state an edge does not replicate
(sessions, notifications, admin pages, media files, federation). The primary marks each answer to
a write with its log position once the write committed (``Cryb-Log-Position``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Middleware

from cryb_node.problems import Problem

from .wire import LOG_POSITION_HEADER

if TYPE_CHECKING:
    from cryb_node.config import Config
    from cryb_node.node import Node

READS = frozenset({"GET", "HEAD", "OPTIONS"})
# Reads an edge answers from its replica: the event-derived state, the web UI and the gateway.
LOCAL_READS = re.compile(
    r"^/(?!api/|media/)"  # the web UI, /gateway, /healthz, /readyz, /metrics
    r"|^/api/(openapi\.json|docs)"
    # analytics rollups and reports are node-local: their readers go to the primary
    r"|^/api/v1/communities/[^/]+/(?!analytics|reports)"
    r"|^/api/v1/communities/?[^/]*$"
    r"|^/api/v1/(channels|comments|messages|posts|feed|invites|dms|search|node)(/|$)"
    r"|^/api/v1/users/(by-name/[^/]+|(?!@)[^/]+)$"  # /users/@me is the account: node-local
)
# Not passed on either way (RFC 9110 7.6.1), plus what aiohttp sets itself.
HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
     "transfer-encoding", "upgrade", "host", "content-length"}
)  # fmt: skip
RETRY_AFTER_S = 5
HTTP = web.AppKey("scale_http", aiohttp.ClientSession)


def middlewares(config: Config, node: Node) -> list:
    if config.scale.role == "edge":
        return [_edge_middleware(config, node)]
    if config.scale.nats_url:
        return [_primary_middleware(node)]
    return []


def install(app: web.Application, config: Config) -> None:
    """The edge's one client session to the primary, opened and closed with the app."""
    if config.scale.role != "edge":
        return

    async def session(app: web.Application) -> AsyncIterator[None]:
        timeout = aiohttp.ClientTimeout(total=60, sock_connect=3)
        async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as http:
            app[HTTP] = http
            yield

    app.cleanup_ctx.append(session)


def _primary_middleware(node: Node) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler) -> web.StreamResponse:
        response = await handler(request)
        if request.method not in READS and not response.prepared:
            # the write's events are committed (and in ``length``) before its handler returns
            response.headers[LOG_POSITION_HEADER] = str(node.events.length)
        return response

    return middleware


def _edge_middleware(config: Config, node: Node) -> Middleware:
    primary = config.scale.primary_url.rstrip("/")
    wait_s = config.scale.apply_wait_s

    @web.middleware
    async def middleware(request: web.Request, handler) -> web.StreamResponse:
        if request.method in READS and LOCAL_READS.match(request.path):
            # A client behind a balancer that is not sticky sends back the Cryb-Log-Position of its
            # last write: this edge answers once it has applied that far (read your own writes on
            # any edge), or after apply_wait_s, or at once while the stream is down.
            seen = request.headers.get(LOG_POSITION_HEADER, "")
            live = node.scale is not None and node.scale.link.connected
            if live and seen.isascii() and seen.isdigit() and len(seen) < 19:
                await node.scale.wait_for(int(seen), wait_s)
            return await handler(request)
        return await forward(request, request.app[HTTP], primary, node, wait_s)

    return middleware


async def forward(
    request: web.Request, http: aiohttp.ClientSession, primary: str, node: Node, wait_s: float
) -> web.Response:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
    peer = request.remote or ""
    prior = request.headers.get("X-Forwarded-For")
    headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
    headers["X-Forwarded-Host"] = request.host
    body = await request.read()
    try:
        async with http.request(
            request.method, primary + str(request.rel_url), headers=headers, data=body or None,
            allow_redirects=False,
        ) as resp:  # fmt: skip
            data = await resp.read()
            out_headers = [(k, v) for k, v in resp.headers.items() if k.lower() not in HOP]
            status = resp.status
            position = resp.headers.get(LOG_POSITION_HEADER)
    except (TimeoutError, aiohttp.ClientError) as err:
        raise Problem(
            "primary_unavailable",
            503,
            f"the primary node does not answer ({type(err).__name__})",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        ) from None
    if position is not None and position.isdigit() and node.scale is not None:
        # while the stream is down the write cannot arrive here soon: answer at once, marked
        live = node.scale.link.connected
        applied = await node.scale.wait_for(int(position), wait_s if live else 0.0)
        if not applied:
            out_headers.append(("Cryb-Replica-Lagging", "1"))
    response = web.Response(status=status, body=data)
    for k, v in out_headers:
        response.headers.add(k, v)
    return response
