"""The `[plugin.sync]` block documented (commented out) in cryb.toml has every key of the sync
plugin's settings with its default, and a node loads it as written."""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec

from cryb_node import config as configmod
from cryb_node.plugins import load
from cryb_node.sync.wire import SyncSettings
from tests.conftest import ROOT


def documented_block() -> list[str]:
    """The commented [plugin.sync] block of the shipped cryb.toml, uncommented."""
    lines = (ROOT / "cryb.toml").read_text().splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.startswith("# [plugin.sync]")), None)
    assert start is not None, "cryb.toml documents no [plugin.sync] block"
    block = []
    for ln in lines[start:]:
        if not ln.startswith("# "):
            break
        block.append(ln[2:])
    return block


def test_documented_sync_block_is_every_key_with_its_default() -> None:
    doc = tomllib.loads("\n".join(documented_block()))["plugin"]["sync"]
    assert set(doc) == set(SyncSettings.__struct_fields__)
    assert msgspec.convert(doc, SyncSettings) == SyncSettings()


def test_a_node_loads_the_documented_sync_block(tmp_path: Path) -> None:
    toml = tmp_path / "cryb.toml"
    toml.write_text("\n".join(documented_block()) + "\n")
    cfg = configmod.load(toml, environ={})
    (sync,) = [item for item in load(cfg) if item.plugin.name == "sync"]
    assert sync.settings == SyncSettings()
