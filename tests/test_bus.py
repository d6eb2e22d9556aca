"""The bus: durable consumers get every event they missed, exactly once when transactional."""

from __future__ import annotations

import asyncio
from collections import deque
from pathlib import Path

from cryb_node.bus import Subscription
from cryb_node.events import SELECT_EVENTS
from cryb_node.node import Node
from tests.conftest import make_config
from tests.demo_plugin import Note


async def test_subscriber_stopped_for_n_events_gets_all_n_after_restart_none_twice(tmp_path: Path):
    data = tmp_path / "data"
    # First run: the tally subscriber is switched off while 40 events are written.
    off = Node(make_config(data, plugin={"demo": {"subscribe": False}}))
    async with off.running():
        for i in range(40):
            await off.events.append("demo.note", Note(f"n{i}", "x"))
        assert "demo.tally" not in off.bus.consumers
        assert await off.db.fetchval("SELECT count(*) FROM demo_tally_seen") == 0
    # Second run: it catches up on all 40, then handles new ones as they come.
    on = Node(make_config(data))
    async with on.running():
        consumer = on.bus.consumers["demo.tally"]
        await consumer.caught_up()
        assert await on.db.fetchval("SELECT count(*) FROM demo_tally_seen") == 40
        for i in range(40, 45):
            await on.events.append("demo.note", Note(f"n{i}", "x"))
        await consumer.caught_up()
    # Third run: nothing new, nothing redelivered (the PK on demo_tally_seen would fail on a repeat).
    again = Node(make_config(data))
    async with again.running():
        consumer = again.bus.consumers["demo.tally"]
        await consumer.caught_up()
        assert consumer.last_error is None
        assert await again.db.fetchval("SELECT count(*) FROM demo_tally_seen") == 45
        assert consumer.offset == again.events.length


async def test_failing_async_consumer_retries_the_same_batch_until_it_succeeds(tmp_path: Path):
    node = Node(make_config(tmp_path / "data"))
    seen: list[str] = []
    failures = {"left": 2}

    async def flaky(events):
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("transient")
        seen.extend(e.payload.id for e in events)

    async with node.running():
        consumer = node.bus.subscribe(Subscription("flaky", handle=flaky))
        await consumer.start()
        for i in range(3):
            await node.events.append("demo.note", Note(f"f{i}", "x"))
        await consumer.caught_up(timeout=15)
        await consumer.stop()
    assert sorted(set(seen)) == ["f0", "f1", "f2"]


async def test_live_listeners_get_committed_events_in_log_order(tmp_path: Path):
    node = Node(make_config(tmp_path / "data"))
    got: list[int] = []
    async with node.running():
        node.bus.listen(lambda events: got.extend(e.pos for e in events))
        await asyncio.gather(*(node.events.append("demo.note", Note(f"l{i}", "x")) for i in range(50)))
    assert got == sorted(got) and len(got) == 50


async def test_consumers_read_the_in_memory_tail_and_fall_back_to_the_log_when_behind_it(tmp_path: Path):
    node = Node(make_config(tmp_path / "data"))
    async with node.running():
        node.bus._tail = deque(maxlen=8)  # a tiny tail, so a slow consumer falls behind it
        reads: list[tuple[str, str]] = []
        db_fetchall = node.db.fetchall

        async def counting_fetchall(sql, *args, **kw):
            # whose read it was: the node's own consumers (search, analytics...) may fall behind
            # this tiny tail too on a busy machine
            task = asyncio.current_task()
            reads.append((task.get_name() if task else "", sql))
            return await db_fetchall(sql, *args, **kw)

        node.db.fetchall = counting_fetchall
        fast_seen: list[int] = []
        slow_seen: list[int] = []
        gate = asyncio.Event()

        async def fast(events):
            fast_seen.extend(e.pos for e in events)

        async def slow(events):
            await gate.wait()  # holds its first batch while 30 more events commit
            slow_seen.extend(e.pos for e in events)

        fast_c = node.bus.subscribe(Subscription("fast", handle=fast, batch_size=4))
        slow_c = node.bus.subscribe(Subscription("slow", handle=slow, batch_size=4))
        await fast_c.start()
        await slow_c.start()
        start = node.events.length
        await node.events.append("demo.note", Note("t0", "x"))
        await fast_c.caught_up()
        reads.clear()
        for i in range(1, 31):
            await node.events.append("demo.note", Note(f"t{i}", "x"))
        await fast_c.caught_up()
        fast_reads = [sql for task, sql in reads if task == "consumer:fast" and sql.startswith(SELECT_EVENTS)]
        assert fast_reads == [], "a consumer that keeps up reads nothing back from the database"
        gate.set()
        await slow_c.caught_up()
        expected = list(range(start + 1, node.events.length + 1))
        assert fast_seen == expected
        assert slow_seen == expected  # every event once, in order, across memory and disk
        slow_reads = [sql for task, sql in reads if task == "consumer:slow" and sql.startswith(SELECT_EVENTS)]
        assert slow_reads, "the slow one had to read the log"
        await fast_c.stop()
        await slow_c.stop()


async def test_a_lingering_consumer_takes_a_steady_trickle_in_batches(tmp_path: Path):
    node = Node(make_config(tmp_path / "data"))
    batches: list[int] = []

    async def costly(events):
        batches.append(len(events))
        await asyncio.sleep(0.03)  # its cost is per batch: a commit of the search index, say

    async with node.running():
        consumer = node.bus.subscribe(Subscription("costly", handle=costly, linger_s=0.2))
        await consumer.start()
        for i in range(30):  # one event every 20 ms: ten per linger
            await node.events.append("demo.note", Note(f"t{i}", "x"))
            await asyncio.sleep(0.02)
        await consumer.caught_up()
        await consumer.stop()
    assert sum(batches) == 30
    assert len(batches) <= 8, batches  # not one batch per event
