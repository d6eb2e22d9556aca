"""The database: group commit, savepoint isolation of failing writes, pragmas, SQLite version floor."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from cryb_node import db as db_module
from cryb_node.db import Database, SQLiteTooOld, check_sqlite_version


@pytest.fixture
async def db(tmp_path: Path):
    database = Database(tmp_path / "t.db", readers=2)
    await database.open()
    await database.write(lambda c: c.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
    yield database
    await database.close()


async def test_200_concurrent_writes_commit_in_fewer_transactions(db: Database):
    before = db.stats.transactions
    await asyncio.gather(
        *(
            db.write(lambda c, i=i: c.execute("INSERT INTO t (n, v) VALUES (?, ?)", (i, f"v{i}")))
            for i in range(200)
        )
    )
    used = db.stats.transactions - before
    assert await db.fetchval("SELECT count(*) FROM t") == 200
    assert used < 200
    assert db.stats.largest_group > 1


async def test_a_failing_write_rolls_back_alone(db: Database):
    def bad(c):
        c.execute("INSERT INTO t (n, v) VALUES (1000, 'half')")
        c.execute("INSERT INTO t (n, v) VALUES (1001, NULL)")  # NOT NULL fails

    results = await asyncio.gather(
        db.write(lambda c: c.execute("INSERT INTO t (n, v) VALUES (1, 'a')")),
        db.write(bad),
        db.write(lambda c: c.execute("INSERT INTO t (n, v) VALUES (2, 'b')")),
        return_exceptions=True,
    )
    assert isinstance(results[1], Exception) and "NOT NULL" in str(results[1])
    rows = await db.fetchall("SELECT n FROM t ORDER BY n")
    assert [r[0] for r in rows] == [1, 2]  # 1000 was rolled back with its job


async def test_a_failing_write_alone_in_its_group_rolls_back(db: Database):
    def bad(c):
        c.execute("INSERT INTO t (n, v) VALUES (1000, 'half')")
        c.execute("INSERT INTO t (n, v) VALUES (1001, NULL)")

    with pytest.raises(Exception, match="NOT NULL"):
        await db.write(bad)
    await db.write(lambda c: c.execute("INSERT INTO t (n, v) VALUES (1, 'a')"))
    assert [r[0] for r in await db.fetchall("SELECT n FROM t ORDER BY n")] == [1]


async def test_an_alone_write_gets_a_transaction_of_its_own(db: Database, monkeypatch):
    """Writes queued around an ``alone`` one are grouped without it, and its failure is its own."""
    groups: list[list[int]] = []
    commit_group = db._commit_group

    def recorded(batch):
        groups.append([])
        return commit_group(batch)

    monkeypatch.setattr(db, "_commit_group", recorded)

    def insert(n: int, fail: bool = False):
        def fn(c):
            groups[-1].append(n)
            c.execute("INSERT INTO t (n, v) VALUES (?, 'x')", (n,))
            if fail:
                raise RuntimeError("the alone write fails")

        return fn

    writes = [db.write(insert(i)) for i in range(5)]
    writes.append(db.write(insert(100, fail=True), alone=True))
    writes += [db.write(insert(i)) for i in range(5, 10)]
    results = await asyncio.gather(*writes, return_exceptions=True)
    assert isinstance(results[5], RuntimeError)
    assert [r for i, r in enumerate(results) if i != 5] == [None] * 10
    assert [r[0] for r in await db.fetchall("SELECT n FROM t ORDER BY n")] == list(range(10))
    assert [100] in groups and all(100 not in g for g in groups if g != [100])
    assert max(len(g) for g in groups) > 1  # the others were still grouped


async def test_pragmas_are_set(db: Database):
    async with db.reader() as conn:
        assert (await conn.execute_fetchall("PRAGMA journal_mode"))[0][0] == "wal"
        assert (await conn.execute_fetchall("PRAGMA foreign_keys"))[0][0] == 1
        assert (await conn.execute_fetchall("PRAGMA busy_timeout"))[0][0] == 5000


async def test_writes_are_visible_to_readers_once_acknowledged(db: Database):
    for i in range(20):
        await db.write(lambda c, i=i: c.execute("INSERT INTO t (n, v) VALUES (?, 'x')", (i,)))
        assert await db.fetchval("SELECT count(*) FROM t WHERE n = ?", (i,)) == 1


def test_sqlite_older_than_3_51_3_is_refused():
    with pytest.raises(SQLiteTooOld, match="3.40.1 is too old"):
        check_sqlite_version((3, 40, 1))
    check_sqlite_version((3, 51, 3))


async def test_an_inline_read_sees_each_acknowledged_write_like_the_pool(db: Database):
    for i in range(3):
        await db.write(lambda c, i=i: c.execute("INSERT INTO t (n, v) VALUES (?, ?)", (i, f"v{i}")))
        inline = await db.fetchall_inline("SELECT n, v FROM t ORDER BY n")
        pooled = await db.fetchall("SELECT n, v FROM t ORDER BY n")
        assert (
            [tuple(r) for r in inline] == [tuple(r) for r in pooled] == [(n, f"v{n}") for n in range(i + 1)]
        )


async def test_an_inline_read_of_a_locked_database_goes_to_the_pool(db: Database, monkeypatch):
    import pysqlite3.dbapi2 as sqlite3

    class Busy:
        def execute(self, *args):
            raise sqlite3.OperationalError("database is locked")

        def close(self) -> None:
            pass

    await db.write(lambda c: c.execute("INSERT INTO t (n, v) VALUES (1, 'one')"))
    monkeypatch.setattr(db, "_inline", Busy())
    assert [tuple(r) for r in await db.fetchall_inline("SELECT n, v FROM t")] == [(1, "one")]


async def test_writes_racing_a_close_are_answered_not_left_waiting(tmp_path: Path):
    """Something still writing while the node shuts down (a consumer, a lifespan's last update) gets
    an answer: committed, or refused because the database is closing. Before, a write queued just as
    close() saw the queue drain was left to a cancelled writer and its caller waited forever (a
    federation test's teardown hung a full run)."""
    db = Database(tmp_path / "race.db")
    await db.open()
    await db.write(lambda c: c.execute("CREATE TABLE t (x)"))
    done: list[int] = []

    async def keep_writing(n: int) -> None:
        for i in range(10_000):
            await db.write(lambda c, i=i: c.execute("INSERT INTO t VALUES (?)", (i,)))
            done.append(n)

    writers = [asyncio.create_task(keep_writing(n)) for n in range(4)]
    while len(done) < 20:
        await asyncio.sleep(0)
    await asyncio.wait_for(db.close(), 10)
    finished, pending = await asyncio.wait(writers, timeout=5)
    assert not pending, "a write racing close() was never answered"
    for task in finished:
        assert isinstance(task.exception(), RuntimeError) and "closing" in str(task.exception())
    with pytest.raises(RuntimeError, match="not open"):
        await db.write(lambda c: None)


async def _until(predicate, what: str, limit_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit_s
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.01)


async def test_a_commit_never_checkpoints_a_thread_of_its_own_does(tmp_path: Path):
    # A checkpoint inside COMMIT (SQLite's wal_autocheckpoint) made every writer of that group wait
    # for the checkpoint's two fsyncs: 8-10 ms stalls, the p99 of the fan-out bench.
    path = tmp_path / "c.db"
    db = Database(path, readers=1, checkpoint_every_s=0.02)
    await db.open()
    try:
        assert await db.run_in_writer(lambda c: c.execute("PRAGMA wal_autocheckpoint").fetchone()[0]) == 0
        await db.write(lambda c: c.execute("CREATE TABLE b (x BLOB)"))
        before = path.stat().st_size
        for _ in range(20):
            await db.write(lambda c: c.execute("INSERT INTO b VALUES (randomblob(8000))"))
        # The checkpoint thread copied the WAL's pages into the database file.
        await _until(lambda: path.stat().st_size >= before + 20 * 8000, "no checkpoint copied the writes")
        # ... and counted it once it returned (the file grows while it copies, before that)
        await _until(lambda: db.checkpoints.done >= 1, "the checkpoint was not counted")

        # While Litestream replicates it does the checkpoints: the node's thread copies nothing.
        await db.set_checkpoints(False)
        size, done, rounds = path.stat().st_size, db.checkpoints.done, db.checkpoints.rounds
        for _ in range(10):
            await db.write(lambda c: c.execute("INSERT INTO b VALUES (randomblob(8000))"))
        await _until(lambda: db.checkpoints.rounds > rounds, "the checkpoint thread stopped")
        assert (path.stat().st_size, db.checkpoints.done) == (size, done)

        await db.set_checkpoints(True)
        await db.write(lambda c: c.execute("INSERT INTO b VALUES (randomblob(8000))"))
        await _until(lambda: path.stat().st_size >= size + 11 * 8000, "checkpoints did not resume")
    finally:
        await db.close()
    assert not any(t.name == "cryb-checkpoint" for t in threading.enumerate())


async def test_the_checkpoint_thread_outlives_a_busy_database_when_it_opens(tmp_path: Path, monkeypatch):
    # In the full suite the thread's connection once met "database is locked" as it opened (another
    # connection recovering the WAL) and the thread died: no checkpoint for the rest of the process.
    # SQLite's answer is injected here, for the first connection the thread makes.
    real = db_module.connect
    refused: list[str] = []

    def busy_once(*args, **kwargs):
        if threading.current_thread().name == "cryb-checkpoint" and not refused:
            refused.append("busy")
            raise db_module.sqlite3.OperationalError("database is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(db_module, "connect", busy_once)
    path = tmp_path / "busy.db"
    db = Database(path, readers=1, checkpoint_every_s=0.02)
    await db.open()
    try:
        await db.write(lambda c: c.execute("CREATE TABLE b (x BLOB)"))
        await _until(lambda: refused == ["busy"], "the thread never tried to open its connection")
        before = path.stat().st_size
        for _ in range(5):
            await db.write(lambda c: c.execute("INSERT INTO b VALUES (randomblob(8000))"))
        await _until(lambda: path.stat().st_size >= before + 5 * 8000, "no checkpoint after the busy open")
        assert db.checkpoints.done >= 1
    finally:
        await db.close()
