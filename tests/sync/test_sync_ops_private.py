"""What a peer receives: nothing naming a private community, or a private channel, reaches a peer
that hosts no member who may see it; checked in the peer's database file itself."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cryb_node.node import DB_FILE
from cryb_node.services import Perm
from tests.sync.conftest import Fed, make_community, mesh

VIEW = int(Perm.VIEW_CHANNEL)
# Words that appear nowhere else, so finding one in a file means the metadata got there.
SECRET_COMMUNITY = ("Orchidvault", "burrowlore")  # a private community's name and description
SECRET_CHANNEL = ("plotroom", "quietschemes")  # a channel of it: name and topic
STAFF_CHANNEL = ("staffnook", "rostertalk")  # a private channel of a public community: name, topic
SECRETS = (*SECRET_COMMUNITY, *SECRET_CHANNEL, *STAFF_CHANNEL)


def found_in_files(fed: Fed, words: tuple[str, ...]) -> set[str]:
    """The words present anywhere in the node's database (the main file and its WAL)."""
    db = Path(fed.node.data_dir) / DB_FILE
    data = b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())
    return {w for w in words if w.encode() in data or w.lower().encode() in data}


def names_in_tables(fed: Fed, words: tuple[str, ...]) -> set[str]:
    """The words in any text column of any table (read through SQLite: WAL included)."""
    conn = sqlite3.connect(Path(fed.node.data_dir) / DB_FILE)
    try:
        seen: set[str] = set()
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                text = b" ".join(v if isinstance(v, bytes) else str(v).encode() for v in row if v is not None)
                seen |= {w for w in words if w.encode() in text}
        return seen
    finally:
        conn.close()


async def test_a_peer_without_members_receives_nothing_naming_private_things(federation) -> None:
    a, b, c = await federation(3)
    owner = await a.user()
    secret = await a.ok(
        "POST",
        "/communities",
        owner,
        json={"name": SECRET_COMMUNITY[0], "description": SECRET_COMMUNITY[1], "public": False},
    )
    await a.ok(
        "POST",
        f"/communities/{secret['id']}/channels",
        owner,
        json={"name": SECRET_CHANNEL[0], "topic": SECRET_CHANNEL[1], "kind": "text"},
    )
    cid, text = await make_community(a, owner)
    await mesh([a, b, c], rounds=1)
    bob, carol = await b.user(), await c.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", bob, json={})
    await c.ok("PUT", f"/communities/{cid}/members/@me", carol, json={})
    await mesh([a, b, c], rounds=1)
    staff = (
        await a.ok(
            "POST",
            f"/communities/{cid}/channels",
            owner,
            json={"name": STAFF_CHANNEL[0], "topic": STAFF_CHANNEL[1], "kind": "text"},
        )
    )["id"]
    await a.ok("PUT", f"/channels/{staff}/overwrites/role/{cid}", owner, json={"deny": VIEW})
    await a.ok("PUT", f"/channels/{staff}/overwrites/member/{bob.id}", owner, json={"allow": VIEW})
    await a.ok("PATCH", f"/channels/{staff}", owner, json={"topic": STAFF_CHANNEL[1] + " again"})
    await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": "for everyone"})
    await mesh([a, b, c])
    for x in (a, b, c):
        for y in (a, b, c):
            if x is not y:
                await x.session(y, reconcile=True)

    # c hosts no member of the private community and none allowed in #staffnook
    assert found_in_files(c, SECRETS) == set()
    assert names_in_tables(c, SECRETS) == set()
    assert await c.count("SELECT count(*) FROM events WHERE community = ?", secret["id"]) == 0
    # ... yet has the public community (the check can see what it looks for: b has #staffnook)
    assert await c.count("SELECT count(*) FROM content_messages WHERE community_id = ?", cid) == 1
    assert names_in_tables(b, SECRETS) == set(STAFF_CHANNEL)
    assert names_in_tables(a, SECRETS) == set(SECRETS)
    status, _ = await c.call("GET", f"/channels/{staff}/messages", carol)
    assert status == 404  # c does not know the channel exists
    chans = await b.ok("GET", f"/communities/{cid}/channels", bob)
    assert staff in {ch["id"] for ch in chans["channels"]}
