"""Erased text is gone from the database files themselves, not only from what SQL can see: SQLite
zeroes deleted content (secure_delete), so freed pages of cryb.db keep no copy after a checkpoint."""

from __future__ import annotations

from cryb_node.appkeys import NODE
from cryb_node.db import connect
from tests.content.conftest import call, ok
from tests.users_fixtures import PASSWORD


async def test_an_erased_accounts_messages_leave_no_bytes_in_the_database_files(space):
    c, member = space.client, space.member
    marker = "zyxwvut-erase-me-0451"
    for i in range(20):
        await ok(c, "POST", f"/channels/{space.text}/messages", member, json={"content": f"{marker} {i}"})
    await ok(c, "POST", f"/channels/{space.text}/messages", space.owner, json={"content": "kept-text-8812"})
    node = c.server.app[NODE]

    def checkpoint() -> None:  # as Litestream or SQLite's autocheckpoint would, on its own connection
        conn = connect(node.db_path, busy_timeout_ms=1000)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()

    async def on_disk() -> bytes:
        await node.db.write(lambda conn: None)  # everything queued is committed
        return b"".join(p.read_bytes() for p in node.data_dir.glob("cryb.db*") if p.is_file())

    assert marker.encode() in await on_disk()  # before: the text is there (in the WAL or the file)
    status, _ = await call(c, "DELETE", "/users/@me", member, json={"password": PASSWORD})
    assert status == 204
    deadline = 50
    while deadline and await node.db.fetchval(
        "SELECT count(*) FROM content_messages WHERE content LIKE ?", (f"%{marker}%",)
    ):
        deadline -= 1
        await node.db.write(lambda conn: None)
    assert deadline, "the account's messages were not erased"
    raw = b""
    for _ in range(3):  # a reader's snapshot can hold a checkpoint back for a moment
        checkpoint()
        raw = await on_disk()
        if marker.encode() not in raw:
            break
    assert marker.encode() not in raw
    assert b"kept-text-8812" in raw  # what was not erased is still there
