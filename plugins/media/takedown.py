"""Take-downs and the block list (node admins; see migrations/0004_takedown.sql).

Taking down an upload, by its id or by the sha256 of its bytes, takes down every media record with
those bytes: this node's uploads (their rows stay, marked, for the admin's list) and other nodes'
media known here. In one transaction the bytes go on the block list with every file made from them,
the records lose their variants, and the stored files nothing else uses lose their rows; the files
themselves are deleted from storage just after (a file whose delete fails has no row left, so the
cleanup job removes it as a stray). From the commit on, serving them answers 404, peers asking for
them get 404, this node never fetches them from a peer again, and an upload of the same bytes is
refused with `media_blocked`. The HTTP routes (admin_routes.py) and `cryb media ...` (cli.py) call
these same functions; each action is written to the audit log (the core's Audit service).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from cryb_node.db import Connection
from cryb_node.problems import Problem, not_found
from cryb_node.services import AUDIT, Audit

from . import queries
from .queries import IN
from .schemas import BlockEntry, BlocklistPage, BlockOut, TakedownOut
from .service import MediaService

log = logging.getLogger(__name__)

# Same bytes can reach further bytes (an upload whose processed variant equals another upload's
# bytes); a few rounds reach everything real files produce, and bound a pathological chain.
MAX_ROUNDS = 8


@dataclass(frozen=True)
class Actor:
    """Who acts: a node admin over HTTP (their id and address), or the operator at the console."""

    user_id: str | None
    ip: str | None = None

    @property
    def via(self) -> str:
        return "cli" if self.user_id is None else "api"


CONSOLE = Actor(None)


@dataclass
class _Done:
    head: str | None
    local: list[str] = field(default_factory=list)
    remote: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    blobs: list[str] = field(default_factory=list)  # rows gone: delete the files
    cached: list[tuple[str, int]] = field(default_factory=list)


def _j(values: Any) -> str:
    return json.dumps(sorted(values))


def _column(conn: Connection, sql: str, *params: Any) -> set[str]:
    return {r[0] for r in conn.execute(sql, params).fetchall() if r[0] is not None}


def _audit(media: MediaService) -> Audit | None:
    return media.node.services.get(AUDIT)


def _target(conn: Connection, media_id: str) -> tuple[str | None, set[str], set[str]]:
    """(head sha256, local ids, remote ids) of a take-down by id."""
    if conn.execute("SELECT 1 FROM media_takedowns WHERE media_id = ?", (media_id,)).fetchone():
        raise Problem("already_taken_down", 409, "this media is already taken down")
    row = conn.execute("SELECT source_sha256 FROM media WHERE id = ?", (media_id,)).fetchone()
    if row is not None:
        return row["source_sha256"], {media_id}, set()
    known = conn.execute(
        "SELECT 1 FROM media_remote_refs WHERE media_id = ?1"
        " UNION ALL SELECT 1 FROM media_remote WHERE id = ?1",
        (media_id,),
    ).fetchone()
    if known is None:
        raise not_found("media")
    # Another node's media: its bytes as described to us (None if it was never opened here).
    orig = conn.execute(
        "SELECT sha256 FROM media_remote_variants WHERE media_id = ?"
        " ORDER BY name != 'original', name LIMIT 1",
        (media_id,),
    ).fetchone()
    return (orig["sha256"] if orig else None), set(), {media_id}


def _closure(conn: Connection, shas: set[str], local: set[str], remote: set[str]) -> set[str]:
    """Grow (shas, local, remote) until every record with any of the bytes, and every file of those
    records, is in (in place)."""
    for _ in range(MAX_ROUNDS):
        before = (len(shas), len(local), len(remote))
        local |= _column(
            conn,
            f"SELECT id FROM media WHERE source_sha256 IN {IN}"
            f" UNION SELECT media_id FROM media_variants WHERE sha256 IN {IN}",
            _j(shas),
            _j(shas),
        )
        remote |= _column(conn, f"SELECT media_id FROM media_remote_variants WHERE sha256 IN {IN}", _j(shas))
        shas |= _column(conn, f"SELECT source_sha256 FROM media WHERE id IN {IN}", _j(local))
        shas |= _column(conn, f"SELECT sha256 FROM media_variants WHERE media_id IN {IN}", _j(local))
        shas |= _column(conn, f"SELECT sha256 FROM media_remote_variants WHERE media_id IN {IN}", _j(remote))
        if (len(shas), len(local), len(remote)) == before:
            break
    return shas


def _take_down_tx(
    conn: Connection,
    *,
    media_id: str | None,
    sha256: str | None,
    reason: str,
    actor: Actor,
    audit: Audit | None,
    now: int,
) -> _Done:
    head, local, remote = _target(conn, media_id) if media_id is not None else (sha256, set(), set())
    shas = _closure(conn, {head} if head else set(), local, remote)
    # Records taken down before keep their first take-down (and are not reported again).
    taken = _column(conn, f"SELECT media_id FROM media_takedowns WHERE media_id IN {IN}", _j(local | remote))
    local, remote = local - taken, remote - taken
    done = _Done(head, sorted(local), sorted(remote), sorted(shas))
    cause = media_id or (done.local[0] if done.local else None)
    conn.executemany(
        "INSERT OR IGNORE INTO media_blocklist (sha256, reason, actor_id, media_id, derived_from, created_ms)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(sha, reason, actor.user_id, cause, None if sha == head else head, now) for sha in done.blocked],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO media_takedowns (media_id, sha256, reason, actor_id, remote, created_ms)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(m, head, reason, actor.user_id, 0, now) for m in done.local]
        + [(m, head, reason, actor.user_id, 1, now) for m in done.remote],
    )
    owners = sorted(_column(conn, f"SELECT owner_id FROM media WHERE id IN {IN}", _j(local)))
    conn.execute(f"DELETE FROM media_variants WHERE media_id IN {IN}", (_j(local),))
    conn.execute(f"DELETE FROM media_remote WHERE id IN {IN}", (_j(remote),))  # variants cascade
    # Stored files of these bytes nothing live uses any more (a file an orphaned upload left
    # behind for the cleanup job goes now too).
    done.blobs = [
        r["sha256"]
        for r in conn.execute(
            f"DELETE FROM media_blobs WHERE sha256 IN {IN}"
            " AND NOT EXISTS (SELECT 1 FROM media_variants v WHERE v.sha256 = media_blobs.sha256)"
            " RETURNING sha256",
            (_j(shas),),
        ).fetchall()
    ]
    done.cached = [
        (r["sha256"], r["size"])
        for r in conn.execute(
            f"DELETE FROM media_cache WHERE sha256 IN {IN} RETURNING sha256, size", (_j(shas),)
        ).fetchall()
    ]
    if audit is not None:
        detail = dict(sha256=head, media_ids=done.local, remote_ids=done.remote, reason=reason, via=actor.via)
        recorded: list[str | None] = [*owners] or [None]  # None: no local owner (cached copies only)
        for owner in recorded:
            audit.record(conn, "media.takedown", actor_id=actor.user_id, user_id=owner, ip=actor.ip, **detail)
    return done


async def take_down(
    media: MediaService, actor: Actor, reason: str, *, media_id: str | None = None, sha256: str | None = None
) -> TakedownOut:
    """Take down an upload by id (or another node's media known here), or all media with the bytes
    ``sha256``; the bytes are refused from then on."""
    assert (media_id is None) != (sha256 is None)
    done = await media.node.db.write(
        partial(
            _take_down_tx,
            media_id=media_id,
            sha256=sha256,
            reason=reason,
            actor=actor,
            audit=_audit(media),
            now=media.node.clock.time_ms(),
        )
    )
    pending = 0
    for sha in done.blobs:
        try:
            await media.storage.delete(sha)
        except Exception:
            # Its row is gone, so the cleanup job deletes it as a stray; say so meanwhile.
            log.exception("media: taken-down blob %s could not be deleted yet", sha[:12])
            pending += 1
    for sha, size in done.cached:
        await media.remote.storage.delete(sha)
        media.remote.cached_bytes = max(0, media.remote.cached_bytes - size)
    log.info(
        "media: took down %d uploads and %d remote media (%s) via %s",
        len(done.local), len(done.remote), (done.head or "-")[:12], actor.via,
    )  # fmt: skip
    return TakedownOut(
        sha256=done.head,
        media_ids=done.local,
        remote_ids=done.remote,
        blocked=done.blocked,
        blobs_deleted=len(done.blobs) - pending,
        blobs_pending=pending,
        cached_deleted=len(done.cached),
    )


# -- the block list ----------------------------------------------------------------------------------

ENTRY = queries.BLOCK_ENTRY


def _entry(r: Any) -> BlockEntry:
    return BlockEntry(
        sha256=r["sha256"],
        reason=r["reason"],
        actor_id=r["actor_id"],
        media_id=r["media_id"],
        created_at=r["created_ms"],
        derived=r["derived"],
    )


def _block_tx(
    conn: Connection, *, sha256: str, reason: str, actor: Actor, audit: Audit | None, now: int
) -> BlockOut:
    if conn.execute("SELECT 1 FROM media_blocklist WHERE sha256 = ?", (sha256,)).fetchone():
        raise Problem("already_blocked", 409, "these bytes are already on the block list", field="sha256")
    conn.execute(
        "INSERT INTO media_blocklist (sha256, reason, actor_id, created_ms) VALUES (?, ?, ?, ?)",
        (sha256, reason, actor.user_id, now),
    )
    matches = sorted(
        _column(
            conn,
            "SELECT id FROM media WHERE source_sha256 = ?1 UNION SELECT media_id FROM media_variants"
            " WHERE sha256 = ?1 EXCEPT SELECT media_id FROM media_takedowns",
            sha256,
        )
    )
    if audit is not None:
        audit.record(conn, "media.block", actor_id=actor.user_id, ip=actor.ip, sha256=sha256, reason=reason,
                     via=actor.via)  # fmt: skip
    entry = conn.execute(f"{ENTRY} WHERE b.sha256 = ?", (sha256,)).fetchone()
    return BlockOut(entry=_entry(entry), matches=matches)


async def block(media: MediaService, actor: Actor, sha256: str, reason: str) -> BlockOut:
    """Refuse these bytes from now on (uploads here, and other nodes' media). Uploads that already
    have them stay until taken down: ``matches`` lists them."""
    return await media.node.db.write(
        partial(
            _block_tx,
            sha256=sha256,
            reason=reason,
            actor=actor,
            audit=_audit(media),
            now=media.node.clock.time_ms(),
        )
    )


async def unblock(media: MediaService, actor: Actor, sha256: str) -> list[str]:
    """Accept these bytes again (and the files a take-down blocked with them). Taken-down media
    stays taken down: its files are gone; the same bytes may be uploaded anew. Returns the hashes
    freed."""
    audit = _audit(media)

    def tx(conn: Connection) -> list[str]:
        freed = sorted(
            r["sha256"]
            for r in conn.execute(
                "DELETE FROM media_blocklist WHERE sha256 = ?1 OR derived_from = ?1 RETURNING sha256",
                (sha256,),
            ).fetchall()
        )
        if not freed:
            raise not_found("block list entry")
        if audit is not None:
            audit.record(conn, "media.unblock", actor_id=actor.user_id, ip=actor.ip, sha256=sha256,
                         hashes=len(freed), via=actor.via)  # fmt: skip
        return freed

    return await media.node.db.write(tx)


async def blocklist(media: MediaService, after: str | None, limit: int) -> BlocklistPage:
    """The block list's head entries, newest first (the files derived from each are counted)."""
    where = " WHERE b.derived_from IS NULL"
    params: list[Any] = []
    if after is not None:
        # The list is short (admins add to it by hand): a scan per page costs nothing.
        where += (
            " AND (b.created_ms, b.sha256)"
            " < (SELECT created_ms, sha256 FROM media_blocklist WHERE sha256 = ?)"
        )
        params.append(after)
    rows = await media.node.db.fetchall(
        f"{ENTRY}{where} ORDER BY b.created_ms DESC, b.sha256 DESC LIMIT ?", (*params, limit)
    )
    entries = [_entry(r) for r in rows]
    return BlocklistPage(entries=entries, next_after=entries[-1].sha256 if len(entries) == limit else None)
