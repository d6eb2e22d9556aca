"""`cryb peer add|list|status|sync|remove` and `cryb sync verify|state|follow|forks`: the same
library calls the node makes, run against the node's database (the running node picks up peer
changes within a few seconds)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click
import msgspec

from cryb_node.command import emit, run_with_node
from cryb_node.events import decode_row
from cryb_node.node import Node

from . import archive, banpolicy, homes, peers, policy, statehash, vectors
from .parts import SYNC
from .purge import purge_peer_content
from .status import peer_status
from .transport import PeerCallError, PeerClient
from .wire import StateReply, StateRequest


def _run(settings: Any, fn: Any) -> Any:
    cfg = settings.config()
    return run_with_node(cfg, settings.plugins(cfg), fn)


def _emit(data: Any, as_json: bool, text: str) -> None:
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
        return await peers.pin(node.db, key, url, name, now=node.clock.time())

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

    async def go(node: Node) -> tuple[int, list[dict[str, Any]]]:
        # The same report as GET /api/v1/admin/peers, without the live worker state (another process).
        return int(node.clock.time()), [msgspec.to_builtins(s) for s in await peer_status(node)]

    now, data = _run(settings, go)
    lines = [
        f"{d['node_key'][:16]}  {d['url']}  "
        + (f"ok {now - d['last_ok_at']}s ago" if d["last_ok_at"] else "never synced")
        + (f"  last error: {d['last_error']}" if d["last_error"] else "")
        + (f"  FLAGGED: {d['refused_recent']} refused events recently" if d["flagged"] else "")
        for d in data
    ]
    _emit(data, as_json, "\n".join(lines) or "no peers")


@peer.command("remove")
@click.argument("ref")
@click.option(
    "--purge", is_flag=True, help="Also hide what the peer's users wrote in communities homed here."
)
@click.option("--reason", default="content of a removed peer", show_default=True)
@click.pass_obj
def remove(settings: Any, ref: str, purge: bool, reason: str) -> None:
    """Unpin a peer (by name, URL or key prefix): it can no longer call us, we stop calling it."""

    async def go(node: Node) -> str:
        p = peers.find(await peers.list_peers(node.db), ref)
        await peers.remove(node.db, p.node_key)
        if not purge:
            return p.url
        n = await purge_peer_content(node, p.node_key, reason)
        return f"{p.url}; hid {n} messages, posts and comments its users wrote here"

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
        # the plugin's own engine, which starts no workers outside `cryb serve`
        return await node.services.require(SYNC).engine.session(p, reconcile=reconcile)

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
    """Compare state hashes of communities (default: all we follow) with a peer; exit 1 if any differ.
    Only what both nodes may hold is compared (a private channel one of them rightly lacks is left
    out; a private community one of them may not hold is "not shared")."""

    async def go(node: Node) -> list[dict[str, Any]]:
        import aiohttp

        p = peers.find(await peers.list_peers(node.db), ref)
        names = list(communities) or await vectors.follows(node.db)
        out = []
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            client = PeerClient(http, node.identity.node_key, p, node.clock)
            for cid in names:
                # only what both may hold is compared: the peer adds what we may not hold
                ent = await policy.entitlement(node, p.node_key, cid)
                req = StateRequest(community=cid, exclude=await ent.unreadable_channels(), shared=ent.whole)
                theirs = await client.call("state", req, StateReply)
                mine = await statehash.community_state(
                    node, cid, exclude=theirs.excluded, shared=theirs.shared, withhold=ent.withholds
                )
                differ = sorted(
                    k for k in {*mine.parts, *theirs.parts} if mine.parts.get(k) != theirs.parts.get(k)
                )
                # This node's own bans withdraw content the peer shows: a difference they explain.
                hidden = await node.db.fetchval(
                    "SELECT count(*) FROM event_refusals WHERE community = ? AND code = ?",
                    (cid, banpolicy.CODE),
                )
                out.append(
                    {"community": cid, "same": mine.state_hash == theirs.state_hash, "local": mine.state_hash,
                     "peer": theirs.state_hash, "local_events": mine.events, "peer_events": theirs.events,
                     "differing": differ, "shared": theirs.shared, "excluded_channels": len(theirs.excluded),
                     "hidden_here": hidden}
                )  # fmt: skip
        return out

    try:
        rows = _run(settings, go)
    except (peers.PeerError, PeerCallError) as err:
        _fail(str(err))
    _emit(rows, as_json, "\n".join(_verified(r) for r in rows) or "no communities")
    if not all(r["same"] for r in rows):
        sys.exit(1)


def _verified(r: dict[str, Any]) -> str:
    if not r["shared"]:
        return f"not shared  {r['community']}  (one of the nodes may not hold it)"
    return (
        f"{'same' if r['same'] else 'DIFFERENT'}  {r['community']}  {r['local'][:16]} vs {r['peer'][:16]}"
        f"  events {r['local_events']}/{r['peer_events']}"
        + (f"  ({', '.join(r['differing'])})" if r["differing"] else "")
        + (f"  [{r['excluded_channels']} private channels left out]" if r["excluded_channels"] else "")
        + (f"  [{r['hidden_here']} events hidden here by node bans]" if r.get("hidden_here") else "")
    )


@sync_group.command("follow")
@click.argument("community")
@click.pass_obj
def follow(settings: Any, community: str) -> None:
    """Replicate a community from peers (before this node holds any of its events)."""

    async def go(node: Node) -> None:
        await node.db.write(
            lambda conn: conn.execute(
                "INSERT OR IGNORE INTO sync_follows (community_id, followed_at) VALUES (?, ?)",
                (community, int(node.clock.time())),
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
            {"origin": bytes(r["origin"]).hex(), "seq": r["seq"], "existing": bytes(r["existing_id"]).hex(),
             "conflicting": bytes(r["event_id"]).hex(),
             "from_peer": bytes(r["peer"]).hex() if r["peer"] else None, "detected_at": r["detected_at"]}
            for r in rows
        ]  # fmt: skip

    data = _run(settings, go)
    _emit(data, as_json, "\n".join(f"{d['origin'][:16]} seq {d['seq']}" for d in data) or "no forks")


@click.group("export")
def export_group() -> None:
    """Export a community or an account as a signed archive of its events (for `cryb import`)."""


def _export(settings: Any, subject: str, ref: str, out: str) -> None:
    from pathlib import Path

    async def go(node: Node) -> tuple[str, bytes]:
        subject_id = ref if subject == "community" else await _account_id(node, ref)
        return subject_id, await archive.export(node, subject, subject_id)

    try:
        subject_id, data = _run(settings, go)
    except archive.ArchiveError as err:
        _fail(str(err))
    Path(out).write_bytes(data)
    click.echo(f"exported {subject} {subject_id} to {out} ({len(data)} bytes)")


async def _account_id(node: Node, ref: str) -> str:
    """A user id, or the username of an account this node holds."""
    rows = await node.db.fetchall(
        "SELECT e.pos, e.id, e.body, c.content FROM events e JOIN event_content c ON c.event_id = e.id"
        " WHERE e.community IS NULL AND e.kind = 'user.created'"
    )
    for row in rows:
        ev = decode_row(node.registry, row)
        if ev.body.target == ref or getattr(ev.payload, "username", None) == ref:
            return ev.body.target or ref
    return ref


@export_group.command("community")
@click.argument("community")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The archive file.")
@click.pass_obj
def export_community(settings: Any, community: str, out: str) -> None:
    """A community's events, its members' profiles and the log certificates to verify them."""
    _export(settings, "community", community, out)


@export_group.command("account")
@click.argument("user")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The archive file.")
@click.pass_obj
def export_account(settings: Any, user: str, out: str) -> None:
    """An account's profile events and everything it wrote in communities (by id or username)."""
    _export(settings, "account", user, out)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def import_cmd(settings: Any, file: str, as_json: bool) -> None:
    """Verify an archive from `cryb export` completely, then store its events (refused whole if any
    check fails: signatures, content hashes, manifest, missing or reordered events)."""
    from pathlib import Path

    data = Path(file).read_bytes()
    try:
        r = _run(settings, lambda node: archive.import_archive(node, data))
    except archive.ArchiveError as err:
        _fail(f"archive refused, nothing imported: {err}")
    out = {
        "subject": r.subject,
        "id": r.subject_id,
        "exported_by": r.exported_by,
        "events": r.events,
        "stored": r.stored,
        "duplicates": r.duplicates,
        "rejected": len(r.rejected),
        "forks": r.forks,
    }
    _emit(out, as_json, " ".join(f"{k}={v}" for k, v in out.items()))
    for eid, reason in r.rejected[:20]:
        click.echo(f"rejected {eid[:16]}: {reason}", err=True)


@sync_group.command("handoff")
@click.argument("community")
@click.argument("ref")
@click.option("--reason", default="", help="Why (kept in the signed event).")
@click.pass_obj
def handoff(settings: Any, community: str, ref: str, reason: str) -> None:
    """Hand a community homed here to a pinned peer (name, URL or key prefix): from then on the
    peer's admins hold node-admin authority over it, and ours no longer do."""

    async def go(node: Node) -> str:
        p = peers.find(await peers.list_peers(node.db), ref)
        await homes.hand_off(node, community, p.node_key, reason)
        return p.url

    try:
        click.echo(f"{community} is now homed on {_run(settings, go)}")
    except (peers.PeerError, homes.HomeError) as err:
        _fail(str(err))


@sync_group.command("move-account")
@click.argument("user")
@click.argument("ref")
@click.pass_obj
def move_account(settings: Any, user: str, ref: str) -> None:
    """Move an account homed here (id or username) to a pinned peer: a signed user.moved event
    re-homes it on every node, and this node keeps a forwarding record. Export its history first
    (`cryb export account`) and import it there."""

    async def go(node: Node) -> str:
        p = peers.find(await peers.list_peers(node.db), ref)
        await homes.move_account(node, await _account_id(node, user), p.node_key, p.url)
        return p.url

    try:
        url = _run(settings, go)
        click.echo(f"{user} now lives on {url}; sign-in here is refused from now on (410 account_moved).")
        click.echo(f"Its owner signs in there once that node's admin runs `cryb user reset-password {user}`.")
    except (peers.PeerError, homes.HomeError) as err:
        _fail(str(err))
