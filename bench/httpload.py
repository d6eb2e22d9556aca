"""A lean HTTP/1.1 load client for the benches: keep-alive connections, one request in flight on
each, latency of every request. A few microseconds of Python per request where aiohttp's client
spends ~100, so on a 2-core machine the client is not what a bench of the node measures.

Only what the node's answers need: a status line, headers and a Content-Length body (no chunked
answers, no redirects). An answer of 400 or more stops the run with its body.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


class HttpError(RuntimeError):
    pass


class _Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.need = -1  # bytes of the whole answer (head + body) once the head is in
        self.status = 0
        self.body_at = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionResetError("the node closed the connection"))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.need < 0:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).lower()
            self.status = int(head[9:12])
            at = head.find(b"\r\ncontent-length:")
            if at < 0:
                raise HttpError(f"an answer without Content-Length: {head[:200]!r}")
            eol = head.find(b"\r\n", at + 2)
            length = int(head[at + 17 : eol if eol > 0 else len(head)])
            self.need = end + 4 + length
            self.body_at = end + 4
        if len(self.buf) >= self.need and self.waiter is not None:
            body = bytes(self.buf[self.body_at : self.need])
            del self.buf[: self.need]
            self.need = -1
            self.waiter.set_result((self.status, body))

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await self.waiter


def encode(method: str, url: str, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    """The bytes of one request (keep-alive)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Result:
    done: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds, one per request
    answered: int = 0  # warm-up requests included
    # a bench's own measures: the server's CPU per answered request (its process, its helpers)
    cpu_ms: float = float("nan")
    helper_cpu_ms: float = float("nan")

    @property
    def rate(self) -> float:
        return self.done / self.seconds

    def pct(self, q: float) -> float:
        """The q-th percentile of the latencies, in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    @property
    def p50(self) -> float:
        return 1000 * statistics.median(self.latencies) if self.latencies else float("nan")

    @property
    def p99(self) -> float:
        return self.pct(99)


# make(worker, i) -> the request bytes of worker's i-th request
Maker = Callable[[int, int], bytes]


async def run(base: str, workers: int, seconds: float, make: Maker, warmup: float = 0.3) -> Result:
    """``workers`` connections, each sending make(w, i) one after another for ``seconds`` (after
    ``warmup`` seconds whose requests are not counted)."""
    parts = urlsplit(base)
    loop = asyncio.get_running_loop()
    conns = [(await loop.create_connection(_Conn, parts.hostname, parts.port))[1] for _ in range(workers)]
    latencies: list[float] = []
    start = time.perf_counter() + warmup
    deadline = start + seconds
    done = answered = 0

    async def worker(w: int, conn: _Conn) -> None:
        nonlocal done, answered
        i = 0
        clock = time.perf_counter
        while True:
            sent = clock()
            if sent >= deadline:
                return
            status, body = await conn.request(make(w, i))
            if status >= 400:
                raise HttpError(f"HTTP {status}: {body[:300]!r}")
            answered += 1
            if sent >= start:
                latencies.append(clock() - sent)
                done += 1
            i += 1

    try:
        await asyncio.gather(*(worker(w, c) for w, c in enumerate(conns)))
    finally:
        for c in conns:
            if c.transport is not None:
                c.transport.close()
    return Result(done, time.perf_counter() - start, latencies, answered)
