"""`cryb peer add|list|status|sync|remove` and `cryb sync verify|state|follow|forks`: the same
library calls the node makes, run against the node's database (the running node picks up peer
changes within a few seconds)."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import click

from cryb_node.node import Node

from . import peers, statehash, vectors
from .engine import Engine
from .transport import PeerCallError, PeerClient
from .wire import StateReply, SyncSettings


def _run(settings: Any, fn: Any) -> Any:
    from cryb_node.cli import run_with_node

    cfg = settings.config()
    return run_with_node(cfg, settings.plugins(cfg), fn)


def _emit(data: Any, as_json: bool, text: str) -> None:
    from cryb_node.cli import emit

    emit(data, as_json, lambda _: text)


def _fail(msg: str, code: int = 1) -> None:
    click.echo(f"cryb: {msg}", err=True)
    sys.exit(code)


@click.group()
def peer() -> None:
    """Pinned peer nodes (federation)."""


@peer.command("add")
@click.argument("url")
@click.option("--key", "key_hex", help="The peer's node key (hex); taken as given instead of confirmed.")
@click.option("--name", default="", help="A short name for the peer.")
@click.option("--yes", is_flag=True, help="Pin the fetched key without asking.")
@click.pass_obj
def add(settings: Any, url: str, key_hex: str | None, name: str, yes: bool) -> None:
    """Pin the node at URL: fetch its key from /.well-known/cryb-node and confirm it (or give --key)."""
    try:
        url = peers.normalise_url(url)
        key = bytes.fromhex(key_hex) if key_hex else None
    except (peers.PeerError, ValueError) as err:
        _fail(str(err), 2)
    if key is None:
        try:
            card = asyncio.run(peers.fetch_card(url))
        except peers.PeerError as err:
            _fail(str(err))
        key = bytes.fromhex(card.node_key)
        click.echo(f"{url} is {card.name!r} (cryb {card.version}), node key {card.node_key}")
        if not yes and not click.confirm("Pin this key?"):
            _fail("not pinned")
        name = name or card.name

    async def go(node: Node) -> peers.Peer:
        if key == node.identity.node_public:
            raise peers.PeerError("that is this node's own key")
        return await peers.pin(node.db, key, url, name)

    try:
        pinned = _run(settings, go)
    except peers.PeerError as err:
        _fail(str(err), 2)
    click.echo(f"pinned {pinned.url} as {pinned.key_hex}")


@peer.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_(settings: Any, as_json: bool) -> None:
    """Pinned peers."""
    rows = _run(settings, lambda node: peers.list_peers(node.db))
    data = [{"node_key": p.key_hex, "url": p.url, "name": p.name, "added_at": p.added_at} for p in rows]
    _emit(data, as_json, "\n".join(f"{p.key_hex[:16]}  {p.url}  {p.name}" for p in rows) or "no peers")


@peer.command("status")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def status(settings: Any, as_json: bool) -> None:
    """Each peer's last successful session and last error (as the running node recorded them)."""

    async def go(node: Node) -> list[dict[str, Any]]:
        forks = await node.db.fetchval("SELECT count(*) FROM sync_forks")
        out = []
        for p in await peers.list_peers(node.db):
            out.append(
                {"node_key": p.key_hex, "url": p.url, "name": p.name, "last_ok_at": p.last_ok_at,
                 "last_error": p.last_error, "forks_recorded": forks}
            )  # fmt: skip
        return out

    data = _run(settings, go)
    now = int(time.time())
    lines = [
        f"{d['node_key'][:16]}  {d['url']}  "
        + (f"ok {now - d['last_ok_at']}s ago" if d["last_ok_at"] else "never synced")
        + (f"  last error: {d['last_error']}" if d["last_error"] else "")
        for d in data
    ]
    _emit(data, as_json, "\n".join(lines) or "no peers")


@peer.command("remove")
@click.argument("ref")
@click.pass_obj
def remove(settings: Any, ref: str) -> None:
    """Unpin a peer (by name, URL or key prefix): it can no longer call us, we stop calling it."""

    async def go(node: Node) -> str:
        p = peers.find(await peers.list_peers(node.db), ref)
        await peers.remove(node.db, p.node_key)
        return p.url

    try:
        click.echo(f"removed {_run(settings, go)}")
    except peers.PeerError as err:
        _fail(str(err))


@peer.command("sync")
@click.argument("ref")
@click.option("--reconcile", is_flag=True, help="Also run range reconciliation.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def sync_now(settings: Any, ref: str, reconcile: bool, as_json: bool) -> None:
    """Run one session with a peer now: pull and push every shared community."""

    async def go(node: Node) -> Any:
        p = peers.find(await peers.list_peers(node.db), ref)
        eng = Engine(node, SyncSettings(auto=False))
        await eng.open()
        try:
            return await eng.session(p, reconcile=reconcile)
        finally:
            await eng.close()

    try:
        r = _run(settings, go)
    except (peers.PeerError, PeerCallError) as err:
        _fail(str(err))
    data = {"pulled": r.pulled, "pushed": r.pushed, "repaired": r.repaired, "rejected": r.rejected,
            "forks": r.forks, "scopes": r.scopes}  # fmt: skip
    _emit(data, as_json, " ".join(f"{k}={v if k != 'scopes' else len(v)}" for k, v in data.items()))


@click.group("sync")
def sync_group() -> None:
    """Federation state: convergence checks, follows, fork evidence."""


@sync_group.command("state")
@click.argument("community")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def state(settings: Any, community: str, as_json: bool) -> None:
    """This node's state hash of a community."""
    st = _run(settings, lambda node: statehash.community_state(node, community))
    _emit(st, as_json, f"{st.state_hash}  events={st.events}")


@sync_group.command("verify")
@click.argument("ref")
@click.argument("communities", nargs=-1)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def verify(settings: Any, ref: str, communities: tuple[str, ...], as_json: bool) -> None:
    """Compare state hashes of communities (default: all we follow) with a peer; exit 1 if any differ."""

    async def go(node: Node) -> list[dict[str, Any]]:
        import aiohttp

        p = peers.find(await peers.list_peers(node.db), ref)
        names = list(communities) or await vectors.follows(node.db)
        out = []
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            client = PeerClient(http, node.identity.node_key, p)
            for cid in names:
                mine = await statehash.community_state(node, cid)
                theirs = await client.call("state", cid, StateReply)
                differ = sorted(
                    k for k in {*mine.parts, *theirs.parts} if mine.parts.get(k) != theirs.parts.get(k)
                )
                out.append(
                    {"community": cid, "same": mine.state_hash == theirs.state_hash, "local": mine.state_hash,
                     "peer": theirs.state_hash, "local_events": mine.events, "peer_events": theirs.events,
                     "differing": differ}
                )  # fmt: skip
        return out

    try:
        rows = _run(settings, go)
    except (peers.PeerError, PeerCallError) as err:
        _fail(str(err))
    text = "\n".join(
        f"{'same' if r['same'] else 'DIFFERENT'}  {r['community']}  {r['local'][:16]} vs {r['peer'][:16]}"
        f"  events {r['local_events']}/{r['peer_events']}"
        + (f"  ({', '.join(r['differing'])})" if r["differing"] else "")
        for r in rows
    )
    _emit(rows, as_json, text or "no communities")
    if not all(r["same"] for r in rows):
        sys.exit(1)


@sync_group.command("follow")
@click.argument("community")
@click.pass_obj
def follow(settings: Any, community: str) -> None:
    """Replicate a community from peers (before this node holds any of its events)."""

    async def go(node: Node) -> None:
        await node.db.write(
            lambda conn: conn.execute(
                "INSERT OR IGNORE INTO sync_follows (community_id, followed_at) VALUES (?, ?)",
                (community, int(time.time())),
            )
        )

    _run(settings, go)
    click.echo(f"following {community}")


@sync_group.command("forks")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def forks(settings: Any, as_json: bool) -> None:
    """Fork evidence: two signed events at one (origin, seq)."""

    async def go(node: Node) -> list[dict[str, Any]]:
        rows = await node.db.fetchall(
            "SELECT origin, seq, existing_id, event_id, peer, detected_at FROM sync_forks"
            " ORDER BY detected_at"
        )
        return [
            {"origin": bytes(r[0]).hex(), "seq": r[1], "existing": bytes(r[2]).hex(),
             "conflicting": bytes(r[3]).hex(), "from_peer": bytes(r[4]).hex() if r[4] else None,
             "detected_at": r[5]}
            for r in rows
        ]  # fmt: skip

    data = _run(settings, go)
    _emit(data, as_json, "\n".join(f"{d['origin'][:16]} seq {d['seq']}" for d in data) or "no forks")
