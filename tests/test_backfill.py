"""Long data migrations run in the background, in batches, while the node serves, and resume after
a restart where they stopped (cryb_node/backfill.py; the demo plugin fills a new column)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cryb_node.health import readiness
from cryb_node.node import Node
from tests.conftest import make_config
from tests.demo_plugin import Note


def _config(data: Path, **demo):
    return make_config(data, plugin={"demo": {"backfill_batch": 40, "backfill_pause_s": 0.05, **demo}})


async def _state(node: Node) -> tuple[int, int | None, int]:
    row = await node.db.fetchone("SELECT rows, finished_at FROM backfills WHERE name = 'demo.note_length'")
    left = await node.db.fetchval("SELECT count(*) FROM demo_notes WHERE length IS NULL")
    return (row[0], row[1], left) if row else (0, None, left)


async def test_backfill_runs_in_batches_while_serving_and_resumes_after_a_restart(tmp_path: Path):
    data = tmp_path / "data"
    seed = Node(_config(data))
    async with seed.running(background=False):  # no background work: the notes wait unfilled
        for i in range(230):
            await seed.events.append("demo.note", Note(f"n{i}", "x" * (i % 7 + 1)))
        assert await _state(seed) == (0, None, 230)

    first = Node(_config(data))
    async with first.running():
        for _ in range(200):
            rows, finished, left = await _state(first)
            if rows >= 80:
                break
            await asyncio.sleep(0.01)
        assert finished is None and 0 < left < 230  # stopped part-way
        ready = await readiness(first)
        assert ready.status == "ready" and "demo.note_length" in ready.checks["backfills"].detail
        # The node serves writes meanwhile.
        await first.events.append("demo.note", Note("during", "written while backfilling"))

    second = Node(_config(data))
    async with second.running():
        for _ in range(500):
            rows, finished, left = await _state(second)
            if finished is not None:
                break
            await asyncio.sleep(0.01)
        assert finished is not None and left == 0
        assert rows == 231  # every row counted once across both runs
        bad = await second.db.fetchval("SELECT count(*) FROM demo_notes WHERE length != length(text)")
        assert bad == 0
