"""The event log: signed exact bytes, gap-free sequences, HLC order, doctor catching tampering."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import msgspec
import pytest

from cryb_node.db import connect
from cryb_node.events import DOMAIN, InvalidEvent, verify
from cryb_node.node import Node
from tests.conftest import make_config, run_cryb
from tests.demo_plugin import Note


@pytest.fixture
async def node(tmp_path: Path):
    n = Node(make_config(tmp_path / "data"))
    async with n.running(background=False):
        yield n


async def test_appended_events_are_signed_gap_free_and_ordered(node: Node):
    for i in range(30):
        await node.events.append("demo.note", Note(f"n{i}", f"text {i}"), author="u1")
    rows = await node.db.fetchall("SELECT id, origin, seq, hlc, body, sig FROM events ORDER BY pos")
    assert [r["seq"] for r in rows] == list(range(1, 31))
    hlcs = [r["hlc"] for r in rows]
    assert hlcs == sorted(hlcs) and len(set(hlcs)) == 30
    prev = None
    for r in rows:
        body = verify(r["body"], r["sig"])
        assert hashlib.sha256(r["body"]).digest() == r["id"]
        assert body.origin == node.identity.origin and body.prev == prev
        prev = r["id"]


async def test_a_concurrent_burst_keeps_sequences_gap_free(node: Node):
    import asyncio

    await asyncio.gather(*(node.events.append("demo.note", Note(f"c{i}", "x")) for i in range(100)))
    seqs = [r[0] for r in await node.db.fetchall("SELECT seq FROM events ORDER BY seq")]
    assert seqs == list(range(1, 101))


def test_verify_rejects_a_flipped_byte_and_a_wrong_content(tmp_path: Path):
    import nacl.signing

    key = nacl.signing.SigningKey.generate()
    from cryb_node.events import EventBody

    content = msgspec.msgpack.encode(Note("a", "b"))
    body = msgspec.msgpack.encode(
        EventBody(
            1,
            None,
            bytes(key.verify_key),
            1,
            None,
            5,
            None,
            "demo.note",
            None,
            [],
            hashlib.sha256(content).digest(),
        )
    )
    sig = key.sign(DOMAIN + body).signature
    assert verify(body, sig, content).seq == 1
    flipped = bytearray(body)
    flipped[-3] ^= 1
    with pytest.raises(InvalidEvent, match="bad signature"):
        verify(bytes(flipped), sig)
    with pytest.raises(InvalidEvent, match="content does not match"):
        verify(body, sig, msgspec.msgpack.encode(Note("a", "changed")))


async def test_projection_is_applied_in_the_same_transaction(node: Node):
    await node.events.append("demo.note", Note("p1", "projected"))
    assert await node.db.fetchval("SELECT text FROM demo_notes WHERE id = 'p1'") == "projected"


async def test_unknown_event_kind_is_refused_and_nothing_is_written(node: Node):
    with pytest.raises(ValueError, match="unknown event kind"):
        await node.events.append("nope.kind", Note("x", "y"))
    assert await node.db.fetchval("SELECT count(*) FROM events") == 0


async def test_failed_projection_rolls_back_the_event_and_keeps_seq_gap_free(node: Node):
    await node.events.append("demo.note", Note("dup", "first"))
    with pytest.raises(Exception, match="UNIQUE"):
        await node.events.append("demo.note", Note("dup", "second"))  # projection's PK refuses
    await node.events.append("demo.note", Note("next", "third"))
    assert [r[0] for r in await node.db.fetchall("SELECT seq FROM events ORDER BY seq")] == [1, 2]


async def test_keys_and_database_survive_restart(tmp_path: Path):
    cfg = make_config(tmp_path / "data")
    first = Node(cfg)
    async with first.running(background=False):
        await first.events.append("demo.note", Note("k1", "x"))
        key = first.identity.node_public
    assert first.first_start
    second = Node(cfg)
    async with second.running(background=False):
        assert second.identity.node_public == key and not second.first_start
        ev = await second.events.append("demo.note", Note("k2", "y"))
        assert ev.body.seq == 2


def _doctor(cfg_file: Path, data: Path):
    res = run_cryb("--config", str(cfg_file), "--data", str(data), "doctor", "--offline", "--json")
    return res.returncode, {c["check"]: c for c in json.loads(res.stdout)}


async def test_doctor_is_clean_then_detects_a_flipped_byte_in_a_stored_event(
    tmp_path: Path, demo_config_file: Path
):
    data = tmp_path / "data"
    node = Node(make_config(data))
    async with node.running(background=False):
        for i in range(5):
            await node.events.append("demo.note", Note(f"d{i}", "x"))
    code, checks = _doctor(demo_config_file, data)
    assert code == 0 and checks["event_log"]["detail"] == "5 events verified"

    conn = connect(data / "cryb.db", busy_timeout_ms=1000)
    body = bytearray(conn.execute("SELECT body FROM events WHERE seq = 3").fetchone()[0])
    body[len(body) // 2] ^= 0x01
    conn.execute("UPDATE events SET body = ? WHERE seq = 3", (bytes(body),))
    conn.close()
    code, checks = _doctor(demo_config_file, data)
    assert code == 1
    assert not checks["event_log"]["ok"]
    assert "event pos 3 (demo.note)" in checks["event_log"]["detail"]


async def test_doctor_detects_tampered_content_and_loose_key_permissions(
    tmp_path: Path, demo_config_file: Path
):
    data = tmp_path / "data"
    node = Node(make_config(data))
    async with node.running(background=False):
        await node.events.append("demo.note", Note("t1", "original"))
    conn = connect(data / "cryb.db", busy_timeout_ms=1000)
    conn.execute("UPDATE event_content SET content = ?", (msgspec.msgpack.encode(Note("t1", "forged")),))
    conn.close()
    (data / "keys" / "node.key").chmod(0o644)
    code, checks = _doctor(demo_config_file, data)
    assert code == 1
    assert "content does not match" in checks["event_log"]["detail"]
    assert "chmod 600" in checks["keys:node.key"]["detail"]


async def test_ingesting_a_long_log_costs_the_same_per_event_at_its_end(node: Node, tmp_path: Path):
    """Catch-up must stay linear: checking a peer event's clock against its neighbours in its origin's
    log is one index step, not a walk over every earlier event of that origin (which made catch-up
    quadratic). Measured in SQLite VM steps, which do not depend on the machine's load."""
    for i in range(400):
        await node.events.append("demo.note", Note(f"n{i}", "x"), author="u1")
    rows = await node.db.fetchall(
        "SELECT e.body, e.sig, c.content FROM events e LEFT JOIN event_content c ON c.event_id = e.id"
        " ORDER BY e.seq"
    )
    keys = await node.db.fetchall("SELECT origin, node_key, cert, created_at FROM log_keys")
    replica = Node(make_config(tmp_path / "replica"))
    async with replica.running(background=False):

        def replay(conn) -> list[int]:
            conn.executemany("INSERT OR IGNORE INTO log_keys VALUES (?, ?, ?, ?)", [tuple(k) for k in keys])
            steps = [0]

            def count() -> int:
                steps[0] += 1
                return 0

            cost = []
            conn.set_progress_handler(count, 1)
            try:
                for raw, sig, content in rows:
                    steps[0] = 0
                    replica.events.ingest(conn, raw, sig, content, verify(raw, sig, content))
                    cost.append(steps[0])
            finally:
                conn.set_progress_handler(None, 1)
            return cost

        cost = await replica.db.write(replay)
        assert await replica.db.fetchval("SELECT count(*) FROM events") == 400
    early, late = sorted(cost[40:60])[10], sorted(cost[380:400])[10]
    assert late < early * 1.5, (early, late)
