"""`cryb scale snapshot` and `cryb scale promote` on data directories (no NATS, no server): an edge's
data dir never appends an event of its own, whatever runs on it, until it is promoted."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cryb

from .conftest import CONFIG


def _cryb(tmp_path: Path, data: Path, *args: str):
    config = tmp_path / "cryb.toml"
    if not config.exists():
        config.write_text(CONFIG, encoding="utf-8")
    return run_cryb("--config", str(config), "--data", str(data), *args)


def _create(tmp_path: Path, data: Path, name: str):
    return _cryb(
        tmp_path,
        data,
        "user",
        "create",
        name,
        "--email",
        f"{name}@example.test",
        "--password",
        "pw-long-enough-1",
    )


def test_a_cli_write_on_an_edge_data_dir_is_refused_until_it_is_promoted(tmp_path: Path):
    primary, edge = tmp_path / "primary", tmp_path / "edge"
    assert _create(tmp_path, primary, "first").returncode == 0
    out = _cryb(tmp_path, primary, "scale", "snapshot", str(edge))
    assert out.returncode == 0 and "snapshot at log position" in out.stdout, out.stderr
    refused = _create(tmp_path, edge, "second")
    assert refused.returncode != 0
    assert "this data directory is an edge's: writes go to the primary" in refused.stderr
    log_key = (edge / "keys" / "log.key").read_bytes()
    out = _cryb(tmp_path, edge, "scale", "promote")
    assert out.returncode == 0, out.stderr
    assert _create(tmp_path, edge, "second").returncode == 0
    # promoted with a new log key: it never reuses the old primary's sequence numbers
    assert (edge / "keys" / "log.key").read_bytes() != log_key


def test_a_snapshot_never_overwrites_a_data_dir(tmp_path: Path):
    primary = tmp_path / "primary"
    assert _create(tmp_path, primary, "first").returncode == 0
    assert _cryb(tmp_path, primary, "scale", "snapshot", str(tmp_path / "edge")).returncode == 0
    again = _cryb(tmp_path, primary, "scale", "snapshot", str(tmp_path / "edge"))
    assert again.returncode == 1 and "exists" in again.stderr


def test_a_snapshot_of_a_missing_node_fails(tmp_path: Path):
    out = _cryb(tmp_path, tmp_path / "nothing", "scale", "snapshot", str(tmp_path / "edge"))
    assert out.returncode == 1 and "no database" in out.stderr
