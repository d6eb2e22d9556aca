"""Moving an account: its history exported and imported on the new node, a user.moved event signed
by its home re-homes it everywhere (only the new home may author for it), and the old node keeps a
forwarding record that answers where the account lives now."""

from __future__ import annotations

import asyncio

import pytest
from cryb_plugins.content.events import MessageCreate

from cryb_node.problems import Problem
from cryb_node.sync import archive, homes
from cryb_node.sync.ingest import home_of
from tests.conftest import run_cryb
from tests.sync.conftest import make_community, mesh
from tests.sync.rogue import Rogue


async def test_account_moves_with_a_forwarding_record(federation, tmp_path) -> None:
    a, b, c = await federation(3)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    alice = await a.user()
    await a.ok("PUT", f"/communities/{cid}/members/@me", alice, json={})
    await a.ok("POST", f"/channels/{text}/messages", alice, json={"content": "written on a"})
    await mesh([a, b, c], rounds=1)
    data = await archive.export(a.node, "account", alice.id)
    fresh = await archive.import_archive(b.node, data)
    assert fresh.rejected == [] and fresh.duplicates == fresh.events  # b already replicated it all

    # only the account's home can move it
    try:
        await homes.move_account(b.node, alice.id, c.key, c.url)
        raise AssertionError("b is not alice's home")
    except homes.HomeError as err:
        assert "not homed on this node" in str(err)
    toml = tmp_path / "cli.toml"
    toml.write_text('[log]\nlevel = "WARNING"\n')
    done = await asyncio.to_thread(
        run_cryb, "--config", str(toml), "--data", str(a.node.data_dir), "sync", "move-account", alice.id, "b"
    )
    assert done.returncode == 0, done.stderr
    assert "cryb user reset-password" in done.stdout  # how its owner signs in on the new home
    await mesh([a, b, c], rounds=1)
    for f in (a, b, c):
        assert (
            await f.node.db.fetchval("SELECT node_key FROM sync_user_homes WHERE user_id = ?", (alice.id,))
            == b.key
        )

    # the old node forwards: its answer names the new home
    home = await a.ok("GET", f"/users/{alice.id}/home")
    assert home == {"user_id": alice.id, "node_key": b.key.hex(), "url": b.url, "moved": True}
    assert (await b.ok("GET", f"/users/{alice.id}/home"))["url"] == b.url
    assert (await c.ok("GET", f"/users/{owner.id}/home"))["node_key"] == a.key.hex()
    status, _ = await a.call("GET", "/users/nobody/home")
    assert status == 404
    # and the old node's profile answer is a redirect to the new home's; elsewhere, the profile
    resp = await a.client.get(f"/api/v1/users/{alice.id}", allow_redirects=False)
    assert resp.status == 308 and resp.headers["Location"] == f"{b.url}/api/v1/users/{alice.id}"
    for f in (b, c):
        assert (await f.ok("GET", f"/users/{alice.id}"))["id"] == alice.id
    assert (await a.ok("GET", f"/users/{owner.id}"))["id"] == owner.id

    # from now on b's log may write as alice and a's may not
    await b.node.events.append(
        "message.create", MessageCreate(channel_id=text, content="written on b"),
        community=cid, author=alice.id, target="moved0000000000000000000001",
    )  # fmt: skip
    # a's own API refuses to write as her; a's log carrying it anyway is refused by the others
    with pytest.raises(Problem, match="author_moved"):
        await a.node.events.append(
            "message.create", MessageCreate(channel_id=text, content="forged on a"),
            community=cid, author=alice.id, target="forged000000000000000000001",
        )  # fmt: skip
    Rogue(a.node.data_dir).forge(
        "message.create", MessageCreate(channel_id=text, content="forged on a"),
        community=cid, author=alice.id, target="forged000000000000000000001",
    )  # fmt: skip
    report = await b.session(a)
    assert report.rejected == 0  # stored as evidence, never shown
    refused = await b.node.db.fetchall("SELECT code FROM event_refusals WHERE author = ?", (alice.id,))
    assert [r[0] for r in refused] == ["author_moved"]
    await c.session(b)
    for f in (b, c):
        texts = {r[0] for r in await f.node.db.fetchall("SELECT content FROM content_messages")}
        assert "written on b" in texts and "forged on a" not in texts and "written on a" in texts
        assert await home_of_db(f, alice.id) == b.key


async def home_of_db(f, user_id: str) -> bytes | None:
    return await f.node.db.write(lambda conn: home_of(conn, user_id))
