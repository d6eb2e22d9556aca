"""Append a PyInstaller one-folder build to the launcher (packaging/launcher.c): the single-file
`dist/cryb` that unpacks once per version into a cache directory instead of on every start.

Usage: python packaging/sfx.py LAUNCHER ONEDIR OUTPUT
"""

from __future__ import annotations

import hashlib
import os
import stat
import struct
import sys
import zlib
from pathlib import Path

MAGIC = b"CRYBSFX1"


def entries(root: Path):
    """(relative path, mode, stored bytes, size) for every file and symlink, in a stable order."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(path).encode()
                yield rel, stat.S_IFLNK | 0o777, target, len(target)
            elif stat.S_ISREG(st.st_mode):
                data = path.read_bytes()
                yield rel, stat.S_IFREG | (st.st_mode & 0o777), zlib.compress(data, 6), len(data)


def build(launcher: Path, onedir: Path, output: Path) -> str:
    payload = bytearray()
    for rel, mode, data, size in entries(onedir):
        name = rel.encode()
        payload += struct.pack("<I", len(name)) + name + struct.pack("<IQQ", mode, len(data), size) + data
    key = hashlib.sha256(payload).hexdigest()
    head = launcher.read_bytes()
    tmp = output.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        out.write(head)
        out.write(payload)
        out.write(struct.pack("<Q", len(head)) + key.encode() + MAGIC)
    tmp.chmod(0o755)
    tmp.replace(output)
    return key


if __name__ == "__main__":
    key = build(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
    print(f"{sys.argv[3]}: unpacks to <cache>/cryb/{key}")
