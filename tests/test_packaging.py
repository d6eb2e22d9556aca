"""The installed wheel works from any directory: `pip install .` into a fresh venv, then `cryb`."""

from __future__ import annotations

import configparser
import os
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

from tests.conftest import ROOT, NodeProcess, free_port

# setup.cfg's source directory for each package name it maps (the rest live at their own path).
MAPPED = {"cryb_plugins": "plugins", "cryb_migrations": "migrations", "cryb_web": "web"}


def test_setup_cfg_lists_every_python_package_in_the_tree():
    """setup.cfg lists packages by hand (find: cannot follow package_dir); a plugin left off that list
    is missing from the wheel and the installed node refuses to start."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    present = set()
    for name, source in {"cryb_node": "cryb_node", **MAPPED}.items():
        for directory in [ROOT / source, *(ROOT / source).rglob("*")]:
            has_python = directory.is_dir() and any(directory.glob("*.py"))
            if has_python and "__pycache__" not in directory.parts:
                present.add(".".join([name, *directory.relative_to(ROOT / source).parts]))
    assert present - listed == set()
    assert listed - present == set()


def test_wheel_installs_into_a_fresh_venv_and_serves_from_another_directory(tmp_path: Path):
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next(dist.glob("cryb_node-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "cryb_migrations/0001_event_log.sql" in names
    assert "cryb_web/vendor/swagger-ui/swagger-ui-bundle.js" in names
    assert not any(n.startswith("plugins/") or n.startswith("tests/") for n in names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # Dependencies come from this venv's site-packages (no network in tests); the project itself
    # comes only from the wheel.
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRYB_", "PYTHONPATH"))}
    cryb = str(venv / "bin" / "cryb")
    helped = subprocess.run(
        [cryb, "--help"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60
    )
    assert helped.returncode == 0 and "serve" in helped.stdout

    located = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import cryb_node; print(cryb_node.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(venv) in located.stdout  # the wheel's copy, not the source tree

    data = tmp_path / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    keys = []
    for _ in range(2):
        proc = subprocess.Popen(
            [cryb, "serve", "--port", str(port), "--data", str(data)],
            cwd=elsewhere,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            for _ in range(200):
                try:
                    with urllib.request.urlopen(url + "/api/v1/node", timeout=1) as resp:
                        keys.append(resp.read())
                        break
                except OSError:
                    time.sleep(0.05)
            else:
                raise AssertionError(proc.stderr.read() if proc.poll() is not None else "no answer")
            with urllib.request.urlopen(url + "/api/docs/static/swagger-ui.css", timeout=5) as resp:
                assert resp.status == 200
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
    assert (data / "cryb.db").exists() and (data / "keys" / "node.key").exists()
    assert keys[0] == keys[1]  # the restart reused the keys


def test_a_node_without_the_scale_extra_starts(tmp_path: Path):
    """nats-py comes with the `scale` extra only (the single-file binary and a plain `pip install`
    leave it out): a node that is not an edge or a worker must start without it."""
    blocked = "import sys; sys.modules['nats'] = None; from cryb_node.cli import main; main()"
    node = NodeProcess(tmp_path / "data", command=[sys.executable, "-c", blocked]).start()
    with urllib.request.urlopen(f"{node.url}/readyz", timeout=5) as resp:
        assert resp.status == 200
    assert node.terminate() == 0
