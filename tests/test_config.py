"""Configuration: cryb.toml defaults, CRYB_* overrides, validation that stops the node early."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from cryb_node import config as configmod
from tests.conftest import ROOT, cryb_env, run_cryb


def test_shipped_cryb_toml_is_exactly_the_defaults():
    shipped = configmod.load(ROOT / "cryb.toml", environ={})
    assert msgspec.to_builtins(shipped) == msgspec.to_builtins(configmod.Config())


def test_environment_overrides_nested_keys():
    cfg = configmod.load(
        ROOT / "cryb.toml",
        environ={
            "CRYB_SERVER__PORT": "9001",
            "CRYB_RATE_LIMITS__DEFAULT__LIMIT": "7",
            "CRYB_NODE__NAME": "Hub",
        },
    )
    assert (cfg.server.port, cfg.rate_limits.default.limit, cfg.node.name) == (9001, 7, "Hub")


@pytest.mark.parametrize(
    ("toml", "env", "named"),
    [
        ("[server]\nport = 70000\n", {}, "server.port"),
        ("", {"CRYB_SERVER__PORT": "eighty"}, "server.port"),
        ("[db]\nreaders = 0\n", {}, "db.readers"),
        ("[log]\nlevel = 'LOUD'\n", {}, "log.level"),
        ("[server]\nprot = 1\n", {}, "server"),
        ("[rate_limits.buckets.auth]\nlimit = 5\n", {}, "rate_limits.buckets.auth"),
        ("[plugins]\ndisabled = ['nosuch']\n", {}, "plugins.disabled"),
        ("[plugin.demo]\njob_interval_s = -1\n", {}, "plugin.demo.job_interval_s"),
        ("[server\n", {}, "not valid TOML"),
    ],
)
def test_invalid_config_exits_2_naming_the_key_and_writes_nothing(tmp_path: Path, toml, env, named):
    cfg = tmp_path / "cryb.toml"
    cfg.write_text("[plugins]\nextra = ['tests.demo_plugin:plugin']\n" * ("plugins" not in toml) + toml)
    data = tmp_path / "data"
    res = run_cryb("--config", str(cfg), "serve", "--data", str(data), env=cryb_env(**env), cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert named in res.stderr
    assert "configuration error" in res.stderr
    assert not data.exists()


def test_missing_config_file_is_a_config_error(tmp_path: Path):
    res = run_cryb("--config", str(tmp_path / "nope.toml"), "doctor", cwd=tmp_path)
    assert res.returncode == 2
    assert "does not exist" in res.stderr
