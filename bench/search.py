"""Search figures (not pass/fail): the Whoosh index as the search plugin builds and queries it, beside
SQLite FTS5 on the same synthetic corpus as the reference, plus indexing lag of a real node under a
sustained message load.

Rows:
  - indexing rate (documents/s, batches of 1000 per commit, the plugin's schema and upserts by key)
  - query p50 / p95 (ms) by query shape, each filtered to 10 of 50 channels inside the query, with
    total count and channel facets (what GET /api/v1/search computes), against FTS5 MATCH with the
    same channel filter, rank order, LIMIT 20 and a GROUP BY for the facets
  - lag of the search consumer of a `cryb serve` child while messages are posted at --rate per second

    python bench/search.py                 # 20k documents (quick)
    python bench/search.py --docs 100000   # the issue's sizes: 100000 and 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryb_plugins.search.query import text_parser  # noqa: E402
from cryb_plugins.search.schema import Doc, make_schema  # noqa: E402
from whoosh import index as windex  # noqa: E402
from whoosh import query as wq  # noqa: E402
from whoosh import sorting  # noqa: E402

COMMON = [
    *[
        "the",
        "garden",
        "party",
        "meeting",
        "tomorrow",
        "release",
        "server",
        "update",
        "bug",
        "fix",
        "music",
        "game",
        "stream",
        "night",
    ],
    *[
        "photo",
        "weekend",
        "coffee",
        "project",
        "design",
        "review",
        "launch",
        "team",
        "chat",
        "video",
        "code",
        "python",
        "festival",
    ],
    *["summer", "winter"],
]
CHANNELS = [f"ch{i:02d}" for i in range(50)]


def vocabulary(n: int, rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return COMMON + ["".join(rng.choice(letters) for _ in range(rng.randint(4, 9))) for _ in range(n)]


def corpus(n: int, seed: int = 7) -> list[Doc]:
    rng = random.Random(seed)
    vocab = vocabulary(20_000, rng)
    weights = [1 / (i + 1) for i in range(len(vocab))]  # Zipf-like
    docs = []
    base = 1_700_000_000_000
    for i in range(n):
        words = rng.choices(vocab, weights, k=rng.randint(4, 24))
        text = " ".join(words)
        if i % 17 == 0:
            text += " https://example.test/x"
        docs.append(
            Doc(
                kind="message",
                id=f"m{i:08d}",
                author=f"u{i % 500}",
                community="c1",
                channel=CHANNELS[i % len(CHANNELS)],
                time=base + i * 1000,
                body=text,
                has_link="https://" in text,
            )
        )
    return docs


def index_whoosh(path: Path, docs: list[Doc]) -> float:
    """The rebuild path: add_document in pages of 1000 per commit, a full merge at the end."""
    ix = windex.create_in(str(path), make_schema())
    began = time.perf_counter()
    for i in range(0, len(docs), 1000):
        w = ix.writer(limitmb=128)
        for d in docs[i : i + 1000]:
            w.add_document(**d.fields())
        w.commit()
    w = ix.writer()
    w.commit(optimize=True)
    return len(docs) / (time.perf_counter() - began)


def index_fts5(path: Path, docs: list[Doc]) -> float:
    conn = sqlite3.connect(path)
    conn.execute("CREATE VIRTUAL TABLE docs USING fts5(body, channel UNINDEXED, tokenize='porter unicode61')")
    began = time.perf_counter()
    for i in range(0, len(docs), 1000):
        conn.executemany(
            "INSERT INTO docs (rowid, body, channel) VALUES (?, ?, ?)",
            [(int(d.id[1:]), d.body, d.channel) for d in docs[i : i + 1000]],
        )
        conn.commit()
    conn.execute("INSERT INTO docs(docs) VALUES ('optimize')")
    conn.commit()
    conn.close()
    return len(docs) / (time.perf_counter() - began)


def shapes(rng: random.Random, docs: list[Doc]) -> dict[str, list[str]]:
    words = [w for d in rng.sample(docs, 200) for w in d.body.split() if w.isalpha()]
    rare = [w for w in words if w not in COMMON]
    return {
        "one common word": [rng.choice(COMMON) for _ in range(40)],
        "one rare word": [rng.choice(rare) for _ in range(40)],
        "two words (AND)": [f"{rng.choice(COMMON)} {rng.choice(COMMON)}" for _ in range(40)],
        "phrase": [
            '"' + " ".join(d.body.split()[:2]) + '"' for d in rng.sample(docs, 40) if len(d.body.split()) > 2
        ],
        "prefix": [rng.choice(rare)[:3] + "*" for _ in range(40)],
    }


def fts_query(q: str) -> str:
    if q.startswith('"'):
        return q
    return " AND ".join(f'"{t[:-1]}"*' if t.endswith("*") else f'"{t}"' for t in q.split())


def pcts(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s), s[min(len(s) - 1, int(len(s) * 0.95))]


def query_bench(wpath: Path, fpath: Path, docs: list[Doc]) -> list[tuple[str, float, float, float, float]]:
    rng = random.Random(11)
    ix = windex.open_dir(str(wpath))
    parser = text_parser(ix.schema)
    conn = sqlite3.connect(fpath)
    rows = []
    facets = {"channel": sorting.FieldFacet("channel"), "kind": sorting.FieldFacet("kind")}
    for shape, qs in shapes(rng, docs).items():
        wt, ft = [], []
        for q in qs:
            allowed = rng.sample(CHANNELS, 10)
            with ix.searcher() as s:
                began = time.perf_counter()
                perm = wq.ConstantScoreQuery(wq.Or([wq.Term("channel", c) for c in allowed]), 0.0)
                r = s.search(
                    wq.And([perm, parser.parse(q)]), limit=20, groupedby=facets, maptype=sorting.Count
                )
                _ = len(r), r.groups("channel"), [h["key"] for h in r[:20]]
                wt.append((time.perf_counter() - began) * 1000)
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--docs", type=int, nargs="*", default=[20_000], help="corpus sizes (e.g. 100000 1000000)"
    )
    ap.add_argument("--rate", type=int, default=500, help="messages/s for the lag row")
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of the write load")
    ap.add_argument("--no-lag", action="store_true", help="skip the node under load")
    args = ap.parse_args()

    print(f"{'row':<46} {'whoosh':>12} {'fts5 (ref)':>12} {'ratio':>8}")
    for n in args.docs:
        docs = corpus(n)
        tmp = Path(tempfile.mkdtemp(prefix="cryb-search-bench-"))
        try:
            (tmp / "w").mkdir()
            w_rate = index_whoosh(tmp / "w", docs)
            f_rate = index_fts5(tmp / "f.db", docs)
            row = f"indexing, {n} docs (docs/s)"
            print(f"{row:<46} {w_rate:>12.0f} {f_rate:>12.0f} {w_rate / f_rate:>8.2f}")
            for shape, w50, w95, f50, f95 in query_bench(tmp / "w", tmp / "f.db", docs):
                print(f"{f'{shape}, {n} docs, p50 (ms)':<46} {w50:>12.2f} {f50:>12.2f} {w50 / f50:>8.1f}")
                print(f"{f'{shape}, {n} docs, p95 (ms)':<46} {w95:>12.2f} {f95:>12.2f} {w95 / f95:>8.1f}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
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
