"""`cryb serve`: run the app until SIGTERM/SIGINT, then drain and exit 0."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from aiohttp import web

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from cryb_node.config import Config
from cryb_node.health import readiness, sd_notify
from cryb_node.plugins import Loaded

log = logging.getLogger(__name__)


async def serve(config: Config, plugins: list[Loaded]) -> None:
    app = build_app(config, plugins)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=config.server.shutdown_timeout)
    await runner.setup()  # starts the node: data dir, keys, migrations, consumers
    site = web.TCPSite(runner, config.server.host, config.server.port, reuse_address=True)
    await site.start()
    port = runner.addresses[0][1] if runner.addresses else config.server.port
    node = app[NODE]
    url = f"http://{config.server.host}:{port}"
    log.info("listening", extra={"fields": {"url": url, "data_dir": str(node.data_dir)}})
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
