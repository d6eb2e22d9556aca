"""`cryb serve`: run the app until SIGTERM/SIGINT, then drain and exit 0."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
import sys

from aiohttp import web

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from cryb_node.config import SERVED_URL_FILE, Config, with_overrides
from cryb_node.health import readiness, sd_notify
from cryb_node.http.connections import GuardedSite, Limits
from cryb_node.plugins import Loaded

log = logging.getLogger(__name__)
BACKLOG = 4096


async def serve(
    config: Config, plugins: list[Loaded], *, reuse_port: bool = False, private_port: int | None = None
) -> None:
    # Bind before building the app so `--port 0` and every link the node makes (the setup link
    # among them) name the port actually served.
    sock = _bind(config.server.host, config.server.port, reuse_port=reuse_port)
    config = with_overrides(config, server={"port": sock.getsockname()[1]})
    app = build_app(config, plugins)
    runner = web.AppRunner(
        app,
        access_log=None,
        shutdown_timeout=config.server.shutdown_timeout,
        keepalive_timeout=config.server.keepalive_timeout_s,
    )
    await runner.setup()  # starts the node: data dir, keys, migrations, consumers
    node = app[NODE]
    limits = Limits(config.server)
    site = GuardedSite(runner, sock, limits, node.clock)
    await site.start()
    tune_gc()
    if private_port is not None:
        # `--workers`: the primary also listens on a loopback port of its own, where edges forward
        # writes (the shared port could hand a forwarded request back to an edge).
        await GuardedSite(runner, _bind("127.0.0.1", private_port), limits, node.clock).start()
    url = f"http://{config.server.host}:{config.server.port}"
    (node.data_dir / SERVED_URL_FILE).write_text(config.base_url + "\n", encoding="utf-8")
    log.info(
        "listening",
        extra={"fields": {"url": url, "data_dir": str(node.data_dir), "max_connections": limits.total_cap}},
    )
    print(
        f"CRYB node {config.node.name!r} listening on {url} (data in {node.data_dir})",
        file=sys.stderr,
        flush=True,
    )
    if node.first_start:
        print("First start: created node keys and database. Open the URL above to begin.", file=sys.stderr)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    notifier = loop.create_task(_notify_when_ready(node, stop))
    await stop.wait()
    notifier.cancel()
    sd_notify("STOPPING=1")
    log.info("draining")
    # Stops accepting, closes sockets via on_shutdown, waits for in-flight requests, then the
    # cleanup_ctx finishes queued writes and closes the database.
    await runner.cleanup()
    log.info("stopped")


# Collect the young generation every 10,000 net allocations of containers (Python's default: 700).
# A message send leaves ~35 short-lived objects to it, so the default collected every ~20 sends,
# and each collection and its older-generation follow-ups cost ~30-100 us per send at 64 senders.
GC_THRESHOLD = (10_000, 10, 10)


def tune_gc() -> None:
    """What start-up built (modules, routes, caches) lives as long as the process: freeze it out of
    the collector's scans, and collect young objects less often (bench/writes.py)."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def _bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    # A deep accept queue (the kernel caps it at net.core.somaxconn): with a short one, a burst of
    # connections from one client fills it and everyone else's SYN is dropped and retried a second
    # later, before the per-address cap ever sees them. reuse_port: `--workers` edges share one port
    # and the kernel spreads connections among them (SO_REUSEPORT).
    sock = socket.create_server((host, port), family=family, backlog=BACKLOG, reuse_port=reuse_port)
    sock.setblocking(False)
    return sock


async def _notify_when_ready(node, stop: asyncio.Event) -> None:
    """systemd (Type=notify): READY=1 once /readyz would answer 200."""
    if not sd_notify("STATUS=starting"):
        return
    while not stop.is_set():
        ready = await readiness(node)
        if ready.serving:
            sd_notify(f"READY=1\nSTATUS={ready.status}")
            return
        await asyncio.sleep(0.5)
