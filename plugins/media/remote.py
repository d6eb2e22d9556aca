"""Other nodes' media, fetched lazily and cached (see migrations/0002_remote.sql).

Replicated content names its attachments by media id; a durable consumer notes, from each verified
event of another node, which node holds which id and in which channel. The first time someone here
may open such media, its description comes from that node over the signed federation channel (the
core's RemoteMedia service); the first time a variant is served, its bytes do, checked against the
sha256 the description gave before anything is stored. Cached blobs live in their own folder and
table under ``cache_quota_bytes``, least recently used evicted first; local uploads are never
touched. Hits, misses, evictions and refused answers are counted for /metrics.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryb_node.db import Connection
from cryb_node.events import Event
from cryb_node.problems import Problem
from cryb_node.services import REMOTE_MEDIA, FetchedMedia, RemoteMediaError

from .storage import LocalStorage, Storage

if TYPE_CHECKING:
    from .service import MediaService

log = logging.getLogger(__name__)

# Events whose payload attaches media: content (``attachments``: media ids, in ``channel_id``) and
# profiles (``avatar``: a public media id).
ATTACHING = frozenset({"message.create", "message.edit", "post.create", "post.edit", "user.profile"})

MEDIA = (
    "SELECT id, owner_id, kind, mime, size, '' AS filename, width, height, frames, placeholder,"
    " dominant_color, channel_id, fetched_ms AS attached_ms, fetched_ms AS created_ms, node_key"
    " FROM media_remote WHERE id = ?"
)
VARIANTS = (
    "SELECT name, sha256, mime, size, width, height FROM media_remote_variants WHERE media_id = ?"
    " ORDER BY name"
)
VARIANT = (
    "SELECT m.owner_id, m.kind, '' AS filename, m.channel_id, m.fetched_ms AS attached_ms, m.node_key,"
    " v.sha256, v.mime, v.size FROM media_remote m JOIN media_remote_variants v ON v.media_id = m.id"
    " WHERE m.id = ? AND v.name = ?"
)

# Take-downs (takedown.py): ids and bytes this node refuses from its peers.
TAKEN_DOWN = "SELECT 1 FROM media_takedowns WHERE media_id = ?"
BLOCKED = "SELECT 1 FROM media_blocklist WHERE sha256 = ?"


@dataclass
class Counts:
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    refused: int = 0  # answers whose bytes did not match their sha256 (or size)
    failures: int = 0  # fetches that did not get an answer (unreachable, refused, bad signature)


def _touch(conn: Connection, sha: str, now: int) -> int:
    return conn.execute("UPDATE media_cache SET used_ms = ? WHERE sha256 = ?", (now, sha)).rowcount


def attachments_of(ev: Event) -> tuple[list[str], str | None]:
    p = ev.payload
    if ev.kind == "user.profile":
        avatar = p.get("avatar") if isinstance(p, dict) else getattr(p, "avatar", None)
        return ([avatar] if isinstance(avatar, str) and 0 < len(avatar) <= 64 else []), None
    if isinstance(p, dict):
        atts, channel = p.get("attachments"), p.get("channel_id")
    else:
        atts, channel = getattr(p, "attachments", None), getattr(p, "channel_id", None)
    ok = [m for m in atts or [] if isinstance(m, str) and 0 < len(m) <= 64]
    return ok, channel if isinstance(channel, str) else None


def record_refs(here: bytes, conn: Connection, events: list[Event], now: int) -> None:
    """Note which node holds the media each verified event of another node attaches (a durable
    consumer, in its transaction)."""
    for ev in events:
        if ev.payload is None:
            continue  # erased or withheld: nothing to place
        ids, channel = attachments_of(ev)
        if not ids:
            continue
        row = conn.execute("SELECT node_key FROM log_keys WHERE origin = ?", (ev.body.origin,)).fetchone()
        holder = bytes(row["node_key"]) if row is not None else here
        if holder == here:
            continue  # our own content attaches our own uploads
        conn.executemany(
            "INSERT OR IGNORE INTO media_remote_refs (media_id, node_key, channel_id, target_id, author_id,"
            " seen_ms) VALUES (?, ?, ?, ?, ?, ?)",
            [(m, holder, channel, ev.body.target, ev.body.author, now) for m in ids],
        )


# An author's delete of a message or post, and an account's erasure, take what they attached out
# of the cache here (the holding node is the one to decide about its own copy).
DROPPING = frozenset({"message.delete", "post.delete", "user.erased"})


def drop_refs(cache_root: Path, conn: Connection, events: list[Event]) -> int:
    """Forget other nodes' media attached by deleted content or an erased account: references,
    descriptions and cached bytes (a durable consumer, in its transaction; files go at once, and a
    row that outlives a rolled-back transaction only means a fetch the next time). Returns the
    bytes freed."""
    storage, freed = LocalStorage(cache_root), 0
    for ev in events:
        target, author = ev.body.target, ev.body.author
        if target is None:
            continue
        if ev.kind == "user.erased":
            found = conn.execute(
                "SELECT media_id FROM media_remote_refs WHERE author_id = ?1"
                " UNION SELECT id FROM media_remote WHERE owner_id = ?1",
                (target,),
            )
        else:  # only the author's own delete (a moderator's removal is reversible: kept)
            found = conn.execute(
                "SELECT media_id FROM media_remote_refs WHERE target_id = ? AND author_id = ?",
                (target, author),
            )
        ids = [r["media_id"] for r in found.fetchall()]
        for media_id in ids:
            shas = [r["sha256"] for r in conn.execute(
                "SELECT sha256 FROM media_remote_variants WHERE media_id = ?", (media_id,))]  # fmt: skip
            conn.execute("DELETE FROM media_remote_refs WHERE media_id = ?", (media_id,))
            conn.execute("DELETE FROM media_remote WHERE id = ?", (media_id,))
            for sha in shas:
                if conn.execute("SELECT 1 FROM media_remote_variants WHERE sha256 = ?", (sha,)).fetchone():
                    continue  # other media here has the same bytes
                gone = conn.execute(
                    "DELETE FROM media_cache WHERE sha256 = ? RETURNING size", (sha,)
                ).fetchone()
                freed += gone["size"] if gone else 0
                storage.path(sha).unlink(missing_ok=True)
    return freed


class RemoteCache:
    def __init__(self, media: MediaService) -> None:
        self.media = media
        self.node = media.node
        self.quota = media.settings.cache_quota_bytes
        self.storage: Storage = LocalStorage(media.root / "cache")
        self.n = Counts()
        self.cached_bytes = 0
        self._locks: dict[str, asyncio.Lock] = {}
        self._tick = 0

    async def open(self) -> None:
        self.cached_bytes = await self.node.db.fetchval("SELECT coalesce(sum(size), 0) FROM media_cache")

    # -- which node holds what ------------------------------------------------------------------

    # -- descriptions -----------------------------------------------------------------------------

    async def row(self, media_id: str) -> Any:
        """Another node's media as media.service reads its own (fetching the description on first
        use), or None: not referenced by content here, or its node does not share it with us."""
        db = self.node.db
        if await db.fetchone(TAKEN_DOWN, (media_id,)):
            return None  # an admin here took it down: never described or fetched again
        found = await db.fetchone(MEDIA, (media_id,))
        if found is not None:
            return found
        ref = await db.fetchone("SELECT node_key, channel_id FROM media_remote_refs WHERE media_id = ?",
                                (media_id,))  # fmt: skip
        if ref is None:
            return None
        got = await self._fetch(bytes(ref["node_key"]), media_id, None)
        if got is None:
            return None
        m = got.media
        for v in m.variants:
            if await db.fetchone(BLOCKED, (v.sha256,)):
                return None  # bytes refused here, whoever holds them

        def store(conn: Connection) -> None:
            # The channel is the one our own verified event placed it in, not what the answer says.
            conn.execute(
                "INSERT OR IGNORE INTO media_remote (id, node_key, owner_id, kind, mime, size, width, height,"
                " frames, placeholder, dominant_color, channel_id, fetched_ms)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (media_id, bytes(ref["node_key"]), m.owner_id, m.kind, m.mime, m.size, m.width, m.height,
                 m.frames, m.placeholder, m.dominant_color, ref["channel_id"], self._now()),
            )  # fmt: skip
            conn.executemany(
                "INSERT OR IGNORE INTO media_remote_variants (media_id, name, sha256, mime, size, width,"
                " height) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(media_id, v.name, v.sha256, v.mime, v.size, v.width, v.height) for v in m.variants
                 if len(v.sha256) == 64 and all(c in "0123456789abcdef" for c in v.sha256)],
            )  # fmt: skip

        await db.write(store)
        return await db.fetchone(MEDIA, (media_id,))

    async def variant(self, media_id: str, name: str) -> Any:
        if await self.row(media_id) is None:
            return None
        return await self.node.db.fetchone(VARIANT, (media_id, name))

    # -- bytes --------------------------------------------------------------------------------------

    async def blob(self, media_id: str, name: str, row: Any) -> tuple[Storage, str]:
        """Where to read a remote variant's bytes from: the cache (a hit) or, fetched now, the cache
        (a miss). The same bytes uploaded here are read from local storage instead."""
        sha = row["sha256"]
        if await self.node.db.fetchone(BLOCKED, (sha,)):
            raise Problem("not_found", 404, "media not found")  # not even from the cache
        local = await self.node.db.fetchval(
            "SELECT 1 FROM media_blobs WHERE sha256 = ? AND deleting = 0", (sha,), None
        )
        if local:
            return self.media.storage, sha
        if len(self._locks) > 1024:  # forget the locks of blobs nobody is fetching
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}
        async with self._locks.setdefault(sha, asyncio.Lock()):
            touched = await self.node.db.write(partial(_touch, sha=sha, now=self._now()))
            if touched and await self.storage.exists(sha):
                self.n.hits += 1
                return self.storage, sha
            self.n.misses += 1
            await self._fill(media_id, name, row)
        await self.evict(keep=sha)
        return self.storage, sha

    async def _fill(self, media_id: str, name: str, row: Any) -> None:
        sha, size = row["sha256"], row["size"]
        got = await self._fetch(bytes(row["node_key"]), media_id, name)
        if got is None:
            raise Problem("not_found", 404, "media not found")
        data = got.data or b""
        digest = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
        if digest != sha or len(data) != size:
            self.n.refused += 1
            peer = bytes(row["node_key"]).hex()[:16]
            log.warning("media: node %s sent bytes that are not %s; refused", peer, sha[:12])
            raise Problem("bad_remote_media", 502, "the node holding this file sent something else; refused")
        await asyncio.to_thread(self._put_bytes, sha, data)
        now = self._now()

        def record(conn: Connection) -> None:
            conn.execute(
                "INSERT INTO media_cache (sha256, size, fetched_ms, used_ms) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (sha256) DO UPDATE SET used_ms = excluded.used_ms",
                (sha, size, now, now),
            )

        await self.node.db.write(record)
        self.cached_bytes = await self.node.db.fetchval("SELECT coalesce(sum(size), 0) FROM media_cache")

    def _put_bytes(self, sha: str, data: bytes) -> None:
        assert isinstance(self.storage, LocalStorage)
        self.storage.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".fetch-", dir=self.storage.root)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            self.storage.put_file(sha, Path(tmp))
        finally:
            Path(tmp).unlink(missing_ok=True)

    async def _fetch(self, node_key: bytes, media_id: str, variant: str | None) -> FetchedMedia | None:
        remote = self.node.services.get(REMOTE_MEDIA)
        if remote is None:
            return None  # no federation here: nobody to ask
        try:
            return await remote.fetch(node_key, media_id, variant)
        except RemoteMediaError as err:
            self.n.failures += 1
            if err.status in (403, 404):
                return None
            log.warning("media: fetching %s from node %s failed: %s", media_id, node_key.hex()[:16], err)
            raise Problem(
                "media_unavailable", 502, "the node holding this file could not be reached; try again"
            ) from None

    # -- the quota ------------------------------------------------------------------------------------

    async def evict(self, keep: str | None = None) -> list[str]:
        """Least recently used cached blobs out until the cache fits its quota (``keep``, the blob
        being served, stays even if it alone is larger; the next eviction takes it)."""
        quota = self.quota

        def pick(conn: Connection) -> list[str]:
            total = conn.execute("SELECT coalesce(sum(size), 0) FROM media_cache").fetchone()[0]
            gone: list[str] = []
            if total <= quota:
                return gone
            for sha, size in conn.execute("SELECT sha256, size FROM media_cache ORDER BY used_ms, sha256"):
                if total <= quota:
                    break
                if sha != keep:
                    gone.append(sha)
                    total -= size
            conn.executemany("DELETE FROM media_cache WHERE sha256 = ?", [(s,) for s in gone])
            return gone

        gone = await self.node.db.write(pick)
        for sha in gone:
            await self.storage.delete(sha)
        self.n.evictions += len(gone)
        if gone:
            self.cached_bytes = await self.node.db.fetchval("SELECT coalesce(sum(size), 0) FROM media_cache")
        return gone

    def _now(self) -> int:
        # Strictly rising, so two uses in one millisecond still order (LRU).
        self._tick = max(self.node.clock.time_ms(), self._tick + 1)
        return self._tick
