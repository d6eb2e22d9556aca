"""Search figures (not pass/fail): the search plugin's own code paths, beside SQLite FTS5 on the same
corpus as the reference, plus indexing lag of a real node under a sustained message load.

Rows, per corpus size:
  - indexing rate (documents/s): the corpus is written as rows of a real node database (the node's
    migrations, then plain INSERTs into content_messages), then indexed by the plugin's Indexer
    exactly as `cryb search reindex` does (Source.scan -> Indexer.bulk_add, one writer, 100k-document
    segments, live-change replay, meta, generation swap); FTS5 indexes the same rows (INSERT ... SELECT)
  - query p50 / p95 (ms) by query shape through SearchService._run, the code behind GET
    /api/v1/search: permission scope of 10 of 50 channels inside the query, top 20 by relevance with
    highlighted snippets, exact total, facets by community, channel and kind; FTS5 MATCH with the same
    channel filter, rank order, LIMIT 20 with snippet(), and a GROUP BY for the channel facet
  - lag of the search consumer of a `cryb serve` child while messages are posted at --rate per second

    python bench/search.py                          # 20k documents (quick)
    python bench/search.py --docs 100000 1000000    # the issue's sizes
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryb_plugins.search.indexer import Indexer  # noqa: E402
from cryb_plugins.search.query import parse  # noqa: E402
from cryb_plugins.search.schemas import SearchQuery, SearchSettings  # noqa: E402
from cryb_plugins.search.service import Plan, Scope, SearchService  # noqa: E402
from cryb_plugins.search.snippets import Names  # noqa: E402

COMMON = [
    *["the", "garden", "party", "meeting", "tomorrow", "release", "server", "update", "bug", "fix"],
    *["music", "game", "stream", "night", "photo", "weekend", "coffee", "project", "design", "review"],
    *["launch", "team", "chat", "video", "code", "python", "festival", "summer", "winter"],
]
CHANNELS = [f"ch{i:02d}" for i in range(50)]
BASE_MS = 1_700_000_000_000


def vocabulary(n: int, rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return COMMON + ["".join(rng.choice(letters) for _ in range(rng.randint(4, 9))) for _ in range(n)]


def corpus(n: int, seed: int = 7) -> Iterator[tuple[int, str]]:
    """(number, text) of n chat messages: Zipf-like words from a 20k vocabulary, 1 in 17 with a link."""
    rng = random.Random(seed)
    vocab = vocabulary(20_000, rng)
    weights = [1 / (i + 1) for i in range(len(vocab))]
    cum = list(itertools.accumulate(weights))
    for i in range(n):
        text = " ".join(rng.choices(vocab, cum_weights=cum, k=rng.randint(4, 24)))
        if i % 17 == 0:
            text += " https://example.test/x"
        yield i, text


async def make_db(data: Path, n: int) -> Path:
    """A node database (every migration applied) holding n messages in 50 channels of one community."""
    from cryb_node import config as configmod
    from cryb_node.node import Node

    node = Node(configmod.convert({"node": {"data_dir": str(data)}, "log": {"level": "WARNING"}}))
    async with node.running(background=False):
        db_path = node.db_path
    conn = sqlite3.connect(db_path)
    rows: list[tuple] = []

    def flush() -> None:
        conn.executemany(
            "INSERT INTO content_messages (id, channel_id, community_id, author_id, hlc, created_at, content)"
            " VALUES (?, ?, 'c1', ?, ?, ?, ?)",
            rows,
        )
        conn.commit()
        rows.clear()

    for i, text in corpus(n):
        at = BASE_MS + i * 1000
        rows.append((f"m{i:08d}", CHANNELS[i % len(CHANNELS)], f"u{i % 500}", at << 16, at, text))
        if len(rows) == 50_000:
            flush()
    flush()
    conn.close()
    return db_path


async def index_node(data: Path, db_path: Path, n: int) -> tuple[Indexer, float]:
    """The reindex path of the node; progress on stderr every 30 s (a long run shows how far it got)."""
    ix = Indexer(data / "search", db_path)
    began = time.perf_counter()
    await ix.start(0)  # no index yet: starts the background rebuild
    task = ix._rebuild_task
    assert task is not None
    while not task.done():
        await asyncio.wait({task}, timeout=30)
        done, total = ix.progress
        el = time.perf_counter() - began
        print(f"  [whoosh {n}] {done}/{total} rows in {el:.0f}s ({done / el:.0f} docs/s)", file=sys.stderr)
    task.result()
    return ix, n / (time.perf_counter() - began)


def index_fts5(fpath: Path, db_path: Path) -> float:
    conn = sqlite3.connect(fpath)
    conn.execute("ATTACH DATABASE ? AS node", (str(db_path),))
    conn.execute("CREATE VIRTUAL TABLE docs USING fts5(body, channel UNINDEXED, tokenize='porter unicode61')")
    last = conn.execute("SELECT max(rowid) FROM node.content_messages").fetchone()[0] or 0
    began = time.perf_counter()
    for lo in range(0, last + 1, 100_000):
        conn.execute(
            "INSERT INTO docs (rowid, body, channel) SELECT rowid, content, channel_id"
            " FROM node.content_messages WHERE rowid > ? AND rowid <= ?",
            (lo, lo + 100_000),
        )
        conn.commit()
    conn.execute("INSERT INTO docs(docs) VALUES ('optimize')")
    conn.commit()
    n = conn.execute("SELECT count(*) FROM docs").fetchone()[0]
    conn.close()
    return n / (time.perf_counter() - began)


def shapes(rng: random.Random, db_path: Path, n: int) -> dict[str, list[str]]:
    conn = sqlite3.connect(db_path)
    picks = rng.sample(range(1, n + 1), 200)
    marks = ",".join("?" * len(picks))
    texts = [
        r[0] for r in conn.execute(f"SELECT content FROM content_messages WHERE rowid IN ({marks})", picks)
    ]
    conn.close()
    words = [w for t in texts for w in t.split() if w.isalpha()]
    rare = [w for w in words if w not in COMMON]
    return {
        "one common word": [rng.choice(COMMON) for _ in range(40)],
        "one rare word": [rng.choice(rare) for _ in range(40)],
        "two words (AND)": [f"{rng.choice(COMMON)} {rng.choice(COMMON)}" for _ in range(40)],
        "phrase": ['"' + " ".join(t.split()[:2]) + '"' for t in texts[:40] if len(t.split()) > 2],
        "prefix": [rng.choice(rare)[:3] + "*" for _ in range(40)],
    }


def fts_query(q: str) -> str:
    if q.startswith('"'):
        return q
    return " AND ".join(f'"{t[:-1]}"*' if t.endswith("*") else f'"{t}"' for t in q.split())


def pcts(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s), s[min(len(s) - 1, int(len(s) * 0.95))]


def query_bench(
    ix: Indexer, fpath: Path, db_path: Path, n: int
) -> list[tuple[str, float, float, float, float]]:
    rng = random.Random(11)
    service = SearchService(None, ix, SearchSettings())  # type: ignore[arg-type]  # _run needs no node
    conn = sqlite3.connect(fpath)
    rows = []
    for shape, qs in shapes(rng, db_path, n).items():
        wt, ft = [], []
        for q in qs:
            allowed = rng.sample(CHANNELS, 10)
            began = time.perf_counter()
            params = SearchQuery(q=q)
            plan = Plan(Scope(frozenset(allowed), frozenset()), parse(q), {}, params)
            out, texts = service._run(plan)
            service._snippets(out, texts, Names(), plan.marks)  # highlighting, as a search does
            wt.append((time.perf_counter() - began) * 1000)
            assert out.facets is not None and len(out.results) == min(20, out.total)
            marks = ",".join("?" * len(allowed))
            began = time.perf_counter()
            match = fts_query(q)
            conn.execute(
                f"SELECT rowid, snippet(docs, 0, '<mark>', '</mark>', '…', 12) FROM docs WHERE docs MATCH ?"
                f" AND channel IN ({marks}) ORDER BY rank LIMIT 20",
                (match, *allowed),
            ).fetchall()
            conn.execute(
                f"SELECT channel, count(*) FROM docs WHERE docs MATCH ? AND channel IN ({marks})"
                " GROUP BY channel",
                (match, *allowed),
            ).fetchall()
            ft.append((time.perf_counter() - began) * 1000)
        (w50, w95), (f50, f95) = pcts(wt), pcts(ft)
        rows.append((shape, w50, w95, f50, f95))
    conn.close()
    return rows


# -- lag of a real node under load ------------------------------------------------------------------

LAG = re.compile(r"^cryb_search_lag_events (\S+)$", re.M)


async def lag_bench(rate: int, seconds: float) -> dict[str, float]:
    import aiohttp

    from bench.run import free_port, wait_up

    tmp = Path(tempfile.mkdtemp(prefix="cryb-search-bench-"))
    cfg = tmp / "cryb.toml"
    cfg.write_text(
        '[log]\nlevel = "WARNING"\n[rate_limits]\nenabled = false\n'
        "[plugin.users]\nargon2_opslimit = 1\nargon2_memlimit = 8192\n"
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    import subprocess

    log = open(tmp / "node.log", "w")  # noqa: SIM115 (closed in finally)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cryb_node",
            "--config",
            str(cfg),
            "serve",
            "--port",
            str(port),
            "--data",
            str(tmp / "d"),
        ],
        cwd=ROOT,
        stderr=log,
    )
    try:
        wait_up(url + "/healthz", proc)
        async with aiohttp.ClientSession() as s:

            async def reg(name: str) -> dict[str, str]:
                body = {
                    "username": name,
                    "email": f"{name}@example.test",
                    "password": "correct horse battery",
                }
                async with s.post(url + "/api/v1/auth/register", json=body) as r:
                    return {"Authorization": f"Bearer {(await r.json())['access_token']}"}

            h = await reg("bench")
            async with s.post(
                url + "/api/v1/communities", headers=h, json={"name": "b", "public": True}
            ) as r:
                cid = (await r.json())["id"]
            async with s.get(f"{url}/api/v1/communities/{cid}/channels", headers=h) as r:
                ch = next(c["id"] for c in (await r.json())["channels"] if c["kind"] == "text")
            rng = random.Random(3)
            vocab = vocabulary(5000, rng)
            sent = 0
            samples: list[float] = []
            stop = asyncio.Event()

            async def sample() -> None:
                while not stop.is_set():
                    async with s.get(url + "/metrics") as r:
                        m = LAG.search(await r.text())
                        if m:
                            samples.append(float(m.group(1)))
                    await asyncio.sleep(0.25)

            async def post() -> None:
                nonlocal sent
                text = " ".join(rng.choices(vocab, k=12))
                async with s.post(
                    f"{url}/api/v1/channels/{ch}/messages", headers=h, json={"content": text}
                ) as r:
                    if r.status == 201:
                        sent += 1

            sampler = asyncio.create_task(sample())
            began = time.perf_counter()
            tasks: set[asyncio.Task[None]] = set()
            tick = 0.02
            n = 0
            while time.perf_counter() - began < seconds:
                due = int((time.perf_counter() - began) * rate)
                while n < due:
                    t = asyncio.create_task(post())
                    tasks.add(t)
                    t.add_done_callback(tasks.discard)
                    n += 1
                await asyncio.sleep(tick)
            await asyncio.gather(*tasks)
            elapsed = time.perf_counter() - began
            load_end = time.perf_counter()
            caught = float("nan")
            while time.perf_counter() - load_end < 120:
                async with s.get(url + "/metrics") as r:
                    m = LAG.search(await r.text())
                if m and float(m.group(1)) == 0:
                    caught = time.perf_counter() - load_end
                    break
                await asyncio.sleep(0.1)
            stop.set()
            await sampler
        lag50, lag95 = pcts(samples or [0.0])
        return {
            "achieved": sent / elapsed,
            "lag_p50": lag50,
            "lag_p95": lag95,
            "lag_max": max(samples or [0.0]),
            "catch_up": caught,
        }
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


async def size_rows(n: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cryb-search-bench-"))
    try:
        began = time.perf_counter()
        db_path = await make_db(tmp / "data", n)
        print(f"  [corpus {n}] database rows written in {time.perf_counter() - began:.0f}s", file=sys.stderr)
        ix, w_rate = await index_node(tmp / "data", db_path, n)
        f_rate = index_fts5(tmp / "f.db", db_path)
        row = f"indexing, {n} docs (docs/s)"
        print(f"{row:<46} {w_rate:>12.0f} {f_rate:>12.0f} {w_rate / f_rate:>8.2f}", flush=True)
        results = await asyncio.to_thread(query_bench, ix, tmp / "f.db", db_path, n)
        for shape, w50, w95, f50, f95 in results:
            print(f"{f'{shape}, {n} docs, p50 (ms)':<46} {w50:>12.2f} {f50:>12.2f} {w50 / f50:>8.1f}")
            print(
                f"{f'{shape}, {n} docs, p95 (ms)':<46} {w95:>12.2f} {f95:>12.2f} {w95 / f95:>8.1f}",
                flush=True,
            )
        await ix.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--docs", type=int, nargs="*", default=[20_000], help="corpus sizes (e.g. 100000 1000000)"
    )
    ap.add_argument("--rate", type=int, default=500, help="messages/s for the lag row")
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of the write load")
    ap.add_argument("--no-lag", action="store_true", help="skip the node under load")
    args = ap.parse_args()

    print(f"{'row':<46} {'whoosh':>12} {'fts5 (ref)':>12} {'ratio':>8}", flush=True)
    for n in args.docs:
        asyncio.run(size_rows(n))
    if not args.no_lag:
        r = asyncio.run(lag_bench(args.rate, args.seconds))
        row = f"node under {args.rate} msg/s for {args.seconds:.0f}s: achieved msg/s"
        print(f"{row:<46} {r['achieved']:>12.0f}")
        print(f"{'  search lag p50 (events)':<46} {r['lag_p50']:>12.0f}")
        print(f"{'  search lag p95 (events)':<46} {r['lag_p95']:>12.0f}")
        print(f"{'  search lag max (events)':<46} {r['lag_max']:>12.0f}")
        print(f"{'  catch-up after the load ends (s)':<46} {r['catch_up']:>12.2f}")


if __name__ == "__main__":
    main()
