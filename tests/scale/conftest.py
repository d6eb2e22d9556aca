"""Real processes on loopback for the scale tests: nats-server (JetStream, a temp store), a primary
`cryb serve` publishing to it, and edges started from snapshots of the primary."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cryb_node.scale.workers import wait_port
from tests.conftest import ROOT, NodeProcess, cryb_env, free_port, run_cryb


def _handed_back(port: int) -> None:
    """A restarted nats-server keeps its port: wait until the old one let go of it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", port))
                return
            except OSError:
                time.sleep(0.1)


NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


class NatsServer:
    def __init__(self, store: Path) -> None:
        self.store = store
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        _handed_back(self.port)
        self.proc = subprocess.Popen(
            [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.store.parent / f"nats-{self.port}.log", "a"),
        )
        wait_port(self.port)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class ServeProcess(NodeProcess):
    """`cryb serve` with extra flags (--role edge --primary --nats)."""

    def __init__(self, data_dir: Path, config_file: Path, *extra: str) -> None:
        super().__init__(data_dir, config_file, cryb_env())
        self.extra = list(extra)

    def start(self, timeout: float = 60) -> ServeProcess:
        args = [sys.executable, "-m", "cryb_node", "--config", str(self.config_file)]
        args += ["serve", "--port", str(self.port), "--data", str(self.data_dir), *self.extra]
        self.proc = subprocess.Popen(args, env=self.env, stderr=open(self.log, "a"), text=True, cwd=ROOT)
        deadline = time.monotonic() + timeout
        import urllib.request

        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited with {self.proc.returncode}: {self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"node did not come up: {self.log.read_text()[-3000:]}")


CONFIG = """
[log]
level = "WARNING"
[rate_limits]
enabled = false
[plugins]
extra = ["tests.demo_plugin:plugin"]
[plugin.users]
argon2_opslimit = 1
argon2_memlimit = 8192
"""


class Cluster:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = root / "cryb.toml"
        self.config.write_text(CONFIG, encoding="utf-8")
        (root / "nats").mkdir()
        self.nats = NatsServer(root / "nats")
        self.primary: ServeProcess | None = None
        self.edges: list[ServeProcess] = []

    def start_primary(self) -> ServeProcess:
        self.primary = ServeProcess(self.root / "primary", self.config, "--nats", self.nats.url).start()
        return self.primary

    def snapshot(self, name: str) -> Path:
        dest = self.root / name
        out = run_cryb(
            "--config", str(self.config), "--data", str(self.root / "primary"), "scale", "snapshot", str(dest)
        )
        assert out.returncode == 0, out.stderr
        return dest

    def start_edge(self, name: str) -> ServeProcess:
        assert self.primary is not None
        data = self.root / name
        if not data.exists():
            self.snapshot(name)
        edge = ServeProcess(
            data, self.config, "--role", "edge", "--primary", self.primary.url, "--nats", self.nats.url
        ).start()
        self.edges.append(edge)
        return edge

    def stop(self) -> None:
        for proc in [*self.edges, self.primary]:
            if proc is not None and proc.proc is not None and proc.proc.poll() is None:
                proc.proc.kill()
                proc.proc.wait(10)
        self.nats.stop()


needs_nats = pytest.mark.skipif(not Path(NATS_SERVER).exists(), reason="nats-server is not installed")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """NATS only; each test starts the primary and edges it needs."""
    c = Cluster(tmp_path)
    c.nats.start()
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def edges(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A primary and two edges, shared by a module's tests (starting them takes seconds)."""
    c = Cluster(tmp_path_factory.mktemp("scale"))
    c.nats.start()
    try:
        c.start_primary()
        c.start_edge("edge1")
        c.start_edge("edge2")
        yield c
    finally:
        c.stop()
