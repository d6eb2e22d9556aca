"""Node bans: this node's own refusal of a remote user or of a whole peer node (like a Synapse
federation domain block or a Lemmy instance block), kept apart from the shared rule book.

The rule book's verdicts are consensus: every node decides every event alike. A node ban is this
node's decision alone. The banned party's events are still stored and relayed (each origin's log
must stay contiguous, or everything after a gap would stall, here and on the peers we relay to),
but what they write is refused here (banpolicy.py) and what this node already holds of them is
withdrawn from its projections. In the communities homed here it is also hidden for everyone, by
node-admin moderator removals that replicate (purge.py); those stay when the ban is removed.

Banning a node also unpins it: its federation calls are answered 403 ``node_banned``, this node
stops calling it, and `cryb peer add` refuses its key until the ban is removed.

The HTTP routes (ban_routes.py) and `cryb ban` (ban_cli.py) call these functions.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec
from msgspec import Meta

from cryb_node.clock import new_id
from cryb_node.db import Connection, Database
from cryb_node.events import EventBody, Tx
from cryb_node.problems import Problem
from cryb_node.services import AUDIT, SEARCH_INDEX

from . import banpolicy, peers
from .homes import remote_homes
from .parts import SYNC
from .purge import homed_on, remove_in_home_communities

if TYPE_CHECKING:
    from cryb_node.node import Node

log = logging.getLogger(__name__)
_KEY = re.compile(r"[0-9a-fA-F]{64}")
_decode_body = msgspec.msgpack.Decoder(EventBody).decode
_CREATED = (
    "SELECT e.body, c.content FROM events e JOIN event_content c ON c.event_id = e.id"
    " WHERE e.kind = 'user.created' AND e.community IS NULL"
)


BanKind = Literal["user", "node"]


class NodeBanIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: BanKind
    # user: ``name@home`` or a user id; node: its key (64 hex digits) or a pinned peer's URL or name
    target: Annotated[str, Meta(min_length=1, max_length=300)]
    reason: Annotated[str, Meta(max_length=500)] = ""


class NodeBan(msgspec.Struct, kw_only=True):
    id: str
    kind: str  # user | node
    target: str  # the user id, or the node key (hex)
    label: str  # name@home, or the node's URL
    reason: str
    created_by: str | None  # the admin who banned; None from the cryb CLI
    created_at: int  # unix seconds
    hidden: int = 0  # their events refused here now (code node_banned, whichever ban refused them)
    removed: int = 0  # moderator removals appended in communities homed here (when added)


class NodeBanList(msgspec.Struct):
    bans: list[NodeBan]


class Unbanned(msgspec.Struct):
    id: str
    restored: int  # events applied again


# -- naming the target ----------------------------------------------------------------------------


def _usernames(rows: list, node: Node) -> list[tuple[str, str]]:
    """(user id, username) from user.created events (body, content): a username never changes, and
    an erased account's payload is gone, and with it its name."""
    out = []
    for r in rows:
        target = _decode_body(r["body"]).target
        name = getattr(node.registry.decode_payload("user.created", r["content"]), "username", None)
        if isinstance(name, str) and target is not None:
            out.append((target, name))
    return out


def _local(detail: str) -> Problem:
    return Problem(
        "local_user",
        400,
        f"{detail} is an account of this node: disable or erase the account instead of banning it",
        field="target",
    )


async def resolve_user(node: Node, target: str) -> tuple[str, str]:
    """(user id, name@home) of the remote user ``target`` names: ``name@home`` (home: the host of
    its node's URL, or its key) or a user id. A user of this node is refused (local_user)."""
    me = node.identity.node_public
    name, at, home = target.strip().removeprefix("@").partition("@")
    known = _usernames(await node.db.fetchall(_CREATED), node)
    homed = await node.db.fetchval("SELECT node_key FROM sync_user_homes WHERE user_id = ?", (name,))
    if not at and homed is not None:  # a user id
        if bytes(homed) == me:
            raise _local(name)
        homes = await remote_homes(node, [name])
        username = next((n for u, n in known if u == name), name)
        return name, f"{username}@{homes[name].node}" if name in homes else username
    ids = [u for u, n in known if n.lower() == name.lower()]
    homes = await remote_homes(node, ids)
    ours = [u for u in ids if u not in homes]
    here = {urlsplit(node.config.base_url or "").netloc.lower(), me.hex()} - {""}
    if ours and (not at or home.lower() in here):
        raise _local(target.strip())
    if not at:
        if ids:
            raise Problem("name_needs_home", 400, "name a user of another node as name@home", field="target")
        raise Problem("not_found", 404, f"no user {name!r} is known here", field="target")
    hits = [u for u in ids if u in homes and home.lower() in (homes[u].node.lower(), homes[u].node_key)]
    if len(hits) > 1:
        raise Problem("name_ambiguous", 409, "several users have this name and home", field="target")
    if not hits:
        raise Problem("not_found", 404, f"no user {target.strip()!r} is known here", field="target")
    return hits[0], f"{name}@{homes[hits[0]].node}"


async def resolve_node(node: Node, target: str) -> tuple[bytes, str]:
    """(node key, label) of the node ``target`` names: its key, or a pinned peer's URL or name."""
    t = target.strip()
    if _KEY.fullmatch(t):
        key = bytes.fromhex(t)
        pinned = await peers.get(node.db, key)
        label = pinned.url if pinned else t.lower()[:16]
    else:
        try:
            pinned = peers.find(await peers.list_peers(node.db), t)
        except peers.PeerError as err:
            raise Problem(
                "not_found", 404, f"{err}: name a node by its key or a pinned peer's URL", field="target"
            ) from None
        key, label = pinned.node_key, pinned.url
    if key == node.identity.node_public:
        raise Problem("own_node", 400, "that is this node's own key", field="target")
    return key, label


# -- adding, listing, removing --------------------------------------------------------------------


def _audit(
    node: Node, conn: Connection, action: str, actor_id: str | None, ip: str | None, **kw: Any
) -> None:
    audit = node.services.get(AUDIT)
    if audit is not None:
        audit.record(conn, action, actor_id=actor_id, ip=ip, via="api" if actor_id else "cli", **kw)


def _note_reindex(conn: Connection, users: set[str]) -> None:
    if users:
        conn.execute("INSERT INTO sync_ban_reindex (users) VALUES (?)", (json.dumps(sorted(users)),))


async def add(node: Node, body: NodeBanIn, *, actor_id: str | None = None, ip: str | None = None) -> NodeBan:
    """Ban a remote user or a node (see the module's docstring for what follows)."""
    user_id: str | None = None
    node_key: bytes | None = None
    if body.kind == "user":
        user_id, label = await resolve_user(node, body.target)
    else:
        node_key, label = await resolve_node(node, body.target)
    reason = body.reason.strip() or "banned on this node"
    ban = NodeBan(
        id=new_id(),
        kind=body.kind,
        target=user_id or (node_key or b"").hex(),
        label=label,
        reason=reason,
        created_by=actor_id,
        created_at=int(node.clock.time()),
    )

    def fn(tx: Tx) -> NodeBan:
        conn = tx.conn
        if conn.execute(
            "SELECT 1 FROM sync_node_bans WHERE user_id = ? OR node_key = ?", (user_id, node_key)
        ).fetchone():
            raise Problem("already_banned", 409, f"{label} is already banned", field="target")
        conn.execute(
            "INSERT INTO sync_node_bans (id, kind, user_id, node_key, label, reason, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (ban.id, ban.kind, user_id, node_key, label, reason, actor_id, ban.created_at),
        )
        if node_key is not None:
            conn.execute("DELETE FROM sync_peers WHERE node_key = ?", (node_key,))
        users = [user_id] if user_id is not None else homed_on(conn, node_key or b"")
        ban.removed = remove_in_home_communities(node, tx, users, reason)
        _, authors = banpolicy.hide(
            conn, node.registry, at=int(node.clock.time()), user_id=user_id, node_key=node_key
        )
        # all of theirs refused here now (some may have been already: another ban, their home's)
        ban.hidden = conn.execute(
            f"SELECT {_HIDDEN} FROM sync_node_bans b WHERE b.id = ?1", (ban.id,)
        ).fetchone()[0]
        _note_reindex(conn, {*users, *authors})
        _audit(node, conn, "node_ban.added", actor_id, ip, user_id=user_id, ban_id=ban.id, kind=ban.kind,
               target=ban.target, label=label, reason=reason)  # fmt: skip
        return ban

    out = await node.events.transaction(fn)
    await _after_change(node)
    return out


async def remove(node: Node, ban_id: str, *, actor_id: str | None = None, ip: str | None = None) -> Unbanned:
    """Lift a ban: their events are accepted again from now on, and what this node refused of them
    is decided again and shown where the rule book allows it. Moderator removals made in the
    communities homed here stay (a moderator may approve them one by one); a node stays unpinned."""

    def fn(conn: Connection) -> Unbanned:
        row = conn.execute(
            "SELECT kind, user_id, node_key, label FROM sync_node_bans WHERE id = ?", (ban_id,)
        ).fetchone()
        if row is None:
            raise Problem("not_found", 404, "no such ban")
        kind, user_id, node_key, label = row["kind"], row["user_id"], row["node_key"], row["label"]
        conn.execute("DELETE FROM sync_node_bans WHERE id = ?", (ban_id,))
        restored, authors = banpolicy.release(conn, node.events)
        users = {user_id} if user_id is not None else set(homed_on(conn, bytes(node_key)))
        _note_reindex(conn, users | authors)
        _audit(node, conn, "node_ban.removed", actor_id, ip, user_id=user_id, ban_id=ban_id, kind=kind,
               label=label, restored=restored)  # fmt: skip
        return Unbanned(id=ban_id, restored=restored)

    out = await node.db.write(fn)
    await _after_change(node)
    return out


# How many events a ban's target has refused here now (banpolicy.CODE), for the ban ``b``.
_HIDDEN = (
    f"CASE b.kind WHEN 'user' THEN (SELECT count(*) FROM event_refusals r WHERE r.code = '{banpolicy.CODE}'"
    " AND r.author = b.user_id) ELSE (SELECT count(*) FROM event_refusals r JOIN log_keys k"
    f" ON k.origin = r.origin WHERE r.code = '{banpolicy.CODE}' AND k.node_key = b.node_key) END"
)
_LIST = (
    "SELECT b.id, b.kind, b.user_id, b.node_key, b.label, b.reason, b.created_by, b.created_at,"
    f" {_HIDDEN} AS hidden FROM sync_node_bans b ORDER BY b.created_at DESC, b.id DESC"
)


async def listing(db: Database) -> list[NodeBan]:
    rows = await db.fetchall(_LIST)
    return [
        NodeBan(
            id=r["id"],
            kind=r["kind"],
            target=r["user_id"] or bytes(r["node_key"]).hex(),
            label=r["label"],
            reason=r["reason"],
            created_by=r["created_by"],
            created_at=r["created_at"],
            hidden=r["hidden"],
        )
        for r in rows
    ]


def node_banned(conn: Connection, node_key: bytes) -> bool:
    return conn.execute("SELECT 1 FROM sync_node_bans WHERE node_key = ?", (node_key,)).fetchone() is not None


async def is_node_banned(db: Database, node_key: bytes) -> bool:
    return bool(await db.fetchval("SELECT 1 FROM sync_node_bans WHERE node_key = ?", (node_key,)))


# -- the serving node's side ----------------------------------------------------------------------


async def _after_change(node: Node) -> None:
    """In the serving node: stop the banned node's worker now and bring search up to date (a CLI
    process leaves both to the serving node's jobs: peers within seconds, reindex_pending)."""
    if not node.serving:
        return
    await node.services.require(SYNC).engine.refresh_peers()
    try:
        await reindex_pending(node)
    except Exception:  # the ban stands; the job tries again in a few seconds
        log.exception("search did not take the ban's changes yet")


async def reindex_pending(node: Node) -> int:
    """Have the search index re-read the documents of the users bans changed (serving node only:
    it owns the index). Returns how many users."""
    rows = await node.db.fetchall("SELECT seq, users FROM sync_ban_reindex ORDER BY seq")
    if not rows:
        return 0
    users = sorted({u for r in rows for u in json.loads(r["users"])})
    index = node.services.get(SEARCH_INDEX)
    if index is not None:
        await index.recheck_authors(users)
    last = rows[-1]["seq"]
    await node.db.write(lambda conn: conn.execute("DELETE FROM sync_ban_reindex WHERE seq <= ?", (last,)))
    return len(users)
