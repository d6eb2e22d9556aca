"""The single-file binary's launcher (packaging/launcher.c + packaging/sfx.py): it unpacks the
appended one-folder build once per version into a private cache directory and execs it from there.
Built here with the system C compiler around a tiny stand-in tree (a shell script), so these run
without a PyInstaller build; tests/test_selfhost.py runs the real binary (`-m slow`)."""

from __future__ import annotations

import os
import shutil
import stat
import struct
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "packaging"))
import sfx

pytestmark = pytest.mark.skipif(
    shutil.which("cc") is None or not Path("/usr/include/zlib.h").exists(), reason="needs cc and zlib"
)


@pytest.fixture(scope="module")
def launcher(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("launcher") / "launcher"
    subprocess.run(
        ["cc", "-O2", "-Wall", "-Werror", "-Wno-format-truncation", "-o", str(out),
         str(ROOT / "packaging" / "launcher.c"), "-l:libz.a"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return out


def stand_in(root: Path, words: str = "hello") -> Path:
    """A one-folder tree whose `cryb` prints its location, its arguments and a bundled file."""
    tree = root / "onedir"
    (tree / "_internal" / "sub").mkdir(parents=True)
    (tree / "cryb").write_text(
        f'#!/bin/sh\necho "{words} from $0"; echo "args: $*"; cat "$(dirname "$0")/_internal/link.txt"\n'
    )
    (tree / "cryb").chmod(0o755)
    (tree / "_internal" / "sub" / "data.txt").write_text("bundled data\n")
    (tree / "_internal" / "link.txt").symlink_to("sub/data.txt")
    return tree


def build(launcher: Path, tree: Path, out: Path) -> tuple[Path, str]:
    key = sfx.build(launcher, tree, out)
    return out, key


def run(binary: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
    return subprocess.run(
        [str(binary), *args], env={**base, **env}, capture_output=True, text=True, timeout=60
    )


def test_first_start_unpacks_into_the_cache_and_later_starts_reuse_it(launcher, tmp_path):
    binary, key = build(launcher, stand_in(tmp_path), tmp_path / "cryb")
    cache = tmp_path / "cache"
    first = run(binary, "serve", "--port", "two words", XDG_CACHE_HOME=str(cache))
    assert first.returncode == 0, first.stderr
    unpacked = cache / "cryb" / key
    assert first.stdout.splitlines() == [f"hello from {unpacked}/cryb", "args: serve --port two words",
                                         "bundled data"]  # fmt: skip
    assert (unpacked / "_internal" / "link.txt").is_symlink()
    assert stat.S_IMODE((cache / "cryb").stat().st_mode) == 0o700
    marker = unpacked / "_internal" / "sub" / "data.txt"
    before = marker.stat().st_mtime_ns
    again = run(binary, "x", XDG_CACHE_HOME=str(cache))
    assert again.returncode == 0 and again.stdout.splitlines()[1] == "args: x"
    assert marker.stat().st_mtime_ns == before and sorted(p.name for p in (cache / "cryb").iterdir()) == [key]


def test_a_new_version_unpacks_beside_the_old_one(launcher, tmp_path):
    cache = tmp_path / "cache"
    old, old_key = build(launcher, stand_in(tmp_path / "a", "old"), tmp_path / "old")
    new, new_key = build(launcher, stand_in(tmp_path / "b", "new"), tmp_path / "new")
    assert old_key != new_key
    assert run(old, XDG_CACHE_HOME=str(cache)).stdout.startswith("old from")
    assert run(new, XDG_CACHE_HOME=str(cache)).stdout.startswith("new from")
    assert sorted(p.name for p in (cache / "cryb").iterdir()) == sorted([old_key, new_key])


def test_starts_racing_on_an_empty_cache_all_run_and_leave_one_copy(launcher, tmp_path):
    binary, key = build(launcher, stand_in(tmp_path), tmp_path / "cryb")
    cache = tmp_path / "cache"
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda i: run(binary, str(i), XDG_CACHE_HOME=str(cache)), range(6)))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert [p.name for p in (cache / "cryb").iterdir()] == [key]  # no half-written temp trees left


def test_a_cache_others_may_write_is_not_used(launcher, tmp_path):
    binary, key = build(launcher, stand_in(tmp_path), tmp_path / "cryb")
    shared = tmp_path / "shared"
    (shared / "cryb").mkdir(parents=True)
    (shared / "cryb").chmod(0o777)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    got = run(binary, XDG_CACHE_HOME=str(shared), TMPDIR=str(tmp))
    assert got.returncode == 0 and got.stdout.startswith(f"hello from {tmp}/cryb-{os.getuid()}/{key}/cryb")
    assert list((shared / "cryb").iterdir()) == []


def test_systemd_cache_directory_is_used_when_set(launcher, tmp_path):
    binary, key = build(launcher, stand_in(tmp_path), tmp_path / "cryb")
    cache = tmp_path / "var-cache-cryb"
    got = run(binary, CACHE_DIRECTORY=str(cache))
    assert got.returncode == 0 and got.stdout.startswith(f"hello from {cache}/{key}/cryb")


def _payload_entry(rel: str, data: bytes) -> bytes:
    body = zlib.compress(data)
    return (
        struct.pack("<I", len(rel))
        + rel.encode()
        + struct.pack("<IQQ", 0o100755, len(body), len(data))
        + body
    )


@pytest.mark.parametrize("rel", ["../escaped", "/abs/path"])
def test_a_payload_naming_paths_outside_its_tree_is_refused(launcher, tmp_path, rel):
    head = launcher.read_bytes()
    payload = _payload_entry(rel, b"#!/bin/sh\necho pwned\n")
    evil = tmp_path / "evil"
    evil.write_bytes(head + payload + struct.pack("<Q", len(head)) + b"a" * 64 + sfx.MAGIC)
    evil.chmod(0o755)
    cache = tmp_path / "cache"
    got = run(evil, XDG_CACHE_HOME=str(cache))
    assert got.returncode == 127 and "unpacking failed" in got.stderr
    assert not (tmp_path / "escaped").exists() and list((cache / "cryb").iterdir()) == []


def test_a_cut_or_damaged_payload_fails_cleanly(launcher, tmp_path):
    binary, _ = build(launcher, stand_in(tmp_path), tmp_path / "cryb")
    data = binary.read_bytes()
    cut = tmp_path / "cut"
    cut.write_bytes(data[:-10])  # a download that stopped short: no trailer
    cut.chmod(0o755)
    got = run(cut, XDG_CACHE_HOME=str(tmp_path / "cache"))
    assert got.returncode == 127 and "no payload" in got.stderr
    damaged = tmp_path / "damaged"
    head = len(launcher.read_bytes())
    body = bytearray(data)
    for i in range(head + 40, head + 60):  # inside the first file's compressed bytes
        body[i] ^= 0xFF
    damaged.write_bytes(bytes(body))
    damaged.chmod(0o755)
    got = run(damaged, XDG_CACHE_HOME=str(tmp_path / "cache"))
    assert got.returncode == 127 and "unpacking failed" in got.stderr
    assert list((tmp_path / "cache" / "cryb").iterdir()) == []  # nothing half-written left to run
