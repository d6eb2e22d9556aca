"""Fixtures that build real nodes: in-process apps on loopback, and `cryb serve` subprocesses."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest

from cryb_node import config as configmod
from cryb_node.app import build_app

# Property tests are deterministic in `make test` (a run that passed once passes again, so CI cannot
# fail on a newly explored example); HYPOTHESIS_PROFILE=explore searches fresh examples each run.
hypothesis.settings.register_profile("cryb", derandomize=True)
hypothesis.settings.register_profile("explore", derandomize=False)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "cryb"))

# The `clock` fixture (a node clock the test moves forward); the e2e, fuzz and process markers, put
# on by where tests live and what they start (`make test-fast` leaves those out).
pytest_plugins = ["tests.support.clock", "tests.support.markers"]

ROOT = Path(__file__).resolve().parent.parent
DEMO = "tests.demo_plugin:plugin"


def make_config(data_dir: Path, **sections: dict[str, Any]) -> configmod.Config:
    tree: dict[str, Any] = {
        "node": {"data_dir": str(data_dir)},
        "log": {"level": "WARNING"},
        "plugins": {"extra": [DEMO]},
    }
    for name, values in sections.items():
        if isinstance(values, dict) and isinstance(tree.get(name), dict):
            tree[name] = {**tree[name], **values}
        else:
            tree[name] = values
    return configmod.convert(tree)


@pytest.fixture
def config(tmp_path: Path) -> configmod.Config:
    return make_config(tmp_path / "data")


@pytest.fixture
async def client(aiohttp_client, config):
    return await aiohttp_client(build_app(config))


_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on, never the same one twice in this test run: ports are
    chosen before the servers bind them, and a TCP proxy given a node's port (both picked before
    either started) once answered for the wrong node."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def cryb_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYB_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def run_cryb(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 60):
    return subprocess.run(
        [sys.executable, "-m", "cryb_node", *args],
        cwd=cwd,
        env=env or cryb_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class NodeProcess:
    """`cryb serve` as a child process on a free loopback port."""

    def __init__(
        self,
        data_dir: Path,
        config_file: Path | None = None,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.command = command or [sys.executable, "-m", "cryb_node"]  # what runs `cryb`
        self.data_dir = data_dir
        self.config_file = config_file
        self.env = env or cryb_env()
        self.port = free_port()
        self.proc: subprocess.Popen[str] | None = None
        self.log = data_dir.parent / f"node-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> NodeProcess:
        args = list(self.command)
        if self.config_file:
            args += ["--config", str(self.config_file)]
        args += ["serve", "--port", str(self.port), "--data", str(self.data_dir)]
        self.proc = subprocess.Popen(args, env=self.env, stderr=open(self.log, "a"), text=True, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"node did not come up: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 30) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


@pytest.fixture
def node_process(tmp_path: Path) -> Iterator[Any]:
    started: list[NodeProcess] = []

    def factory(config_file: Path | None = None, data_dir: Path | None = None, **env: str) -> NodeProcess:
        proc = NodeProcess(data_dir or tmp_path / "data", config_file, cryb_env(**env))
        started.append(proc)
        return proc

    yield factory
    for proc in started:
        if proc.proc and proc.proc.poll() is None:
            proc.proc.kill()
            proc.proc.wait(10)


def write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def demo_config_file(tmp_path: Path) -> Path:
    return write_config(
        tmp_path / "cryb.toml",
        f'[plugins]\nextra = ["{DEMO}"]\n[log]\nlevel = "WARNING"\n',
    )
