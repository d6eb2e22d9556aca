"""`cryb serve --workers N`: every core of one machine. A supervisor starts a local nats-server (when
`[scale] nats_url` is empty), the primary and N-1 edges sharing the public port (SO_REUSEPORT: the
kernel spreads connections among them); the primary also listens on a private loopback port, where
the edges forward writes. Edges start from a snapshot of
the primary the first time (data_dir/workers/edge-I) and resume from their own replica after.
An edge that dies is started again; if the primary or NATS dies the whole group stops (exit 1)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from cryb_node.config import Config

from . import snapshot

log = logging.getLogger(__name__)
LOOPBACK = ("127.0.0.1", "::1")
NATS_CANDIDATES = ("nats-server", "/usr/sbin/nats-server", "/usr/bin/nats-server")


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} while starting")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not come up")


def wait_port(port: int, timeout: float = 10) -> None:
    """Return once something listens on 127.0.0.1:port. A connection the kernel made to itself
    (its ephemeral port chosen equal to the port asked for, nobody listening) does not count."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            if s.getsockname() != s.getpeername():
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


class Group:
    def __init__(self, config: Config, config_path: str | None, workers: int) -> None:
        self.config = config
        self.config_path = config_path
        self.workers = workers
        self.data = config.data_path.resolve()
        self.nats: subprocess.Popen[bytes] | None = None
        self.primary: subprocess.Popen[bytes] | None = None
        self.edges: dict[int, subprocess.Popen[bytes]] = {}
        self.stopping = False
        self.env = dict(os.environ)
        if not config.node.base_url:  # links the primary makes name the public port, not its own
            self.env["CRYB_NODE__BASE_URL"] = config.base_url
        # The edges forward to the primary from loopback, naming their client in X-Forwarded-For:
        # the primary must believe them, else every client of an edge shares one rate-limit bucket
        # (and one sign-in lockout) under the edge's address.
        trusted = list(config.server.trusted_proxies)
        trusted += [a for a in LOOPBACK if a not in trusted]
        self.primary_env = {**self.env, "CRYB_SERVER__TRUSTED_PROXIES": json.dumps(trusted)}

    def _cryb(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        base = [sys.executable, "-m", "cryb_node"]
        if self.config_path:
            base += ["--config", self.config_path]
        return subprocess.Popen([*base, *args], env=env or self.env)

    def start(self) -> None:
        nats_url = self.config.scale.nats_url
        if not nats_url:
            binary = next((b for b in NATS_CANDIDATES if shutil.which(b)), None)
            if binary is None:
                raise FileNotFoundError(
                    "--workers needs nats-server (apt install nats-server) or [scale] nats_url"
                )
            port = _free_port()
            store = self.data / "nats"
            store.mkdir(parents=True, exist_ok=True)
            self.nats = subprocess.Popen(
                [binary, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)],
                stdout=subprocess.DEVNULL,
            )
            wait_port(port)
            nats_url = f"nats://127.0.0.1:{port}"
        self.nats_url = nats_url
        self.primary_port = _free_port()
        self.primary_url = f"http://127.0.0.1:{self.primary_port}"
        self.primary = self._cryb(
            "serve", "--data", str(self.data), "--host", self.config.server.host,
            "--port", str(self.config.server.port), "--reuse-port", "--private-port", str(self.primary_port),
            "--role", "primary", "--nats", nats_url, env=self.primary_env,
        )  # fmt: skip
        _wait_healthy(self.primary_url, self.primary)
        for i in range(1, self.workers):
            self.edges[i] = self._start_edge(i)
        public = f"http://{self.config.server.host}:{self.config.server.port}"
        edges = f"the primary and {self.workers - 1} edge(s) on {public}"
        print(
            f"CRYB workers: {edges} (the primary's own port: {self.primary_url}), NATS {nats_url}",
            file=sys.stderr,
            flush=True,
        )

    def _start_edge(self, i: int) -> subprocess.Popen[bytes]:
        data = self.data / "workers" / f"edge-{i}"
        if not (data / "cryb.db").exists():
            snapshot.take(self.data, data)
        proc = self._cryb(
            "serve", "--data", str(data), "--host", self.config.server.host,
            "--port", str(self.config.server.port), "--reuse-port",
            "--role", "edge", "--primary", self.primary_url, "--nats", self.nats_url,
        )  # fmt: skip
        _wait_healthy(f"http://127.0.0.1:{self.config.server.port}", proc)
        return proc

    def watch(self) -> int:
        while not self.stopping:
            time.sleep(0.2)
            if self.primary is not None and self.primary.poll() is not None:
                print("CRYB workers: the primary stopped; stopping the group", file=sys.stderr)
                return 1
            if self.nats is not None and self.nats.poll() is not None:
                print("CRYB workers: nats-server stopped; stopping the group", file=sys.stderr)
                return 1
            for i, proc in list(self.edges.items()):
                if proc.poll() is not None and not self.stopping:
                    print(
                        f"CRYB workers: edge {i} exited ({proc.returncode}); starting it again",
                        file=sys.stderr,
                    )
                    try:
                        self.edges[i] = self._start_edge(i)
                    except (RuntimeError, TimeoutError) as err:
                        print(f"CRYB workers: edge {i} did not start: {err}", file=sys.stderr)
        return 0

    def stop(self) -> None:
        self.stopping = True
        # edges first (their sockets close with a resume hint), then the writer, then the stream
        for group in (list(self.edges.values()), [self.primary], [self.nats]):
            procs = [p for p in group if p is not None and p.poll() is None]
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(10)


def run(config: Config, config_path: str | None, workers: int) -> int:
    group = Group(config, config_path, workers)

    def on_signal(signum: int, frame: object) -> None:
        group.stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        group.start()
        code = group.watch()
    except (FileNotFoundError, RuntimeError, TimeoutError, OSError) as err:
        print(f"cryb: cannot start workers: {err}", file=sys.stderr)
        code = 1
    finally:
        group.stop()
    return code
