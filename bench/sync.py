"""Federation figures (not pass/fail): a node offline for N events catches up from a peer.

Rows (medians over --repeat runs, each with its reference measured in the same run):
  - catch-up events/s (one session: vectors, msgpack batches over loopback HTTP, bulk verify, one
    transaction per batch, projections), against the bare ed25519 verify rate of those events; the
    peer serving the events runs in its own process, as a peer does
  - seconds until both nodes show the same state hash after the link heals (background sync on),
    against the catch-up session time alone
Usage: .venv/bin/python bench/sync.py [--events 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import secrets
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp
import nacl.signing
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryb_node import config as configmod  # noqa: E402
from cryb_node.app import build_app  # noqa: E402
from cryb_node.appkeys import NODE  # noqa: E402
from cryb_node.events import DOMAIN  # noqa: E402
from cryb_node.sync import peers, statehash  # noqa: E402
from cryb_node.sync.parts import SYNC  # noqa: E402


def cfg(data: Path, auto: bool) -> configmod.Config:
    return configmod.convert(
        {
            "node": {"data_dir": str(data)},
            "log": {"level": "ERROR"},
            "rate_limits": {"enabled": False},
            "plugin": {
                "users": {"argon2_opslimit": 1, "argon2_memlimit": 8192},
                "sync": {
                    "auto": auto,
                    "session_interval_s": 0.5,
                    "backoff_initial_s": 0.1,
                    "backoff_max_s": 0.5,
                },
            },
        }
    )


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def peer_a(n: int, data: Path, conn: Connection) -> None:
    """Node a (in its own process, as a peer is): n messages in one community, served until told.

    Sends (url, node public key, community id, verify rate of its events, state hash); then waits
    for (b's public key, b's url), pins b and answers "pinned"; stops at "stop"."""
    from cryb_plugins.content.events import MessageCreate

    a_app = build_app(cfg(data, False))
    a_run, a_url = await serve(a_app)
    a = a_app[NODE]
    async with aiohttp.ClientSession() as http:
        name = f"o{secrets.token_hex(3)}"
        r = await http.post(
            a_url + "/api/v1/auth/register",
            json={"username": name, "email": f"{name}@x.test", "password": "pw-pw-pw-pw-"},
        )
        body = await r.json()
        tok, uid = body["access_token"], body["user"]["id"]
        h = {"Authorization": f"Bearer {tok}"}
        com = await (
            await http.post(a_url + "/api/v1/communities", json={"name": "b", "public": True}, headers=h)
        ).json()
        chans = await (await http.get(a_url + f"/api/v1/communities/{com['id']}/channels", headers=h)).json()
    cid = com["id"]
    text = next(c["id"] for c in chans["channels"] if c["kind"] == "text")
    for start in range(0, n, 500):
        await a.events.transaction(
            lambda tx, s=start: [
                tx.append("message.create", MessageCreate(channel_id=text, content=f"message {i}"),
                          community=cid, author=uid, target=f"m{s + i:08d}x")
                for i in range(min(500, n - s))
            ]
        )  # fmt: skip
    rows = await a.db.fetchall("SELECT body, sig, origin FROM events WHERE community = ?", (cid,))
    t0 = time.perf_counter()
    for body, sig, origin in rows:
        nacl.signing.VerifyKey(bytes(origin)).verify(DOMAIN + bytes(body), bytes(sig))
    verify_rate = len(rows) / (time.perf_counter() - t0)
    want = (await statehash.community_state(a, cid)).state_hash
    loop = asyncio.get_running_loop()
    conn.send((a_url, a.identity.node_public, cid, verify_rate, want))
    b_key, b_url = await loop.run_in_executor(None, conn.recv)
    await peers.pin(a.db, b_key, b_url, "b", now=a.clock.time())
    conn.send("pinned")
    await loop.run_in_executor(None, conn.recv)
    await a_run.cleanup()


def run_peer_a(n: int, data: str, conn: Connection) -> None:
    asyncio.run(peer_a(n, Path(data), conn))


async def one_run(n: int, auto: bool) -> tuple[float, float, float]:
    """(catch-up events/s, verify/s of the same events, seconds to converge or catch up).

    The peer a runs in its own process, as a real peer does: node b's figures are b's work alone
    (verify, store, project, its bus consumers), not b's and a's sharing one interpreter."""
    with tempfile.TemporaryDirectory() as tmp:
        ours, theirs = multiprocessing.Pipe()
        proc = multiprocessing.get_context("spawn").Process(
            target=run_peer_a, args=(n, str(Path(tmp) / "a"), theirs), daemon=True
        )
        proc.start()
        loop = asyncio.get_running_loop()
        a_url, a_key, cid, verify_rate, want = await loop.run_in_executor(None, ours.recv)

        b_app = build_app(cfg(Path(tmp) / "b", auto))
        b_run, b_url = await serve(b_app)
        b = b_app[NODE]
        ours.send((b.identity.node_public, b_url))
        await loop.run_in_executor(None, ours.recv)
        t0 = time.perf_counter()
        await peers.pin(b.db, a_key, a_url, "a", now=b.clock.time())
        if auto:  # the link heals: b's worker finds a and syncs on its own
            await b.services.require(SYNC).engine.refresh_peers()
            while (await statehash.community_state(b, cid)).state_hash != want:
                await asyncio.sleep(0.05)
            took = time.perf_counter() - t0
            rate = n / took
        else:
            peer = await peers.get(b.db, a_key)
            report = await b.services.require(SYNC).engine.session(peer)
            took = time.perf_counter() - t0
            rate = report.pulled / took
            assert (await statehash.community_state(b, cid)).state_hash == want
        await b_run.cleanup()
        ours.send("stop")
        await loop.run_in_executor(None, proc.join)
        return rate, verify_rate, took


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    catch, verify, session_s, heal_s = [], [], [], []
    for _ in range(args.repeat):
        rate, vr, took = await one_run(args.events, auto=False)
        catch.append(rate), verify.append(vr), session_s.append(took)
        _, _, took = await one_run(args.events, auto=True)
        heal_s.append(took)
    med = statistics.median
    print(f"federation catch-up, {args.events} events, median of {args.repeat}")
    print(f"{'figure':<44}{'value':>12}  {'reference':<34}{'ref':>12}{'ratio':>8}")
    rows = [
        ("catch-up events/s (one session)", med(catch), "ed25519 verifies/s (same events)", med(verify)),
        ("seconds to converge after heal (auto)", med(heal_s), "catch-up session alone (s)", med(session_s)),
    ]
    for name, value, ref_name, ref in rows:
        print(f"{name:<44}{value:>12.2f}  {ref_name:<34}{ref:>12.2f}{value / ref:>8.3f}")


if __name__ == "__main__":
    asyncio.run(main())
