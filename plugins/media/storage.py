"""Where media bytes live: a content-addressed blob store (key = sha256 hex of the bytes, so
identical files are stored once) behind one small interface, with a local-folder backend here and
an S3-compatible one in s3.py. The database (service.py) decides what is referenced; storage only
holds bytes."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Protocol

CHUNK = 256 * 1024
_KEY = re.compile(r"^[0-9a-f]{64}$")


def check_key(key: str) -> str:
    if not _KEY.match(key):  # keys reach paths and object names: only ever a sha256 hex digest
        raise ValueError("storage keys are sha256 hex digests")
    return key


class Storage(Protocol):
    name: str

    async def put(self, key: str, src: Path, mime: str) -> None:
        """Store the file at ``src`` under ``key`` (idempotent: the same key means the same bytes)."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove the blob; deleting a missing one is not an error."""
        ...

    def read(self, key: str, start: int, end: int) -> AsyncGenerator[bytes, None]:
        """The bytes ``start`` to ``end`` inclusive, in chunks (never the whole file in memory)."""
        ...

    def keys(self) -> AsyncIterator[str]:
        """Every stored key (for the cleanup of blobs the database does not know)."""
        ...

    async def close(self) -> None: ...


class LocalStorage:
    """Blobs as files under ``root/ab/cd/<sha256>``; writes are atomic (temp file + rename)."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key[2:4] / key

    async def put(self, key: str, src: Path, mime: str) -> None:
        await asyncio.to_thread(self.put_file, key, src)

    def put_file(self, key: str, src: Path) -> None:
        """``put`` without the thread hop, for callers already off the event loop."""
        dest = self.path(key)
        if dest.exists():
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{key}.{os.getpid()}.tmp")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, True)

    async def read(self, key: str, start: int, end: int) -> AsyncGenerator[bytes, None]:
        f = await asyncio.to_thread(open, self.path(key), "rb")
        try:
            await asyncio.to_thread(f.seek, start)
            left = end - start + 1
            while left > 0:
                chunk = await asyncio.to_thread(f.read, min(CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                yield chunk
        finally:
            f.close()

    async def keys(self) -> AsyncIterator[str]:
        found = await asyncio.to_thread(lambda: [p.name for p in self.root.glob("??/??/*")])
        for name in found:
            if _KEY.match(name):
                yield name

    async def close(self) -> None:
        return None
