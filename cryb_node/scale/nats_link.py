"""One NATS connection for the node's lifetime, opened in the background: a node whose NATS is down
still starts and serves; the link reconnects by itself and says how it is doing (for /readyz)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

log = logging.getLogger(__name__)
RETRY_S = 0.5


class NatsLink:
    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self.nc: Client | None = None
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    @property
    def js(self) -> JetStreamContext:
        assert self.nc is not None
        return self.nc.jetstream(timeout=5.0)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._connect(), name=f"nats:{self.name}")

    async def _connect(self) -> None:
        while True:
            try:
                self.nc = await nats.connect(
                    # "nats://a:4222,nats://b:4222": a cluster's servers, tried in turn
                    [u.strip() for u in self.url.split(",") if u.strip()],
                    name=self.name,
                    connect_timeout=2,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,  # forever: an outage ends, the node outlives it
                    reconnect_time_wait=RETRY_S,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnect,
                    reconnected_cb=self._on_reconnect,
                )
                self.last_error = None
                self._ready.set()
                return
            except Exception as err:  # the server is not there yet: try again, never fail the node
                self.last_error = f"{type(err).__name__}: {err}"
                await asyncio.sleep(RETRY_S)

    async def _on_error(self, err: Exception) -> None:
        self.last_error = f"{type(err).__name__}: {err}"

    async def _on_disconnect(self) -> None:
        self.last_error = self.last_error or "disconnected"
        log.warning("NATS disconnected", extra={"fields": {"url": self.url}})

    async def _on_reconnect(self) -> None:
        self.last_error = None
        log.info("NATS reconnected", extra={"fields": {"url": self.url}})

    async def wait_connected(self) -> None:
        await self._ready.wait()
        while not self.connected:
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()

    def status(self) -> tuple[bool, str]:
        if self.connected:
            return True, f"connected to {self.url}"
        return False, f"no NATS at {self.url}: {self.last_error or 'connecting'}"
