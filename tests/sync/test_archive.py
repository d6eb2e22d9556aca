"""Acceptance 6: a community exported from node A (`cryb export`) and imported on node C (`cryb
import`) shows the same state hash; a tampered archive is refused whole, naming what was wrong."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from cryb_node.sync import archive
from cryb_node.sync.wire import WireEvent
from tests.conftest import run_cryb
from tests.sync.conftest import Fed, make_community

_enc = msgspec.msgpack.Encoder().encode


async def _busy_community(a: Fed, b: Fed) -> str:
    """A community on a with a member homed on b: messages, an edit, a delete, a reaction, a role."""
    await a.pin(b), await b.pin(a)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    await b.session(a)
    bob = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", bob, json={})
    ids = [
        (await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": f"m{i}"}))["id"]
        for i in range(6)
    ]
    await a.ok("PATCH", f"/channels/{text}/messages/{ids[0]}", owner, json={"content": "edited"})
    await a.ok("DELETE", f"/channels/{text}/messages/{ids[1]}", owner)
    await b.ok("POST", f"/channels/{text}/messages", bob, json={"content": "from b"})
    await b.session(a)
    await b.ok("PUT", f"/messages/{ids[2]}/reactions/%F0%9F%91%8D", bob)
    await a.ok("POST", f"/communities/{cid}/roles", owner, json={"name": "mods", "perms": 64})
    await b.session(a)
    assert await a.state(cid) == await b.state(cid)
    return cid


def _tampered(data: bytes, how: str) -> bytes:
    arc = msgspec.msgpack.decode(data[len(archive.MAGIC) :], type=archive.Archive)
    events = list(arc.events)
    i = next(k for k, ev in enumerate(events) if ev.content is not None and len(ev.content) > 20)
    ev = events[i]
    if how == "body":
        body = bytearray(ev.body)
        body[-40] ^= 0x01
        events[i] = WireEvent(bytes(body), ev.sig, ev.content)
    elif how == "content":
        content = bytearray(ev.content or b"")
        content[-3] ^= 0x01
        events[i] = WireEvent(ev.body, ev.sig, bytes(content))
    elif how == "dropped content":
        events[i] = WireEvent(ev.body, ev.sig, None)
    elif how == "removed":
        del events[i]
    elif how == "reordered":
        events[i], events[i + 1] = events[i + 1], events[i]
    manifest = bytearray(arc.manifest)
    if how == "manifest":
        manifest[len(manifest) // 2] ^= 0x01
    out = archive.Archive(
        manifest=bytes(manifest), manifest_sig=arc.manifest_sig, certs=arc.certs, events=events
    )
    return archive.MAGIC + _enc(out)


async def test_exported_community_imports_with_the_same_state_hash(federation) -> None:
    a, b, c = await federation(3, pin=False)
    cid = await _busy_community(a, b)
    data = await archive.export(a.node, "community", cid)
    report = await archive.import_archive(c.node, data, batch=7)  # many transactions
    assert report.rejected == [] and report.forks == 0
    assert report.stored == report.events > 0
    assert await c.state(cid) == await a.state(cid)
    n = await a.count("SELECT count(*) FROM events WHERE community = ?", cid)
    assert await c.count("SELECT count(*) FROM events WHERE community = ?", cid) == n
    # the remote member stays homed on b, the owner on a
    homes = {bytes(r[0]) for r in await c.node.db.fetchall("SELECT node_key FROM sync_user_homes")}
    assert homes == {a.key, b.key}
    # importing again changes nothing
    again = await archive.import_archive(c.node, data)
    assert again.stored == 0 and again.duplicates == again.events
    # c can now join the federation and stays converged with a
    await c.pin(a), await a.pin(c)
    carol = await c.user()
    await c.ok("PUT", f"/communities/{cid}/members/@me", carol, json={})
    await c.session(a)
    await b.session(a)
    assert await a.state(cid) == await b.state(cid) == await c.state(cid)


@pytest.mark.parametrize(
    ("how", "error"),
    [
        ("body", "is invalid: bad signature"),
        ("content", "content does not match content_hash"),
        ("dropped content", "the content of event .* is missing"),
        ("manifest", "manifest's signature does not verify"),
        ("removed", "listed in the manifest is missing from the archive"),
        ("reordered", "not in the manifest's order"),
    ],
)
async def test_tampered_archive_is_refused_and_nothing_is_written(federation, how: str, error: str) -> None:
    a, b, c = await federation(3, pin=False)
    cid = await _busy_community(a, b)
    data = await archive.export(a.node, "community", cid)
    before = await c.count("SELECT count(*) FROM events")
    with pytest.raises(archive.ArchiveError, match=error):
        await archive.import_archive(c.node, _tampered(data, how))
    assert await c.count("SELECT count(*) FROM events") == before
    assert await c.count("SELECT count(*) FROM log_keys") == 1  # not even a certificate
    # any single flipped byte in the file is caught too
    for pos in (len(archive.MAGIC) + 5, len(data) // 3, len(data) // 2, len(data) - 2):
        flipped = bytearray(data)
        flipped[pos] ^= 0x20
        with pytest.raises(archive.ArchiveError):
            await archive.import_archive(c.node, bytes(flipped))
    assert await c.count("SELECT count(*) FROM events") == before


async def test_forged_chain_in_archive_is_refused(federation) -> None:
    """Re-signed by a stranger's log key: the certificate check names it."""
    a, b, c = await federation(3, pin=False)
    cid = await _busy_community(a, b)
    data = await archive.export(a.node, "community", cid)
    arc = msgspec.msgpack.decode(data[len(archive.MAGIC) :], type=archive.Archive)
    certs = arc.certs[1:]
    tampered = archive.MAGIC + _enc(
        archive.Archive(manifest=arc.manifest, manifest_sig=arc.manifest_sig, certs=certs, events=arc.events)
    )
    with pytest.raises(archive.ArchiveError, match="has no certificate"):
        await archive.import_archive(c.node, tampered)
    assert await c.count("SELECT count(*) FROM events WHERE community = ?", cid) == 0


async def test_cli_export_account_and_community_then_import(federation, tmp_path) -> None:
    a, b, c, fresh = await federation(4, pin=False)
    cid = await _busy_community(a, b)
    toml = tmp_path / "cli.toml"
    toml.write_text('[log]\nlevel = "WARNING"\n[plugins]\nextra = ["tests.demo_plugin:plugin"]\n')

    def cryb(node: Fed, *args: str):
        return run_cryb("--config", str(toml), "--data", str(node.node.data_dir), *args)

    out = tmp_path / "com.cryb"
    done = await asyncio.to_thread(cryb, a, "export", "community", cid, "--out", str(out))
    assert done.returncode == 0, done.stderr
    imported = await asyncio.to_thread(cryb, c, "import", str(out), "--json")
    assert imported.returncode == 0, imported.stderr
    assert f'"exported_by": "{a.key.hex()}"' in imported.stdout
    assert await c.state(cid) == await a.state(cid)
    # an account: its profile and what it wrote
    bob_id = await b.node.db.fetchval("SELECT user_id FROM sync_user_homes WHERE node_key = ?", (b.key,))
    acct = tmp_path / "bob.cryb"
    done = await asyncio.to_thread(cryb, b, "export", "account", bob_id, "--out", str(acct))
    assert done.returncode == 0, done.stderr
    arc = archive.check(acct.read_bytes())[1]
    authors = {msgspec.msgpack.decode(e.body)[6] for e in arc.events}
    assert authors == {bob_id}
    # a tampered file: exit 1, the reason named, nothing imported
    raw = bytearray(out.read_bytes())
    raw[-2] ^= 0x01
    bad = tmp_path / "bad.cryb"
    bad.write_bytes(bytes(raw))
    refused = await asyncio.to_thread(cryb, fresh, "import", str(bad))
    assert refused.returncode == 1 and "archive refused, nothing imported" in refused.stderr
    assert await fresh.count("SELECT count(*) FROM events WHERE community = ?", cid) == 0
    missing = await asyncio.to_thread(cryb, a, "export", "community", "nope", "--out", str(bad))
    assert missing.returncode == 1 and "no community nope" in missing.stderr
