"""The `[plugin.media]` block documented (commented out) in cryb.toml is exactly the defaults, and
bad media settings stop the node naming the key."""

from __future__ import annotations

import tomllib

import msgspec
import pytest
from cryb_plugins.media.schemas import Settings

from cryb_node.config import ConfigError
from cryb_node.plugins import load
from tests.conftest import ROOT, make_config


def test_documented_media_block_is_the_defaults():
    lines = (ROOT / "cryb.toml").read_text().splitlines()
    start = lines.index(next(ln for ln in lines if ln.startswith("# [plugin.media]")))
    block = [ln[2:] for ln in lines[start:] if ln.startswith("# ")]
    doc = tomllib.loads("\n".join(block))["plugin"]["media"]
    assert msgspec.convert(doc, Settings) == Settings()
    assert set(doc) == set(Settings.__struct_fields__)


@pytest.mark.parametrize(
    ("media", "named"),
    [
        ({"storage": "s3"}, "plugin.media"),
        ({"thumbnail_sizes": [8]}, "plugin.media.thumbnail_sizes"),
        ({"workers": 0}, "plugin.media.workers"),
        ({"storage": "ftp"}, "plugin.media.storage"),
        ({"cache_quota_bytes": -1}, "plugin.media.cache_quota_bytes"),
        ({"cache_quota_bytes": "1 GB"}, "plugin.media.cache_quota_bytes"),
    ],
)
def test_bad_media_settings_name_the_key(tmp_path, media, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load(make_config(tmp_path, plugin={"media": media}))
