"""Search figures (not pass/fail): the search plugin's own code paths at 100k and 1M documents, beside
SQLite FTS5 answering the same queries over the same corpus in the same run (the reference).

The corpus: chat messages written as rows of a real node database (the node's migrations, then plain
INSERTs into content_messages: generating 1M messages through HTTP would take hours), with words
drawn from a Zipf-like vocabulary (29 very common words, a long tail of 20k rare ones), authors and
channels of Zipf-like activity, timestamps increasing with random gaps, 1 in 17 with a link.

Rows, per corpus size:
  - full build (documents/s and minutes): the plugin's own rebuild path (Indexer.rebuild: Source.scan
    -> Indexer.bulk_add into a new index file, 50k documents a transaction, live-change replay, one
    FTS5 'optimize', generation swap), exactly as `cryb search reindex` runs it; the bare FTS5
    reference indexes the same rows (INSERT ... SELECT, one column, FTS5's own porter tokenizer)
  - live message during a rebuild (--rebuild): a second full rebuild runs while a new message is
    written to the database and applied by the live path (Indexer._apply, on the indexer's thread);
    the row is the time until a search finds it, while the rebuild is still running
  - query p50 / p95 (ms) by shape, through SearchService._run and _snippets, the code behind
    GET /api/v1/search: permission scope of 10 of 50 channels inside the query, top 20 with highlighted
    snippets, total and facets by community, channel and kind. FTS5: MATCH with the same channel
    filter, the same order (rank, or rowid DESC for newest first), LIMIT 20 with snippet(), and a
    GROUP BY channel (its exact total and facet)
  - lag of the search consumer of a `cryb serve` child while messages are posted at --rate per second

Query figures are medians of --runs rounds (each round: every query of every shape once).

    python bench/search.py                              # 20k documents (quick)
    python bench/search.py --docs 100000 1000000        # the issue's sizes
    python bench/search.py --docs 1000000 --keep /tmp/sb  # keep (and reuse) corpus and indexes
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

# The node's SQLite (pysqlite3), never the standard library's: two SQLite libraries in one process
# do not see each other's POSIX locks, so closing a stdlib connection to the node's WAL database
# checkpointed and reset the WAL under the indexer's open connections, which then read a stale
# snapshot for good (the live message of --rebuild was "found only after the swap" for that reason).
import pysqlite3.dbapi2 as sqlite3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryb_plugins.search.indexer import Changes, Indexer  # noqa: E402
from cryb_plugins.search.schemas import SearchQuery, SearchSettings  # noqa: E402
from cryb_plugins.search.service import Plan, Scope, SearchService  # noqa: E402
from cryb_plugins.search.snippets import Names  # noqa: E402
from cryb_plugins.search.syntax import parse  # noqa: E402

COMMON = [
    *["the", "garden", "party", "meeting", "tomorrow", "release", "server", "update", "bug", "fix"],
    *["music", "game", "stream", "night", "photo", "weekend", "coffee", "project", "design", "review"],
    *["launch", "team", "chat", "video", "code", "python", "festival", "summer", "winter"],
]
CHANNELS = [f"ch{i:02d}" for i in range(50)]
AUTHORS = [f"u{i:04d}" for i in range(2000)]
BASE_MS = 1_700_000_000_000
MARKER = "zqxlivemarker"  # the live message's word: in no corpus message


def vocabulary(n: int, rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return COMMON + ["".join(rng.choice(letters) for _ in range(rng.randint(4, 9))) for _ in range(n)]


def zipf(n: int, s: float = 1.0) -> list[float]:
    return list(itertools.accumulate(1 / (i + 1) ** s for i in range(n)))


def corpus(n: int, seed: int = 7) -> Iterator[tuple[int, str, str, str]]:
    """(time ms, channel, author, text) of n chat messages, oldest first."""
    rng = random.Random(seed)
    vocab = vocabulary(20_000, rng)
    cum = zipf(len(vocab))
    chan_cum, author_cum = zipf(len(CHANNELS), 0.6), zipf(len(AUTHORS), 0.9)
    at = BASE_MS
    for i in range(n):
        at += int(rng.expovariate(1 / 1000)) + 1  # about a message a second, never two at once
        text = " ".join(rng.choices(vocab, cum_weights=cum, k=rng.randint(4, 24)))
        if i % 17 == 0:
            text += " https://example.test/x"
        chan = CHANNELS[bisect.bisect(chan_cum, rng.random() * chan_cum[-1])]
        author = AUTHORS[bisect.bisect(author_cum, rng.random() * author_cum[-1])]
        yield at, chan, author, text


INSERT = (
    "INSERT INTO content_messages (id, channel_id, community_id, author_id, hlc, created_at, content)"
    " VALUES (?, ?, 'c1', ?, ?, ?, ?)"
)


async def make_db(data: Path, n: int) -> Path:
    """A node database (every migration applied) holding n messages in 50 channels of one community."""
    from cryb_node import config as configmod
    from cryb_node.node import Node

    node = Node(configmod.convert({"node": {"data_dir": str(data)}, "log": {"level": "WARNING"}}))
    async with node.running(background=False):
        db_path = node.db_path
    conn = sqlite3.connect(db_path)
    rows: list[tuple] = []
    for i, (at, chan, author, text) in enumerate(corpus(n)):
        rows.append((f"m{i:08d}", chan, author, at << 16, at, text))
        if len(rows) == 50_000:
            conn.executemany(INSERT, rows)
            conn.commit()
            rows.clear()
    conn.executemany(INSERT, rows)
    conn.commit()
    conn.close()
    return db_path


async def wait_build(ix: Indexer, n: int, label: str) -> float:
    """Seconds until the running rebuild finishes; progress on stderr every 30 s."""
    began = time.perf_counter()
    task = ix._rebuild_task
    assert task is not None
    while not task.done():
        await asyncio.wait({task}, timeout=30)
        done, _ = ix.progress
        el = time.perf_counter() - began
        print(f"  [{label} {n}] {done} rows in {el:.0f}s ({done / el:.0f} docs/s)", file=sys.stderr)
    task.result()
    return time.perf_counter() - began


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
    conn.close()
    return time.perf_counter() - began


# -- queries ------------------------------------------------------------------------------------------


def shapes(rng: random.Random, db_path: Path, n: int) -> dict[str, tuple[str, list[str]]]:
    """Each shape: (sort, 40 queries)."""
    conn = sqlite3.connect(db_path)
    picks = rng.sample(range(1, n + 1), 400)
    marks = ",".join("?" * len(picks))
    texts = [
        r[0] for r in conn.execute(f"SELECT content FROM content_messages WHERE rowid IN ({marks})", picks)
    ]
    conn.close()
    words = [w for t in texts for w in t.split() if w.isalpha()]
    rare = [w for w in words if w not in COMMON]
    common = COMMON[1:]  # not "the": a stop word finds nothing (no work to measure)
    phrases = [t.split()[:2] for t in texts]
    return {
        "rare word": ("relevance", [rng.choice(rare) for _ in range(40)]),
        "common word, newest first": ("new", [rng.choice(common) for _ in range(40)]),
        "two words, newest first": ("new", [f"{rng.choice(common)} {rng.choice(rare)}" for _ in range(20)]
                                    + [f"{rng.choice(common)} {rng.choice(common)}" for _ in range(20)]),
        "phrase, newest first": ("new", ['"' + " ".join(p) + '"' for p in phrases[:40]]),
        "prefix, newest first": ("new", [rng.choice(rare)[:3] + "*" for _ in range(40)]),
        "common word, by relevance": ("relevance", [rng.choice(common) for _ in range(40)]),
    }  # fmt: skip


def fts_query(q: str) -> str:
    if q.startswith('"'):
        return q
    return " AND ".join(f'"{t[:-1]}"*' if t.endswith("*") else f'"{t}"' for t in q.split())


def pcts(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s), s[min(len(s) - 1, int(len(s) * 0.95))]


def ours(service: SearchService, q: str, sort: str, allowed: list[str]) -> float:
    began = time.perf_counter()
    params = SearchQuery(q=q, sort=sort)  # type: ignore[arg-type]
    plan = Plan(Scope(frozenset(allowed), frozenset()), parse(q), {}, params)
    out, texts = service._run(plan)
    service._snippets(out, texts, Names(), plan.marks)  # highlighting, as a search does
    took = (time.perf_counter() - began) * 1000
    assert out.facets is not None and len(out.results) == min(20, out.total), (q, out.total)
    return took


def fts5(conn: sqlite3.Connection, q: str, sort: str, allowed: list[str]) -> float:
    marks = ",".join("?" * len(allowed))
    order = "rank" if sort == "relevance" else "rowid DESC"
    match = fts_query(q)
    began = time.perf_counter()
    conn.execute(
        f"SELECT rowid, snippet(docs, 0, '<mark>', '</mark>', '…', 12) FROM docs WHERE docs MATCH ?"
        f" AND channel IN ({marks}) ORDER BY {order} LIMIT 20",
        (match, *allowed),
    ).fetchall()
    conn.execute(
        f"SELECT channel, count(*) FROM docs WHERE docs MATCH ? AND channel IN ({marks}) GROUP BY channel",
        (match, *allowed),
    ).fetchall()
    return (time.perf_counter() - began) * 1000


def query_bench(
    ix: Indexer, fpath: Path, db_path: Path, n: int, runs: int
) -> list[tuple[str, str, float, float, float, float]]:
    """Per shape: (shape, sort, our p50, p95, FTS5 p50, p95), each the median over ``runs`` rounds."""
    rng = random.Random(11)
    service = SearchService(None, ix, SearchSettings())  # type: ignore[arg-type]  # _run needs no node
    conn = sqlite3.connect(fpath)
    todo = shapes(rng, db_path, n)
    scopes = [rng.sample(CHANNELS, 10) for _ in range(40)]
    per: dict[str, list[tuple[float, float, float, float]]] = {s: [] for s in todo}
    for _ in range(runs):
        for shape, (sort, qs) in todo.items():
            wt = [ours(service, q, sort, allowed) for q, allowed in zip(qs, scopes, strict=False)]
            ft = [fts5(conn, q, sort, allowed) for q, allowed in zip(qs, scopes, strict=False)]
            per[shape].append((*pcts(wt), *pcts(ft)))
    conn.close()
    med = statistics.median
    return [
        (shape, todo[shape][0], *(med(r[i] for r in rs) for i in range(4)))  # type: ignore[misc]
        for shape, rs in per.items()
    ]


# -- a live message while the index is rebuilt ---------------------------------------------------------


async def live_during_rebuild(ix: Indexer, db_path: Path, n: int) -> tuple[float, float, float, bool]:
    """A second full rebuild; meanwhile a new message is written and applied by the live path.
    Returns (rebuild seconds, ms to apply the live message, ms until a search finds it, whether the
    rebuild was still running when it was found)."""
    service = SearchService(None, ix, SearchSettings())  # type: ignore[arg-type]
    ix.rebuild("bench")
    began = time.perf_counter()
    while ix.progress[0] < min(n // 5, 50_000):  # well into the rebuild
        await asyncio.sleep(0.2)
    conn = sqlite3.connect(db_path)
    at = BASE_MS + n * 2000
    conn.execute(INSERT, ("mlive0001", CHANNELS[0], AUTHORS[0], at << 16, at, f"hello {MARKER} world"))
    conn.commit()
    conn.close()
    t0 = time.perf_counter()
    await ix._run(ix._apply, Changes(targets={"message": {"mlive0001"}}))
    applied = (time.perf_counter() - t0) * 1000
    plan = Plan(Scope(frozenset(CHANNELS[:10]), frozenset()), parse(MARKER), {}, SearchQuery(q=MARKER))
    while True:
        out, _ = await asyncio.to_thread(service._run, plan)
        if out.total:
            break
        await asyncio.sleep(0.01)
    seen = (time.perf_counter() - t0) * 1000
    during = ix._rebuild_task is not None and not ix._rebuild_task.done()
    assert ix._rebuild_task is not None
    await ix._rebuild_task
    seconds = time.perf_counter() - began
    out, _ = await asyncio.to_thread(service._run, plan)
    assert out.total == 1, "the live message was lost by the swap"
    return seconds, applied, seen, during


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


def row(label: str, ours_: float, ref: float | None, fmt: str = ".2f") -> None:
    if ref is None:
        print(f"{label:<52} {ours_:>12{fmt}}", flush=True)
    else:
        print(f"{label:<52} {ours_:>12{fmt}} {ref:>12{fmt}} {ours_ / ref:>8.2f}", flush=True)


async def size_rows(n: int, args: argparse.Namespace) -> None:
    keep = Path(args.keep) / f"docs{n}" if args.keep else None
    tmp = keep or Path(tempfile.mkdtemp(prefix="cryb-search-bench-"))
    data, fpath = tmp / "data", tmp / "f.db"
    reused = keep is not None and (tmp / "READY").exists()
    try:
        if not reused:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            began = time.perf_counter()
            db_path = await make_db(data, n)
            print(f"  [corpus {n}] rows written in {time.perf_counter() - began:.0f}s", file=sys.stderr)
        else:
            from cryb_node.node import DB_FILE

            db_path = data / DB_FILE
            assert db_path.exists(), db_path
        ix = Indexer(data / "search", db_path)
        await ix.start(0)  # no index yet: the background rebuild; a kept one is opened as it is
        if reused and ix._rebuild_task is not None:  # a kept index of an older version
            await wait_build(ix, n, "rebuild of the kept index")
        if not reused:
            w_s = await wait_build(ix, n, "build")
            f_s = index_fts5(fpath, db_path)
            row(f"full build, {n} docs (docs/s)", n / w_s, n / f_s, ".0f")
            row(f"full build, {n} docs (minutes)", w_s / 60, f_s / 60)
            if keep is not None:
                (tmp / "READY").write_text("")
        results = await asyncio.to_thread(query_bench, ix, fpath, db_path, n, args.runs)
        for shape, _sort, w50, w95, f50, f95 in results:
            row(f"{shape}, {n} docs, p50 (ms)", w50, f50)
            row(f"{shape}, {n} docs, p95 (ms)", w95, f95)
        if args.rebuild:
            seconds, applied, seen, during = await live_during_rebuild(ix, db_path, n)
            row(f"rebuild with live indexing, {n} docs (s)", seconds, None)
            row("  live message: applied (ms)", applied, None, ".0f")
            row(f"  live message: found by a search (ms){'' if during else ' [AFTER the rebuild]'}",
                seen, None, ".0f")  # fmt: skip
            if keep is not None:  # the rebuild replaced the kept index: the live message stays out
                conn = sqlite3.connect(db_path)
                conn.execute("DELETE FROM content_messages WHERE id = 'mlive0001'")
                conn.commit()
                conn.close()
                (tmp / "READY").unlink()  # its index holds the live message: build afresh next time
        await ix.close()
    finally:
        if keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--docs", type=int, nargs="*", default=[20_000], help="corpus sizes (e.g. 100000 1000000)"
    )
    ap.add_argument("--runs", type=int, default=3, help="rounds of queries (figures are their medians)")
    ap.add_argument("--keep", help="keep corpus, database and indexes here, and reuse them next time")
    ap.add_argument("--rebuild", action=argparse.BooleanOptionalAction, default=True,
                    help="a second full rebuild with a live message indexed during it")  # fmt: skip
    ap.add_argument("--rate", type=int, default=500, help="messages/s for the lag row")
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of the write load")
    ap.add_argument("--no-lag", action="store_true", help="skip the node under load")
    args = ap.parse_args()

    print(f"{'row':<52} {'ours':>12} {'fts5 (ref)':>12} {'ratio':>8}", flush=True)
    for n in args.docs:
        asyncio.run(size_rows(n, args))
    if not args.no_lag:
        r = asyncio.run(lag_bench(args.rate, args.seconds))
        row(
            f"node under {args.rate} msg/s for {args.seconds:.0f}s: achieved msg/s",
            r["achieved"],
            None,
            ".0f",
        )
        row("  search lag p50 (events)", r["lag_p50"], None, ".0f")
        row("  search lag p95 (events)", r["lag_p95"], None, ".0f")
        row("  search lag max (events)", r["lag_max"], None, ".0f")
        row("  catch-up after the load ends (s)", r["catch_up"], None)


if __name__ == "__main__":
    main()
