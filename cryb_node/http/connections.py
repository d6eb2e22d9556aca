"""Connection-level defences aiohttp leaves to the server: deadlines for slow or idle sockets, caps
on connections (per address and in all), and problem+json for requests too broken to route.

aiohttp reads headers and bodies for as long as a client cares to dribble them, and keeps an idle
connection for an hour; a few hundred sockets from one address then hold every file descriptor and
the node stops accepting anyone. Each connection here has one deadline (mod_reqtimeout's rule):
its request line and headers within ``header_timeout_s`` of the first byte (or of connecting), and
its body within ``body_timeout_s`` plus one second per ``body_min_rate`` bytes received.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import math
import os
import resource
import socket
import uuid
from collections import Counter
from typing import Any

import msgspec
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from cryb_node.clock import Clock
from cryb_node.config import ServerSection
from cryb_node.http.api import json_response
from cryb_node.problems import Problem

log = logging.getLogger("cryb.http")

# File descriptors kept for the database, its WAL, media files, logs and outgoing federation.
_FD_RESERVE = 128


def connection_budget(server: ServerSection) -> int:
    """How many client connections may be open at once: the configured number, else what the
    file-descriptor limit leaves after the node's own files."""
    if server.max_connections:
        return server.max_connections
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 10_000
    return max(16, soft - _FD_RESERVE)


class Limits:
    """Counts open connections in all and per client address; refuses past the caps."""

    def __init__(self, server: ServerSection) -> None:
        self.server = server
        self.total_cap = connection_budget(server)
        # Behind a reverse proxy every connection comes from the proxy: only the total cap applies.
        self.exempt = set(server.trusted_proxies)
        self.total = 0
        self.by_address: Counter[str] = Counter()
        self.refused = 0

    def admit(self, address: str) -> bool:
        per_address = self.server.max_connections_per_address
        if self.total >= self.total_cap or (
            address not in self.exempt and self.by_address[address] >= per_address
        ):
            self.refused += 1
            return False
        self.total += 1
        self.by_address[address] += 1
        return True

    def release(self, address: str) -> None:
        self.total -= 1
        self.by_address[address] -= 1
        if self.by_address[address] <= 0:
            del self.by_address[address]


def _refusal() -> bytes:
    body = Problem("too_many_connections", 503, "too many open connections; try again shortly").body()
    payload = msgspec.json.encode(body)
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n"
        f"Content-Length: {len(payload)}\r\nRetry-After: 5\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + payload


class GuardedHandler(RequestHandler):
    """aiohttp's connection handler with a deadline per request; it holds a place in the caps
    (taken by the listener that admitted it) until the connection ends."""

    # aiohttp's handler is slotted: without slots of our own every connection would carry a dict.
    __slots__ = ("_address", "_armed_at", "_armed_count", "_armed_rx", "_limits", "_rx", "_timer")

    def __init__(self, manager: web.Server, limits: Limits, address: str, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._limits = limits
        self._address: str | None = address
        self._timer: asyncio.TimerHandle | None = None
        self._armed_at = 0.0
        self._armed_count = 0
        self._armed_rx = 0
        self._rx = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm()  # a socket that never sends a request gets the header deadline too

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._address is not None:
            self._limits.release(self._address)
            self._address = None
        self._disarm()
        super().connection_lost(exc)

    # -- deadlines --------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self._rx += len(data)
        if self._timer is None and not self._upgraded and self._current_request is None:
            self._arm()  # the first byte of a new request on a kept-alive connection
        super().data_received(data)

    def _arm(self) -> None:
        s = self._limits.server
        self._armed_at = self._loop.time()
        self._armed_count = self._request_count
        self._armed_rx = self._rx
        self._timer = self._loop.call_at(self._armed_at + s.header_timeout_s, self._check)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        if self.transport is None or self._force_close or self._upgraded:
            return  # gone, closing, or a WebSocket (the realtime gateway has its own heartbeats)
        s = self._limits.server
        now = self._loop.time()
        if self._request_count == self._armed_count:
            # Still no complete request line and headers.
            if now >= self._armed_at + s.header_timeout_s:
                self._expire("headers")
            else:
                self._timer = self._loop.call_at(self._armed_at + s.header_timeout_s, self._check)
            return
        request = self._current_request
        if request is None:
            if self._messages:  # parsed, waiting behind a pipelined request: look again soon
                self._timer = self._loop.call_at(now + 1, self._check)
            return
        if request.content.is_eof():
            return  # the whole request is in; how long the handler takes is its own business
        allowed = s.header_timeout_s + s.body_timeout_s + (self._rx - self._armed_rx) / s.body_min_rate
        if now >= self._armed_at + allowed:
            self._expire("body")
        else:
            self._timer = self._loop.call_at(self._armed_at + allowed, self._check)

    def _expire(self, part: str) -> None:
        log.info("connection timed out", extra={"fields": {"waiting_for": part, "address": self._address}})
        self.force_close()
        if self.transport is not None:
            self.transport.abort()

    # -- unroutable requests ----------------------------------------------------------------------

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """Requests aiohttp cannot parse (a request line or header over 8,190 bytes, bad syntax):
        problem+json with a request id like every other error, never an echo of the input."""
        rid = uuid.uuid4().hex
        if status == 400:
            problem = Problem(
                "bad_request", 400, "malformed request: bad syntax, or a line or header over 8190 bytes"
            )
        else:
            problem = Problem("internal", 500, "internal server error")
        log.info(
            "unparsable request",
            extra={"fields": {"request_id": rid, "status": status, "error": type(exc).__name__}},
        )
        resp = json_response(problem.body(rid), problem.status, {"X-Request-Id": rid})
        resp.content_type = "application/problem+json"
        resp.force_close()
        return resp


_REFUSAL = _refusal()
_OUT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
# Connections accepted per wake-up before the loop serves everything else again. Small on purpose:
# a connection accepted in a burst still needs several turns of the loop (transport, first read,
# handler task, write) before it is answered, and while the queue is full each turn starts with
# this batch. At 256 a healthz queued behind 2,000 sockets took 120-220 ms; at 32, under 45 ms.
_ACCEPTS_PER_WAKE = 32


class GuardedSite(web.BaseSite):
    """Serves a runner on an already bound socket with its own accept loop: a refused connection
    costs an accept, one send and a close (no transport, task or parser), so a client opening
    thousands of sockets cannot queue everyone else behind its own for long."""

    def __init__(self, runner: web.AppRunner, sock: socket.socket, limits: Limits, clock: Clock) -> None:
        super().__init__(runner)
        self._sock = sock
        self._limits = limits
        self._clock = clock
        self._loop = asyncio.get_running_loop()
        self._last_complaint = -math.inf
        self._unreported = 0

    @property
    def name(self) -> str:
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}"

    async def start(self) -> None:
        await super().start()
        self._sock.setblocking(False)
        self._loop.add_reader(self._sock.fileno(), self._accept)
        # duck-typed: the parts of asyncio.Server that BaseSite.stop and AppRunner.addresses use
        self._server = _Listening(self._loop, self._sock)  # type: ignore[assignment]

    def _accept(self) -> None:
        # A refused connection costs an accept, one write and a close on the bare descriptor (no
        # socket object): about 30 µs, most of it the kernel's. A burst of 2,000 sockets queued
        # ahead of another client's is drained in a few tens of milliseconds.
        for _ in range(_ACCEPTS_PER_WAKE):
            try:
                fd, peer = self._sock._accept()  # type: ignore[attr-defined]
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:
                if err.errno not in _OUT_OF_RESOURCES:
                    log.warning("accept failed", extra={"fields": {"error": str(err)}})
                    return
                self._out_of_resources(err)
                return
            address = peer[0] if isinstance(peer, tuple) else str(peer)
            if not self._limits.admit(address):
                with contextlib.suppress(OSError):
                    os.write(fd, _REFUSAL)  # a fresh socket's send buffer is empty: never blocks
                os.close(fd)
                continue
            conn = socket.socket(self._sock.family, self._sock.type, self._sock.proto, fileno=fd)
            conn.setblocking(False)
            self._loop.create_task(self._serve(conn, address))

    async def _serve(self, conn: socket.socket, address: str) -> None:
        server = self._runner.server
        assert server is not None

        def factory() -> GuardedHandler:
            # The runner's handler settings (keepalive_timeout, access_log) as web.Server would pass.
            return GuardedHandler(server, self._limits, address, loop=self._loop, **server._kwargs)

        try:
            await self._loop.connect_accepted_socket(factory, sock=conn)
        except OSError:
            self._limits.release(address)
            conn.close()

    def _out_of_resources(self, err: OSError) -> None:
        """Stop accepting for a second (asyncio's own rule) and say so at most once a minute:
        asyncio logs every failed accept, about 70 MB an hour when the descriptors run out."""
        now = self._clock.monotonic()
        if now - self._last_complaint >= 60:
            log.error(
                "cannot accept connections: out of file descriptors",
                extra={"fields": {"error": str(err), "since_last": self._unreported}},
            )
            self._last_complaint, self._unreported = now, 0
        else:
            self._unreported += 1
        fd = self._sock.fileno()
        self._loop.remove_reader(fd)
        self._loop.call_later(1.0, self._resume, fd)

    def _resume(self, fd: int) -> None:
        if self._sock.fileno() == fd:  # not closed meanwhile
            self._loop.add_reader(fd, self._accept)


class _Listening:
    """What BaseSite.stop and AppRunner.addresses expect of a site's server."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        self._loop = loop
        self.sockets = [sock]

    def close(self) -> None:
        for sock in self.sockets:
            if sock.fileno() >= 0:
                self._loop.remove_reader(sock.fileno())
                sock.close()
