"""Readiness: the checks behind /readyz, also used for systemd's READY=1 (sd_notify)."""

from __future__ import annotations

import asyncio
import os
import socket
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from cryb_node.node import Node


class Check(msgspec.Struct):
    ok: bool
    detail: str = ""


class Ready(msgspec.Struct):
    status: str  # ready | degraded (serving, replication unhealthy) | not_ready
    checks: dict[str, Check]

    @property
    def serving(self) -> bool:
        return self.status != "not_ready"


async def readiness(node: Node) -> Ready:
    checks: dict[str, Check] = {}
    try:
        await asyncio.wait_for(node.db.fetchval("SELECT 1"), 2.0)
        checks["db"] = Check(True)
    except Exception as err:
        checks["db"] = Check(False, f"{type(err).__name__}: {err}")
    if node.replication is not None:
        checks["replication"] = Check(*node.replication.readiness())
    if node.backfills.running:
        work = ", ".join(f"{n}: {node.backfills.progress[n]} rows" for n in node.backfills.running)
        checks["backfills"] = Check(True, f"running in the background ({work})")
    if node.scale is not None:
        checks["stream"] = Check(*node.scale.status())
    for name, consumer in node.bus.consumers.items():
        checks[f"consumer:{name}"] = Check(
            consumer.last_error is None, consumer.last_error or f"lag {consumer.lag}"
        )
    for loaded in node.plugins:
        try:
            verdict = await loaded.plugin.readiness(node)
        except Exception as err:
            checks[loaded.plugin.name] = Check(False, f"{type(err).__name__}: {err}")
            continue
        if verdict is not None:
            checks[loaded.plugin.name] = Check(verdict.ok, verdict.detail)
    # Replication trouble is shown but does not take the node out of service: it keeps serving
    # (and the replica catches up) while the target is unreachable ("degraded"). So does a NATS
    # outage: an edge serves reads from its replica, the primary keeps writing and publishes later.
    ok = all(c.ok for name, c in checks.items() if name not in ("replication", "stream"))
    status = "not_ready" if not ok else "ready" if all(c.ok for c in checks.values()) else "degraded"
    return Ready(status, checks)


def sd_notify(state: str) -> bool:
    """Tell systemd about our state (Type=notify units); a no-op when not run by systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(state.encode())
    return True
