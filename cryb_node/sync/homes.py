"""Where a community or an account is homed, and moving either to another node.

A community starts homed on the node whose certified log created it. Its home may hand it to
another node with a ``community.home`` event (target: the new home's node key, hex) signed by a
log of the then-current home; hand-offs signed by anyone else are ignored. Node-admin authority
over a community (governance ``as_admin``, content moderation at rank 3) counts only from its home
at the event's time, on every node alike: the answer comes from the events themselves.

An account moves with a ``user.moved`` event (author and target: the user) signed by its current
home: every node re-homes it (from then on only the new home's logs may author its events), and
the old home keeps a forwarding record (sync_moved) that says where it lives now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import msgspec

from cryb_node.db import Connection, Database
from cryb_node.events import Event, EventBody, EventType, Tx

from . import peers
from .wire import UserHome

if TYPE_CHECKING:
    from cryb_node.node import Node

HANDOFF = "community.home"

_SQL = (
    "SELECT e.kind, e.hlc, k.node_key, e.body FROM events e JOIN log_keys k ON k.origin = e.origin"
    " WHERE e.community = ? AND e.kind IN ('community.create', 'community.home') ORDER BY e.hlc, e.id"
)
_decode_body = msgspec.msgpack.Decoder(EventBody).decode


class HomeHandoff(msgspec.Struct, kw_only=True, omit_defaults=True):
    reason: str = ""


MOVED = "user.moved"


class UserMoved(msgspec.Struct, kw_only=True):
    to: str  # the new home's node key, hex
    url: str  # its base URL


def _apply_moved(conn: Connection, ev: Event) -> None:
    """Re-home the account if the move was signed by its current home (else ignored)."""
    user, p = ev.body.target, ev.payload
    to = new_home_key(p.to) if p is not None else None
    if user is None or ev.body.author != user or to is None:
        return
    signer = conn.execute("SELECT node_key FROM log_keys WHERE origin = ?", (ev.body.origin,)).fetchone()
    home = conn.execute("SELECT node_key FROM sync_user_homes WHERE user_id = ?", (user,)).fetchone()
    if signer is None or home is None or bytes(signer["node_key"]) != bytes(home["node_key"]):
        return
    from_key = bytes(home["node_key"])
    conn.execute("UPDATE sync_user_homes SET node_key = ? WHERE user_id = ?", (to, user))
    conn.execute(
        "INSERT OR IGNORE INTO sync_user_moves (user_id, hlc, from_key, to_key) VALUES (?, ?, ?, ?)",
        (user, ev.body.hlc, from_key, to),
    )
    conn.execute(
        "INSERT INTO sync_moved (user_id, node_key, url, from_key, hlc) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET node_key = excluded.node_key, url = excluded.url,"
        " from_key = excluded.from_key, hlc = excluded.hlc WHERE excluded.hlc > sync_moved.hlc",
        (user, to, p.url, from_key, ev.body.hlc),
    )


EVENT_TYPES = [EventType(HANDOFF, HomeHandoff), EventType(MOVED, UserMoved, _apply_moved)]


def new_home_key(target: str | None) -> bytes | None:
    try:
        key = bytes.fromhex(target or "")
    except ValueError:
        return None
    return key if len(key) == 32 else None


def _walk(rows: list, at_hlc: int | None) -> bytes | None:
    home: bytes | None = None
    for r in rows:
        node_key = bytes(r["node_key"])
        if r["kind"] == "community.create":
            home = home or node_key  # the first create (by hlc, id) names the first home
        elif home is not None and node_key == home and (at_hlc is None or r["hlc"] < at_hlc):
            home = new_home_key(_decode_body(bytes(r["body"])).target) or home
    return home


def community_home(conn: Connection, community: str, at_hlc: int | None = None) -> bytes | None:
    """The home node's identity key (now, or as of just before ``at_hlc``), in a db thread."""
    return _walk(conn.execute(_SQL, (community,)).fetchall(), at_hlc)


async def community_home_of(db: Database, community: str) -> bytes | None:
    return _walk(await db.fetchall(_SQL, (community,)), None)


class HomeError(ValueError):
    pass


async def hand_off(node: Node, community: str, to: bytes, reason: str = "") -> Event:
    """Hand the community's home to the node with identity key ``to`` (only its home may)."""

    def fn(tx: Tx) -> Event:
        home = community_home(tx.conn, community)
        if home is None:
            raise HomeError(f"this node holds no community {community}")
        if home != node.identity.node_public:
            raise HomeError(f"only the community's home node can hand it off (its home is {home.hex()})")
        if to == home:
            raise HomeError("the community is already homed there")
        return tx.append(HANDOFF, HomeHandoff(reason=reason), community=community, target=to.hex())

    return await node.events.transaction(fn)


async def move_account(node: Node, user_id: str, to: bytes, url: str) -> Event:
    """Move an account homed here to the node ``to`` (reachable at ``url``)."""

    def fn(tx: Tx) -> Event:
        home = tx.conn.execute(
            "SELECT node_key FROM sync_user_homes WHERE user_id = ?", (user_id,)
        ).fetchone()
        if home is None:
            raise HomeError(f"this node knows no account {user_id}")
        if bytes(home["node_key"]) != node.identity.node_public:
            raise HomeError(f"account {user_id} is not homed on this node")
        if to == node.identity.node_public:
            raise HomeError("the account is already homed here")
        return tx.append(MOVED, UserMoved(to=to.hex(), url=url), author=user_id, target=user_id)

    return await node.events.transaction(fn)


async def lives_elsewhere(node: Node, user_id: str) -> str | None:
    """The base URL of the account's home if it moved and that is another node now (after one move
    or several), else None (never moved, homed here, or no federation). "" if that URL is unknown.
    Only a move counts: an account homed under another key for any other reason (a node restored
    without its identity key) is not sent away."""
    if not any(loaded.plugin.name == "sync" for loaded in node.plugins):
        return None
    row = await node.db.fetchone(
        "SELECT h.node_key, CASE WHEN m.node_key = h.node_key THEN m.url END AS moved_url,"
        " p.url AS peer_url FROM sync_user_homes h JOIN sync_moved m ON m.user_id = h.user_id"
        " LEFT JOIN sync_peers p ON p.node_key = h.node_key WHERE h.user_id = ?",
        (user_id,),
    )
    if row is None or bytes(row["node_key"]) == node.identity.node_public:
        return None
    return str(row["moved_url"] or row["peer_url"] or "")


async def user_home(node: Node, user_id: str) -> UserHome | None:
    """Where an account lives as this node knows it (None: not known here): its home's key and URL,
    the new home's after a move away from here."""
    moved = await node.db.fetchone("SELECT node_key, url FROM sync_moved WHERE user_id = ?", (user_id,))
    home = await node.db.fetchval("SELECT node_key FROM sync_user_homes WHERE user_id = ?", (user_id,))
    if home is None:
        return None
    key = bytes(home)
    if moved is not None and bytes(moved["node_key"]) == key:
        url: str | None = moved["url"]
    elif key == node.identity.node_public:
        url = node.config.base_url
    else:
        p = await peers.get(node.db, key)
        url = p.url if p else None
    return UserHome(user_id=user_id, node_key=key.hex(), url=url, moved=moved is not None)


def current_home(conn: Connection, user_id: str) -> bytes | None:
    """The identity key of the node the account is homed on now (None: not known here), in a db
    thread."""
    row = conn.execute("SELECT node_key FROM sync_user_homes WHERE user_id = ?", (user_id,)).fetchone()
    return bytes(row["node_key"]) if row is not None else None


def author_home_at(conn: Connection, user_id: str, hlc: int) -> bytes | None:
    """The identity key of the node whose logs may author the account's events at ``hlc``: its
    home as of just before that point of the (hlc, id) order, so every node answers alike for an
    event whatever order events arrived in (None: the account is not known here). In a db thread.

    A move counts from its own position on: an event of the account after it is authored only by
    the new home's logs (the old home's is refused, even if it was written there while cut off),
    and one before it only by the old home's (history the old home wrote is still accepted after
    the move arrived)."""
    left = home_left_after(conn, user_id, hlc)
    return left if left is not None else current_home(conn, user_id)


def home_left_after(conn: Connection, user_id: str, hlc: int) -> bytes | None:
    """The home the account's first move at or after ``hlc`` left (None: no such move). In a db
    thread."""
    first_after = conn.execute(
        "SELECT from_key FROM sync_user_moves WHERE user_id = ? AND hlc >= ? ORDER BY hlc LIMIT 1",
        (user_id, hlc),
    ).fetchone()
    return bytes(first_after["from_key"]) if first_after is not None else None


async def forwarding(node: Node, user_id: str) -> str | None:
    """The new home's base URL, if the account moved away from this node (its forwarding record).
    None elsewhere, and on nodes without federation."""
    if not any(loaded.plugin.name == "sync" for loaded in node.plugins):
        return None
    row = await node.db.fetchone("SELECT url, from_key FROM sync_moved WHERE user_id = ?", (user_id,))
    if row is None or bytes(row["from_key"]) != node.identity.node_public:
        return None
    return str(row["url"])


@dataclass(frozen=True)
class RemoteHome:
    """Where a user from another node lives, for showing ``user@node``."""

    node_key: str  # hex
    node: str  # host[:port] of its base URL; the key's first 16 hex digits if we know no URL


async def remote_homes(node: Node, user_ids: list[str]) -> dict[str, RemoteHome]:
    """The homes of those of ``user_ids`` homed on other nodes (local and unknown users are absent;
    empty without federation)."""
    if not user_ids or not any(loaded.plugin.name == "sync" for loaded in node.plugins):
        return {}
    out: dict[str, RemoteHome] = {}
    for i in range(0, len(user_ids), 500):  # under SQLite's bound-variable limit
        chunk = user_ids[i : i + 500]
        rows = await node.db.fetchall(
            "SELECT h.user_id, h.node_key, coalesce(m.url, p.url) AS url FROM sync_user_homes h"
            " LEFT JOIN sync_peers p ON p.node_key = h.node_key"
            " LEFT JOIN sync_moved m ON m.user_id = h.user_id AND m.node_key = h.node_key"
            f" WHERE h.node_key != ? AND h.user_id IN ({','.join('?' * len(chunk))})",
            (node.identity.node_public, *chunk),
        )
        for r in rows:
            url, key = r["url"], bytes(r["node_key"]).hex()
            host = urlsplit(url).netloc if url else ""
            out[r["user_id"]] = RemoteHome(key, host or key[:16])
    return out
