"""Pinned peers: the nodes this one replicates with, each known by its identity key.

An admin pins a peer with `cryb peer add URL` (its key is fetched from /.well-known/cryb-node and
confirmed) or `cryb peer add URL --key HEX` (taken as given). Only pinned keys may call us; a key
banned on this node (bans.py) cannot be pinned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
import msgspec

from cryb_node.db import Connection, Database
from cryb_node.identity import verify_log_cert

from .wire import NodeCard

WELL_KNOWN = "/.well-known/cryb-node"


@dataclass(frozen=True)
class Peer:
    node_key: bytes
    url: str
    name: str
    added_at: int
    last_ok_at: int | None = None
    last_error: str | None = None

    @property
    def key_hex(self) -> str:
        return self.node_key.hex()


class PeerError(Exception):
    pass


_COLUMNS = "node_key, url, name, added_at, last_ok_at, last_error"


def _peer(r: Any) -> Peer:
    return Peer(
        node_key=r["node_key"],
        url=r["url"],
        name=r["name"],
        added_at=r["added_at"],
        last_ok_at=r["last_ok_at"],
        last_error=r["last_error"],
    )


async def list_peers(db: Database) -> list[Peer]:
    return [_peer(r) for r in await db.fetchall(f"SELECT {_COLUMNS} FROM sync_peers ORDER BY added_at, url")]


async def get(db: Database, node_key: bytes) -> Peer | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM sync_peers WHERE node_key = ?", (node_key,))
    return _peer(row) if row else None


async def certified_log_keys(db: Database, node_key: bytes) -> list[dict[str, str]]:
    """The log keys ``node_key`` certified (origin and certificate, hex), oldest first: its card's."""
    rows = await db.fetchall(
        "SELECT origin, cert FROM log_keys WHERE node_key = ? ORDER BY created_at", (node_key,)
    )
    return [{"origin": bytes(r["origin"]).hex(), "cert": bytes(r["cert"]).hex()} for r in rows]


def find(peers: list[Peer], ref: str) -> Peer:
    """A peer by name, URL or (a prefix of at least 8 hex digits of) its key."""
    ref_l = ref.lower().rstrip("/")
    hits = [
        p
        for p in peers
        if p.name == ref or p.url.rstrip("/") == ref_l or (len(ref_l) >= 8 and p.key_hex.startswith(ref_l))
    ]
    if len(hits) != 1:
        raise PeerError(f"no single pinned peer matches {ref!r}" if not hits else f"{ref!r} is ambiguous")
    return hits[0]


async def pin(db: Database, node_key: bytes, url: str, name: str = "", *, now: float) -> Peer:
    """Pin (or re-address) a peer; ``now``: the node's clock, in unix seconds."""
    if len(node_key) != 32:
        raise PeerError("a node key is 32 bytes (64 hex digits)")
    url = normalise_url(url)

    def job(conn: Connection) -> None:
        # A node banned here (bans.py) stays unpinned until the ban is removed.
        if conn.execute("SELECT 1 FROM sync_node_bans WHERE node_key = ?", (node_key,)).fetchone():
            raise PeerError(
                f"node {node_key.hex()} is banned on this node (cryb ban list); remove the ban first"
            )
        conn.execute(
            "INSERT INTO sync_peers (node_key, url, name, added_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (node_key) DO UPDATE SET url = excluded.url, name = excluded.name",
            (node_key, url, name, int(now)),
        )

    await db.write(job)
    peer = await get(db, node_key)
    assert peer is not None
    return peer


async def remove(db: Database, node_key: bytes) -> bool:
    def job(conn: Connection) -> bool:
        return conn.execute("DELETE FROM sync_peers WHERE node_key = ?", (node_key,)).rowcount > 0

    return await db.write(job)


async def record_outcome(db: Database, node_key: bytes, error: str | None, *, now: float) -> None:
    """A session's end: ``error`` None for a success at ``now`` (the node's clock, unix seconds)."""
    if error is None:
        sql = "UPDATE sync_peers SET last_ok_at = ?, last_error = NULL WHERE node_key = ?"
        args: tuple[Any, ...] = (int(now), node_key)
    else:
        sql, args = "UPDATE sync_peers SET last_error = ? WHERE node_key = ?", (error[:500], node_key)
    await db.write(lambda conn: conn.execute(sql, args))


def normalise_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise PeerError("a peer URL starts with http:// or https://")
    return url


async def fetch_card(url: str, timeout_s: float = 10.0) -> NodeCard:
    """Fetch a node's card and check that its log keys are certified by its node key."""
    url = normalise_url(url)
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session,
            session.get(url + WELL_KNOWN) as resp,
        ):
            if resp.status != 200:
                raise PeerError(f"{url}{WELL_KNOWN} answered {resp.status}")
            card = msgspec.json.decode(await resp.read(), type=NodeCard)
    except (aiohttp.ClientError, TimeoutError) as err:
        raise PeerError(f"cannot reach {url}: {type(err).__name__}: {err}") from None
    except msgspec.DecodeError as err:
        raise PeerError(f"{url}{WELL_KNOWN} is not a CRYB node card: {err}") from None
    node_key = bytes.fromhex(card.node_key)
    for lk in card.log_keys:
        if not verify_log_cert(node_key, bytes.fromhex(lk["origin"]), bytes.fromhex(lk["cert"])):
            raise PeerError(f"{url}: log key {lk['origin'][:16]}… is not certified by the node key")
    return card
