"""`cryb doctor`'s go-live checks: listening address, disk, data dir permissions, clock sanity, and
whether the replication target, the SMTP server and every pinned peer answer (2 s each)."""

from __future__ import annotations

import shutil
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from cryb_node.clock import MAX_DRIFT_MS, wall_ms
from cryb_node.config import Config
from cryb_node.db import connect
from cryb_node.doctor import Finding

TIMEOUT = 2.0
MIN_FREE = 512 << 20


def checks(config: Config) -> Iterator[Finding]:
    yield _listen(config)
    data = config.data_path
    if data.is_dir():
        yield _disk(data)
        yield _perms(data)
        yield _clock(data / "cryb.db")
    yield from _replication(config)
    yield _smtp(config)
    yield from _peers(data / "cryb.db")


def _reach(host: str, port: int) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT):
            return None
    except OSError as err:
        return f"{host}:{port} unreachable ({err.strerror or err})"


def _listen(config: Config) -> Finding:
    host, port = config.server.host, config.server.port
    if port == 0:
        return Finding("listen", True, f"{host}: any free port")
    try:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
        return Finding("listen", True, f"{host}:{port} is free")
    except OSError as err:
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=TIMEOUT):
                return Finding("listen", True, f"{host}:{port} is served by a running node")
        except OSError:
            return Finding("listen", False, f"cannot listen on {host}:{port}: {err.strerror or err}")


def _disk(data: Path) -> Finding:
    usage = shutil.disk_usage(data)
    free = usage.free
    ok = free >= MIN_FREE and free / usage.total >= 0.05
    return Finding(
        "disk", ok, f"{free >> 20} MiB free of {usage.total >> 20} MiB" + ("" if ok else "; add space")
    )


def _perms(data: Path) -> Finding:
    mode = data.stat().st_mode & 0o777
    if mode & 0o007:
        return Finding("permissions", False, f"{data} is open to other users (mode {mode:o}); chmod o-rwx")
    return Finding("permissions", True, f"{data} mode {mode:o}")


def _clock(db: Path) -> Finding:
    if not db.exists():
        return Finding("clock", True, "no events yet")
    conn = connect(db, busy_timeout_ms=1000, readonly=True)
    try:
        last = conn.execute("SELECT max(hlc) FROM log_heads").fetchone()[0]
    finally:
        conn.close()
    if last is None:
        return Finding("clock", True, "no events yet")
    ahead = wall_ms(last) - int(time.time() * 1000)
    if ahead > MAX_DRIFT_MS:
        detail = f"the newest event is {ahead / 1000:.0f} s in the future: the clock went back; fix NTP"
        return Finding("clock", False, detail)
    return Finding("clock", True, "wall clock is after the newest event")


def _replication(config: Config) -> Iterator[Finding]:
    r = config.replication
    if not r.enabled:
        return
    if r.type == "file":
        target = Path(r.path)
        ok = target.is_dir() and shutil.disk_usage(target).free > MIN_FREE
        yield Finding("replication", ok, f"{target} {'writable folder' if ok else 'missing or full'}")
    elif r.type == "s3":
        url = urlsplit(r.endpoint or f"https://s3.{r.region or 'us-east-1'}.amazonaws.com")
        port = url.port or (443 if url.scheme == "https" else 80)
        problem = _reach(url.hostname or "", port)
        yield Finding("replication", problem is None, problem or f"{url.hostname}:{port} answers")
    else:
        host, _, ssh_port = r.host.partition(":")
        problem = _reach(host, int(ssh_port or 22))
        yield Finding("replication", problem is None, problem or f"{r.host} answers")


def _smtp(config: Config) -> Finding:
    m = config.mail
    if not m.smtp_host:
        return Finding("smtp", True, "not configured: mail links are printed by `cryb user`")
    problem = _reach(m.smtp_host, m.smtp_port)
    return Finding("smtp", problem is None, problem or f"{m.smtp_host}:{m.smtp_port} answers")


def _peers(db: Path) -> Iterator[Finding]:
    if not db.exists():
        return
    conn = connect(db, busy_timeout_ms=1000, readonly=True)
    try:
        has = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sync_peers'").fetchone()
        peers = conn.execute("SELECT name, url FROM sync_peers").fetchall() if has else []
    finally:
        conn.close()
    for name, url in peers:
        try:
            with urllib.request.urlopen(f"{url.rstrip('/')}/.well-known/cryb-node", timeout=TIMEOUT):
                yield Finding(f"peer:{name or url}", True, f"{url} answers")
        except OSError as err:
            yield Finding(f"peer:{name or url}", False, f"{url} unreachable ({err})")
