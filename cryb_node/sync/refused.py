"""Refused events as evidence against the node that signed them: listed by `cryb sync refused`,
counted per peer in /metrics and `cryb peer status`, and a peer whose log keeps carrying events the
rule book refuses is flagged: its batches are turned away until the count falls (its circuit opens).

A refusal is charged to the node whose log key signed the event (the one that forged it), not to
the peer that relayed it. Honest nodes produce a few (a post racing a ban across a partition), so
the flag needs ``refused_limit`` of them within ``refused_window_s``. Refusals of this node's own
policy (a node ban: code ``node_banned``) are listed too but never count towards the flag.
"""

from __future__ import annotations

from typing import Any

import click
import msgspec

from cryb_node.command import run_with_node
from cryb_node.db import Connection, Database
from cryb_node.refusals import LOCAL

from . import peers


class RefusedEvent(msgspec.Struct):
    event_id: str
    kind: str
    community: str | None
    author: str | None
    code: str
    detail: str
    refused_at: int
    node_key: str  # the node whose log signed it
    peer: str  # its pinned name or URL, "" if not a peer (or this node)


_SELECT = (
    "SELECT r.event_id, r.kind, r.community, r.author, r.code, r.detail, r.refused_at, k.node_key,"
    " coalesce(nullif(p.name, ''), p.url, '') AS peer FROM event_refusals r"
    " JOIN log_keys k ON k.origin = r.origin LEFT JOIN sync_peers p ON p.node_key = k.node_key"
)


async def listing(db: Database, node_key: bytes | None = None, limit: int = 100) -> list[RefusedEvent]:
    where, args = ("WHERE k.node_key = ?", [node_key]) if node_key is not None else ("", [])
    rows = await db.fetchall(
        f"{_SELECT} {where} ORDER BY r.refused_at DESC, r.event_id LIMIT ?", (*args, limit)
    )
    return [
        RefusedEvent(
            event_id=bytes(r["event_id"]).hex(),
            kind=r["kind"],
            community=r["community"],
            author=r["author"],
            code=r["code"],
            detail=r["detail"],
            refused_at=r["refused_at"],
            node_key=bytes(r["node_key"]).hex(),
            peer=r["peer"],
        )
        for r in rows
    ]


# This node's own refusals (a node ban) are no evidence against the signer: an honest peer whose
# user is banned here would otherwise be flagged and turned away for that user's messages.
_SHARED = f"r.code NOT IN ({', '.join(repr(c) for c in sorted(LOCAL))})"


def recent(conn: Connection, node_key: bytes, window_s: float, now: float) -> int:
    """Events signed by ``node_key``'s logs that the rule book refused in the ``window_s`` seconds
    before ``now`` (the node's clock, unix seconds)."""
    return int(
        conn.execute(
            "SELECT count(*) FROM event_refusals r JOIN log_keys k ON k.origin = r.origin"
            f" WHERE k.node_key = ? AND r.refused_at >= ? AND {_SHARED}",
            (node_key, int(now - window_s)),
        ).fetchone()[0]
    )


async def recent_by_node(db: Database, window_s: float, now: float) -> dict[bytes, int]:
    """``recent`` for every signing node at once."""
    rows = await db.fetchall(
        "SELECT k.node_key, count(*) AS n FROM event_refusals r JOIN log_keys k ON k.origin = r.origin"
        f" WHERE r.refused_at >= ? AND {_SHARED} GROUP BY k.node_key",
        (int(now - window_s),),
    )
    return {bytes(r["node_key"]): int(r["n"]) for r in rows}


async def by_node_and_code(db: Database) -> list[tuple[bytes, str, int]]:
    rows = await db.fetchall(
        "SELECT k.node_key, r.code, count(*) AS n FROM event_refusals r JOIN log_keys k"
        " ON k.origin = r.origin GROUP BY k.node_key, r.code"
    )
    return [(bytes(r["node_key"]), r["code"], int(r["n"])) for r in rows]


def command() -> click.Command:
    """`cryb sync refused`."""

    @click.command("refused")
    @click.option(
        "--peer", "peer_ref", default=None, help="Only events signed by this peer (name, URL or key)"
    )
    @click.option("--limit", default=100, show_default=True)
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def refused_cmd(settings: Any, peer_ref: str | None, limit: int, as_json: bool) -> None:
        """Events this node stored but refused (forged or unauthorised), newest first."""

        async def go(node: Any) -> list[RefusedEvent]:
            key = None
            if peer_ref is not None:
                key = peers.find(await peers.list_peers(node.db), peer_ref).node_key
            return await listing(node.db, key, limit)

        try:
            cfg = settings.config()
            rows = run_with_node(cfg, settings.plugins(cfg), go)
        except peers.PeerError as err:
            raise click.ClickException(str(err)) from None
        if as_json:
            click.echo(msgspec.json.encode(rows).decode())
            return
        for r in rows:
            who = r.peer or r.node_key[:16]
            click.echo(f"{r.event_id[:16]}  {r.kind:<16} {r.code:<20} {who}  {r.author or '-'}  {r.detail}")
        if not rows:
            click.echo("no refused events")

    return refused_cmd
