"""Every CRYB_* example in README.md and cryb.toml's comments works as documented, with no cryb.toml.

The examples are extracted by regex so a new one is tested the day it is written. An example shown
with a `cryb: configuration error` line after it must fail that way; every other one must start a node.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from cryb_node import config as configmod
from tests.conftest import ROOT, cryb_env, free_port

_RUN = re.compile(r'(?:CRYB_[A-Z0-9_]+=(?:"[^"]*"|[^\s`"]+)[ \t]*)+')


def _examples() -> list[tuple[str, dict[str, str], str | None]]:
    """(where, environment, expected error) for each run of CRYB_X=value assignments."""
    found = []
    for name in ("README.md", "cryb.toml"):
        lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if name == "cryb.toml" and not line.lstrip().startswith("#"):
                continue
            for m in _RUN.finditer(line):
                env = {}
                for word in shlex.split(m.group(0)):
                    key, _, value = word.partition("=")
                    env[key] = value.rstrip(".,;)")
                after = lines[i + 1] if i + 1 < len(lines) else ""
                _, marker, error = after.partition("configuration error:")
                found.append((f"{name}:{i + 1}", env, error.strip() if marker else None))
    return found


EXAMPLES = _examples()


def test_the_documented_examples_are_found():
    envs = [env for _, env, _ in EXAMPLES]
    assert {"CRYB_RATE_LIMITS__BUCKETS__AUTH__LIMIT": "5"} in envs
    assert {"CRYB_RATE_LIMITS__DEFAULT__LIMIT": "300"} in envs
    assert {"CRYB_SERVER__PORT": "9000", "CRYB_NODE__NAME": "Hobby Hub"} in envs


def _value_at(cfg: configmod.Config, env_name: str):
    value = cfg
    for part in env_name[len("CRYB_") :].lower().split("__"):
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    return value


@pytest.mark.parametrize(("where", "env", "error"), EXAMPLES, ids=[w for w, _, _ in EXAMPLES])
def test_documented_override_loads_without_a_config_file(tmp_path: Path, monkeypatch, where, env, error):
    monkeypatch.chdir(tmp_path)  # no cryb.toml here: defaults only
    if error is not None:
        with pytest.raises(configmod.ConfigError, match=re.escape(error.split(":")[0])):
            configmod.load(environ=env)
        return
    cfg = configmod.load(environ=env)
    for key, raw in env.items():
        try:
            expected = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            expected = raw
        assert _value_at(cfg, key) == expected
    # The rest of a partly overridden table keeps its defaults.
    assert cfg.rate_limits.buckets["auth"].window_s == configmod.Config().rate_limits.buckets["auth"].window_s


@pytest.mark.parametrize(("where", "env", "error"), EXAMPLES, ids=[w for w, _, _ in EXAMPLES])
def test_documented_override_runs_cryb_serve(tmp_path: Path, where, env, error):
    # `--port` picks a free port (an example may name 9000); everything else is the example's.
    port = free_port()
    args = [sys.executable, "-m", "cryb_node", "serve", "--port", str(port), "--data", str(tmp_path / "d")]
    log = tmp_path / "serve.log"
    with open(log, "w") as err:
        proc = subprocess.Popen(args, cwd=tmp_path, env=cryb_env(**env), stderr=err, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        if error is not None:
            assert proc.wait(30) == 2, log.read_text()
            assert error in log.read_text()
        else:
            assert proc.poll() is None, f"exited {proc.returncode}: {log.read_text()[-1500:]}"
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(30)
