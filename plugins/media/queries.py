"""The media plugin's SQL. Each write is one function run in the writer thread (one transaction)."""

from __future__ import annotations

from typing import Any

from cryb_node.db import Connection
from cryb_node.problems import Problem

# Taken-down media (takedown.py) keeps its row for the admin's list but is gone for everything else:
# it counts for no quota, describes and serves nothing, and nothing attaches it.
LIVE = "NOT EXISTS (SELECT 1 FROM media_takedowns t WHERE t.media_id = media.id)"
USAGE = f"SELECT coalesce(sum(size), 0) FROM media WHERE owner_id = ? AND {LIVE}"
MEDIA = (
    "SELECT id, owner_id, kind, mime, size, filename, width, height, frames, placeholder,"
    f" dominant_color, channel_id, attached_ms, created_ms FROM media WHERE id = ? AND {LIVE}"
)
VARIANTS = (
    "SELECT name, sha256, mime, size, width, height FROM media_variants WHERE media_id = ? ORDER BY name"
)
VARIANT = (
    "SELECT m.owner_id, m.kind, m.filename, m.channel_id, m.attached_ms, v.sha256, v.mime, v.size"
    " FROM media m JOIN media_variants v ON v.media_id = m.id WHERE m.id = ? AND v.name = ?"
)
DETACH = "UPDATE media SET attached_ms = NULL WHERE id = ?"


class BlobBusy(Exception):
    """The cleanup job is deleting a blob this upload wants; retry in a moment."""


def blocked_problem() -> Problem:
    # The admin's reason stays with the admins: it may name a report or a complaint.
    return Problem(
        "media_blocked",
        422,
        "this file was taken down by the node's admins and cannot be uploaded again",
        field="file",
    )


def check_blocked(conn: Connection, shas: list[str]) -> None:
    """Refuse bytes on the block list, in the transaction that would record them (a take-down that
    commits while an upload is being processed still wins)."""
    for sha in dict.fromkeys(shas):
        if conn.execute("SELECT 1 FROM media_blocklist WHERE sha256 = ?", (sha,)).fetchone():
            raise blocked_problem()


def _check_quota(conn: Connection, owner: str, size: int, quota: int | None) -> None:
    # Checked again here, in the transaction, so two concurrent uploads cannot both squeeze in.
    if quota is not None and conn.execute(USAGE, (owner,)).fetchone()[0] + size > quota:
        raise Problem("quota_exceeded", 413, "this upload exceeds your storage quota", field="file")


def _insert_row(conn: Connection, meta: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO media (id, owner_id, kind, mime, size, source_sha256, filename, width, height,"
        " frames, placeholder, dominant_color, created_ms)"
        " VALUES (:id, :owner, :kind, :mime, :size, :source, :filename, :width, :height, :frames,"
        " :placeholder, :dominant_color, :created)",
        {"width": None, "height": None, "frames": None, "placeholder": None, "dominant_color": None, **meta},
    )


def clone_existing(conn: Connection, *, meta: dict[str, Any], quota: int | None) -> list[str] | None:
    """The same bytes were uploaded before: a new record sharing the earlier one's stored variants
    (no processing, nothing stored twice). None when there is no usable earlier upload; else the
    variants the earlier one is still waiting for, which the new record waits for too (pending.py)."""
    check_blocked(conn, [meta["source"]])
    src = conn.execute(
        "SELECT id, width, height, frames, placeholder, dominant_color FROM media m"
        " WHERE source_sha256 = ? AND kind = ? AND NOT EXISTS (SELECT 1 FROM media_variants v"
        "  JOIN media_blobs b ON b.sha256 = v.sha256 WHERE v.media_id = m.id AND b.deleting = 1)"
        "  AND NOT EXISTS (SELECT 1 FROM media_takedowns t WHERE t.media_id = m.id)"
        " LIMIT 1",
        (meta["source"], meta["kind"]),
    ).fetchone()
    if src is None:
        return None
    _check_quota(conn, meta["owner"], meta["size"], quota)
    _insert_row(
        conn, {**meta, **{k: src[k] for k in ("width", "height", "frames", "placeholder", "dominant_color")}}
    )
    conn.execute(
        "INSERT INTO media_variants (media_id, name, sha256, mime, size, width, height)"
        " SELECT ?, name, sha256, mime, size, width, height FROM media_variants WHERE media_id = ?",
        (meta["id"], src["id"]),
    )
    conn.execute(
        "UPDATE media_blobs SET orphaned_ms = NULL"
        " WHERE sha256 IN (SELECT sha256 FROM media_variants WHERE media_id = ?)",
        (meta["id"],),
    )
    later = conn.execute("SELECT variants FROM media_pending WHERE media_id = ?", (src["id"],)).fetchone()
    if later is None:
        return []
    conn.execute(
        "INSERT INTO media_pending (media_id, variants, created_ms) VALUES (?, ?, ?)",
        (meta["id"], later["variants"], meta["created"]),
    )
    return later["variants"].split(",")


def add_blobs(conn: Connection, blobs: list[tuple[str, int]], now: int) -> set[str]:
    """Record (or revive) the blobs a new variant refers to; returns those storage does not have yet."""
    fresh: set[str] = set()
    for sha, size in blobs:
        row = conn.execute("SELECT deleting FROM media_blobs WHERE sha256 = ?", (sha,)).fetchone()
        if row is not None and row["deleting"]:
            raise BlobBusy(sha)
        if row is None:
            conn.execute(
                "INSERT INTO media_blobs (sha256, size, created_ms) VALUES (?, ?, ?)", (sha, size, now)
            )
            fresh.add(sha)
        else:
            conn.execute("UPDATE media_blobs SET orphaned_ms = NULL WHERE sha256 = ?", (sha,))
    return fresh


def reserve_blobs(conn: Connection, blobs: list[tuple[str, int]], until: int) -> None:
    """Rows for blobs about to be stored, before any media refers to them: the cleanup job's stray
    sweep leaves their files alone, and they count as orphaned only from ``until`` (after the work
    should be done), so if nothing ever refers to them (a crash before the variants are recorded)
    they are removed after that and the grace period."""
    for sha, size in blobs:
        row = conn.execute("SELECT deleting FROM media_blobs WHERE sha256 = ?", (sha,)).fetchone()
        if row is not None and row["deleting"]:
            raise BlobBusy(sha)
        if row is None:
            conn.execute(
                "INSERT INTO media_blobs (sha256, size, created_ms, orphaned_ms) VALUES (?, ?, ?, ?)",
                (sha, size, until, until),
            )


def insert_media(
    conn: Connection,
    *,
    meta: dict[str, Any],
    variants: list[tuple[str, str, str, int, int | None, int | None]],
    blobs: list[tuple[str, int]],
    quota: int | None,
) -> set[str]:
    """Record a processed upload; returns the blob keys storage does not have yet (to be put)."""
    # Its variants too: a processed file equal to one made from taken-down bytes is those bytes.
    check_blocked(conn, [meta["source"], *(sha for sha, _ in blobs)])
    _check_quota(conn, meta["owner"], meta["size"], quota)
    fresh = add_blobs(conn, blobs, meta["created"])
    _insert_row(conn, meta)
    conn.executemany(
        "INSERT INTO media_variants (media_id, name, sha256, mime, size, width, height)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(meta["id"], *v) for v in variants],
    )
    return fresh


def delete_media(conn: Connection, *, ids: list[str], now: int) -> int:
    """Delete media records; blobs left without any reference are marked orphaned (kept for the
    grace period, then removed by the cleanup job)."""
    shas: set[str] = set()
    for media_id in ids:
        shas.update(
            r["sha256"]
            for r in conn.execute("SELECT sha256 FROM media_variants WHERE media_id = ?", (media_id,))
        )
        conn.execute("DELETE FROM media WHERE id = ?", (media_id,))  # variants cascade
    conn.executemany(
        "UPDATE media_blobs SET orphaned_ms = ? WHERE sha256 = ? AND orphaned_ms IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM media_variants v WHERE v.sha256 = media_blobs.sha256)",
        [(now, sha) for sha in shas],
    )
    return len(ids)


def attach(conn: Connection, media_id: str, owner_id: str, channel_id: str | None, now: int) -> Any:
    m = conn.execute(MEDIA, (media_id,)).fetchone()
    if m is None or m["owner_id"] != owner_id:
        return None
    if m["attached_ms"] is not None:
        return m if m["channel_id"] == channel_id else None
    conn.execute("UPDATE media SET channel_id = ?, attached_ms = ? WHERE id = ?", (channel_id, now, media_id))
    return conn.execute(MEDIA, (media_id,)).fetchone()


# -- cleanup and stats --------------------------------------------------------------------------


def expire_orphans(conn: Connection, *, before: int, now: int) -> int:
    ids = [
        r["id"]
        for r in conn.execute("SELECT id FROM media WHERE attached_ms IS NULL AND created_ms < ?", (before,))
    ]
    return delete_media(conn, ids=ids, now=now)


def claim_doomed_blobs(conn: Connection, *, before: int) -> list[tuple[str, int]]:
    """Blobs orphaned before ``before`` and still unreferenced, fenced with ``deleting``."""
    rows = conn.execute(
        "SELECT sha256, size FROM media_blobs b WHERE orphaned_ms <= ? AND deleting = 0"
        " AND NOT EXISTS (SELECT 1 FROM media_variants v WHERE v.sha256 = b.sha256)",
        (before,),
    ).fetchall()
    conn.executemany("UPDATE media_blobs SET deleting = 1 WHERE sha256 = ?", [(r["sha256"],) for r in rows])
    return [(r["sha256"], r["size"]) for r in rows]


def finish_deleting(conn: Connection, *, deleted: list[str], failed: list[str]) -> None:
    conn.executemany("DELETE FROM media_blobs WHERE sha256 = ? AND deleting = 1", [(s,) for s in deleted])
    conn.executemany("UPDATE media_blobs SET deleting = 0 WHERE sha256 = ?", [(s,) for s in failed])


STATS = (
    "SELECT (SELECT count(*) FROM media) AS media,"
    " (SELECT count(*) FROM media WHERE attached_ms IS NOT NULL) AS attached,"
    " (SELECT coalesce(sum(size), 0) FROM media) AS uploaded_bytes,"
    " (SELECT count(*) FROM media_blobs) AS blobs,"
    " (SELECT coalesce(sum(size), 0) FROM media_blobs) AS stored_bytes,"
    " (SELECT count(*) FROM media_blobs WHERE orphaned_ms IS NOT NULL) AS orphaned_blobs"
)
BY_KIND = "SELECT kind, count(*) AS n FROM media GROUP BY kind ORDER BY kind"
CACHE_STATS = "SELECT count(*) AS blobs, coalesce(sum(size), 0) AS bytes FROM media_cache"
KNOWN_BLOB = "SELECT 1 FROM media_blobs WHERE sha256 = ?"


# -- the node admin's list, a member's export, the block list -------------------------------------

# Ids sort by creation time, so "newest first" is the primary key backwards; by user it is the
# media_owner index (which carries the id), by bytes media_source and media_variants_blob.
ADMIN_LIST = (
    "SELECT m.id, m.owner_id, m.kind, m.mime, m.size, m.filename, m.source_sha256, m.created_ms,"
    " m.channel_id, m.attached_ms, t.created_ms AS taken_at, t.reason AS taken_reason,"
    " t.actor_id AS taken_by, t.sha256 AS taken_sha256"
    " FROM media m LEFT JOIN media_takedowns t ON t.media_id = m.id"
)
# Lists cross into SQL as one JSON parameter: no placeholder limits, one statement each.
IN = "(SELECT value FROM json_each(?))"
TARGETS_OF = f"SELECT media_id, target_id FROM media_targets WHERE media_id IN {IN} ORDER BY target_id"
VARIANT_NAMES_OF = f"SELECT media_id, name FROM media_variants WHERE media_id IN {IN}"
# A member's uploads with their original's stored file, a page after an id.
EXPORT_PAGE = (
    "SELECT m.id, m.kind, m.mime, m.filename, m.size, m.width, m.height, m.created_ms, m.attached_ms,"
    " m.channel_id, v.sha256 AS original_sha256, v.mime AS original_mime, v.size AS original_size,"
    " EXISTS (SELECT 1 FROM media_takedowns t WHERE t.media_id = m.id) AS taken_down FROM media m"
    " LEFT JOIN media_variants v ON v.media_id = m.id AND v.name = 'original'"
    # media_owner indexes (owner_id) of a WITHOUT ROWID table: its entries end in the id, so this
    # walks the index in id order.
    " WHERE m.owner_id = ? AND m.id > ? ORDER BY m.id LIMIT ?"
)
# A block list entry, with how many files a take-down blocked with it.
BLOCK_ENTRY = (
    "SELECT b.sha256, b.reason, b.actor_id, b.media_id, b.created_ms,"
    " (SELECT count(*) FROM media_blocklist d WHERE d.derived_from = b.sha256) AS derived"
    " FROM media_blocklist b"
)
