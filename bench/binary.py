"""The single-file executable: its size and cold-start time to a green /readyz, beside the same node
started from the venv (`python -m cryb_node serve`) in the same run. Builds dist/cryb if missing.

dist/cryb unpacks itself once per version (packaging/launcher.c): "first start" is a start with an
empty cache directory (right after installing or upgrading), "cold start" every start after it.
Each start is on a fresh data directory (keys, database and migrations created)."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fanout import free_port  # noqa: E402

RUNS = 3


def cold_start(cmd: list[str], cache: str | None = None) -> float:
    """Seconds from exec to /readyz answering "ready", on a fresh data dir."""
    port = free_port()
    data = tempfile.mkdtemp(prefix="cryb-coldstart-")
    env = {"PATH": "/usr/bin:/bin", "HOME": data, "CRYB_LOG__LEVEL": "WARNING"}
    if cache is not None:
        env["XDG_CACHE_HOME"] = cache  # where dist/cryb unpacks itself
    started = time.perf_counter()
    proc = subprocess.Popen([*cmd, "serve", "--port", str(port), "--data", data], env=env,
                            stderr=subprocess.DEVNULL, cwd=data)  # fmt: skip
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as resp:
                    if json.loads(resp.read())["status"] == "ready":
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.02)
            if time.perf_counter() - started > 120:
                raise TimeoutError(cmd)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def main() -> None:
    binary = ROOT / "dist" / "cryb"
    if not binary.exists():
        subprocess.run(["make", "binary"], cwd=ROOT, check=True)
    size = binary.stat().st_size
    first = statistics.median(
        cold_start([str(binary)], tempfile.mkdtemp(prefix="cryb-cache-")) for _ in range(RUNS)
    )
    cache = tempfile.mkdtemp(prefix="cryb-cache-")
    cold_start([str(binary)], cache)  # unpacked once; the starts measured below reuse it
    frozen = statistics.median(cold_start([str(binary)], cache) for _ in range(RUNS))
    venv = statistics.median(cold_start([sys.executable, "-m", "cryb_node"]) for _ in range(RUNS))
    print(
        f"\nSingle-file executable: median of {RUNS} cold starts to a green /readyz, {os.cpu_count()} cores\n"
    )
    print("| measure | dist/cryb | venv (python -m cryb_node) | ratio |")
    print("|---|---|---|---|")
    print(f"| size | {size / 2**20:.1f} MiB | - | - |")
    print(f"| cold start to /readyz | {frozen:.2f} s | {venv:.2f} s | {frozen / venv:.2f} |")
    print(f"| first start (unpacks itself) | {first:.2f} s | {venv:.2f} s | {first / venv:.2f} |")


if __name__ == "__main__":
    main()
