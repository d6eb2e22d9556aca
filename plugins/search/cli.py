"""`cryb search reindex` and `cryb search stats`: the same Indexer and service calls the node uses.

While a node serves this data directory it owns the index (a lock file), so `reindex` asks it to
rebuild (a request file it polls) and follows its progress; with no node running, the command
rebuilds in-process.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import click

from cryb_node.cli import Settings, emit, run_with_node
from cryb_node.node import Node

from .indexer import REQUEST_FILE, Indexer, Progress, read_only_stats, read_progress, try_lock


@click.group("search")
def search_group() -> None:
    """Full-text search index: rebuild it, show its figures."""


def _bar_follow(total_of: Any, done_of: Any, finished: Any, interval: float = 0.2) -> None:
    with click.progressbar(length=max(1, total_of()), label="indexing", show_pos=True) as bar:
        shown = 0
        while not finished():
            bar.length = max(1, total_of())
            now = done_of()
            if now > shown:
                bar.update(now - shown)
                shown = now
            time.sleep(interval)
        bar.update(max(0, (bar.length or 0) - shown))


@search_group.command("reindex")
@click.option("--timeout", default=3600.0, show_default=True, help="Seconds to wait for the rebuild.")
@click.pass_obj
def reindex(settings: Settings, timeout: float) -> None:
    """Rebuild the index from the database (a running node keeps serving the old one meanwhile)."""
    cfg = settings.config()
    plugins = settings.plugins(cfg)
    root = cfg.data_path / "search"
    fd = try_lock(root)
    if fd is None:
        _ask_node(root, timeout)
        return

    async def go(node: Node) -> None:
        ix = Indexer(root, node.db_path, cfg.db.busy_timeout_ms, node.clock)
        await ix.start(0)
        ix.rebuild("requested")
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def finished(_task: object) -> None:
            if not done.done():
                done.set_result(None)

        assert ix._rebuild_task is not None
        ix._rebuild_task.add_done_callback(finished)
        await loop.run_in_executor(
            None, _bar_follow, lambda: ix.progress[1], lambda: ix.progress[0], done.done
        )
        await ix.wait_rebuilt(timeout)
        await ix.close()
        click.echo(f"rebuilt: {ix.documents()} documents, generation {ix.live_gen}")

    try:
        run_with_node(cfg, plugins, go)
    finally:
        import os

        os.close(fd)


def _ask_node(root: Any, timeout: float) -> None:
    # The serving node is another process: this command has no node (nor its clock) of its own, so
    # its wait is timed on this process's monotonic clock.
    before = read_progress(root)
    (root / REQUEST_FILE).write_text("requested\n")
    click.echo("a node is serving this data directory: asked it to rebuild the index")
    deadline = time.monotonic() + timeout
    state: dict[str, Progress | None] = {"p": None}

    def current() -> Progress | None:
        p = read_progress(root)
        # Only progress written after our request counts.
        if p is not None and (before is None or p.updated_at > before.updated_at):
            state["p"] = p
        if time.monotonic() > deadline:
            raise click.ClickException("timed out waiting for the node to rebuild the index")
        return state["p"]

    def finished() -> bool:
        p = current()
        return p is not None and p.state == "ready" and not (root / REQUEST_FILE).exists()

    blank = Progress(state="")
    _bar_follow(lambda: (current() or blank).total, lambda: (state["p"] or blank).done, finished)
    p = state["p"]
    click.echo(f"rebuilt: generation {p.generation if p else '?'}")


@search_group.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--days", default=30, show_default=True, help="Analytics window.")
@click.pass_obj
def stats(settings: Settings, as_json: bool, days: int) -> None:
    """Index size and state, lag, and search analytics (queries, zero results, click-through)."""
    cfg = settings.config()
    plugins = settings.plugins(cfg)
    root = cfg.data_path / "search"

    async def go(node: Node) -> dict[str, Any]:
        from . import queries as sql

        gen, meta, counts = read_only_stats(root)
        since = node.clock.time_ms() - days * 86_400_000
        a = await sql.analytics(node.db, since)
        length = node.events.length
        progress = read_progress(root)
        return {
            "generation": gen,
            "state": progress.state
            if progress and progress.state != "ready"
            else ("ready" if meta else "missing"),
            "documents": sum(counts.values()),
            "by_kind": counts,
            "offset": meta.offset if meta else 0,
            "log_length": length,
            "lag_events": max(0, length - (meta.offset if meta else 0)),
            "built_at": meta.built_at if meta else 0,
            "optimized_at": meta.optimized_at if meta else 0,
            "queries": a["queries"],
            "zero_result_queries": a["zero"],
            "click_through_rate": round(a["ctr"], 4),
            "top_queries": a["top"],
            "top_zero_result": a["top_zero"],
        }

    data = run_with_node(cfg, plugins, go)

    def text(d: dict[str, Any]) -> str:
        lines = [
            f"index       {d['state']}  generation {d['generation']}",
            f"documents   {d['documents']}  " + " ".join(f"{k}={v}" for k, v in d["by_kind"].items()),
            f"offset      {d['offset']} of {d['log_length']} (lag {d['lag_events']} events)",
            f"queries     {d['queries']} in {days} days, {d['zero_result_queries']} with no results,"
            f" click-through {d['click_through_rate']:.1%}",
        ]
        lines += [f"  top       {n:>6}  {q}" for q, n in d["top_queries"]]
        lines += [f"  no hits   {n:>6}  {q}" for q, n in d["top_zero_result"]]
        return "\n".join(lines)

    emit(data, as_json, text)
    if data["generation"] is None:
        sys.exit(1)
