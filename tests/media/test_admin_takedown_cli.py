"""`cryb media list|takedown|block|unblock|blocklist`: the same functions as the admin API, run on
the data of a serving node (which sees the result at once), audited as the operator's; and every
`cryb media` example of the README's take-down section, run as written."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shlex

from tests.conftest import ROOT, run_cryb, write_config
from tests.users_fixtures import register_user

from .conftest import jpeg_with_gps, mp3_like, upload, upload_ok
from .test_admin_takedown import blob_files, fetch, rows, url_of


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def cryb(tmp_path, *args: str):
    cfg = write_config(tmp_path / "cryb.toml", '[log]\nlevel = "WARNING"\n')
    return await asyncio.to_thread(run_cryb, "--config", str(cfg), "--data", str(tmp_path / "data"), *args)


async def test_cli_lists_uploads_newest_first_by_user(client, tmp_path):
    alice_id, alice = await register_user(client)
    _, bob = await register_user(client)
    first = await upload_ok(client, alice, mp3_like(2000), filename="one.mp3")
    second = await upload_ok(client, alice, jpeg_with_gps(200, 120, orientation=1), filename="two.jpg")
    await upload_ok(client, bob, mp3_like(2100))
    done = await cryb(tmp_path, "media", "list", "--user", alice_id, "--json")
    assert done.returncode == 0, done.stderr
    page = json.loads(done.stdout)
    assert [i["id"] for i in page["items"]] == [second["id"], first["id"]]
    assert (page["items"][1]["filename"], page["items"][1]["sha256"]) == ("one.mp3", sha(mp3_like(2000)))
    done = await cryb(tmp_path, "media", "list", "--user", alice_id)
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith(second["id"]) and "two.jpg" in lines[0]
    assert "audio" in lines[1] and sha(mp3_like(2000))[:12] in lines[1] and "unattached" in lines[1]
    done = await cryb(tmp_path, "media", "list", "--sha256", "XYZ")
    assert done.returncode == 2 and "64 lowercase hex" in done.stderr


async def test_cli_takedown_removes_the_files_for_the_serving_node_and_is_audited(client, tmp_path):
    alice_id, alice = await register_user(client)
    photo = jpeg_with_gps(300, 200, orientation=1)
    up = await upload_ok(client, alice, photo)
    done = await cryb(tmp_path, "media", "takedown", up["id"], "--reason", "court order 7", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["media_ids"] == [up["id"]] and out["blobs_deleted"] == len(up["variants"])
    assert blob_files(client) == set()
    # the serving node: 404, and the bytes refused
    assert (await fetch(client, url_of(up), alice))[0] == 404
    resp = await upload(client, alice, photo)
    assert resp.status == 422 and (await resp.json())["code"] == "media_blocked"
    audit = await rows(
        client, "SELECT user_id, actor_id, detail FROM users_audit WHERE action = 'media.takedown'"
    )
    assert [(a[0], a[1]) for a in audit] == [(alice_id, None)]
    assert json.loads(audit[0][2])["via"] == "cli" and json.loads(audit[0][2])["reason"] == "court order 7"
    done = await cryb(tmp_path, "media", "list")
    assert "TAKEN DOWN" in done.stdout
    # again: a conflict, exit 1 with the reason
    done = await cryb(tmp_path, "media", "takedown", up["id"], "--reason", "again")
    assert done.returncode == 1 and "already taken down" in done.stderr


async def test_cli_refuses_bad_takedowns(client, tmp_path):
    for args, code, text in [
        (("media", "takedown", "x", "--sha256", "a" * 64, "--reason", "r"), 2, "MEDIA_ID or --sha256"),
        (("media", "takedown", "01m8zzzzzzzzzzzzzzzzzzzzzz", "--reason", "r"), 1, "media not found"),
        (("media", "unblock", "b" * 64), 1, "block list entry not found"),
    ]:
        done = await cryb(tmp_path, *args)
        assert (done.returncode, text in done.stderr) == (code, True), (args, done.stderr)
    assert await rows(client, "SELECT count(*) FROM media_blocklist") == [(0,)]


async def test_cli_block_names_existing_uploads_and_unblock_frees_the_bytes(client, tmp_path):
    _, alice = await register_user(client)
    song = mp3_like(2500)
    await upload_ok(client, alice, song)
    done = await cryb(tmp_path, "media", "block", sha(song), "--reason", "known file")
    assert done.returncode == 0, done.stderr
    assert f"blocked {sha(song)}" in done.stdout and "1 uploads here already have these bytes" in done.stdout
    done = await cryb(tmp_path, "media", "blocklist", "--json")
    assert [e["sha256"] for e in json.loads(done.stdout)["entries"]] == [sha(song)]
    assert (await upload(client, alice, song)).status == 422
    done = await cryb(tmp_path, "media", "unblock", sha(song))
    assert done.returncode == 0 and f"unblocked {sha(song)}" in done.stdout
    await upload_ok(client, alice, song)
    done = await cryb(tmp_path, "media", "blocklist")
    assert done.stdout.strip() == "the block list is empty"
    actions = await rows(
        client, "SELECT action, actor_id FROM users_audit WHERE action LIKE 'media.%' ORDER BY id"
    )
    assert actions == [("media.block", None), ("media.unblock", None)]


def readme_examples() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("#### Take-downs and the block list (node admins)", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.startswith("cryb media ")]


async def test_the_readmes_take_down_examples_run_as_written(client, tmp_path):
    examples = readme_examples()
    assert len(examples) == 7
    alice_id, alice = await register_user(client)
    photo = await upload_ok(client, alice, jpeg_with_gps(300, 200, orientation=1))
    song = mp3_like(2600)
    await upload_ok(client, alice, song)
    values = {"USER_ID": alice_id, "MEDIA_ID": photo["id"], "SHA256": sha(song)}
    outputs = []
    for line in examples:
        args = [values.get(a, a) for a in shlex.split(line)[1:]]
        done = await cryb(tmp_path, *args)
        assert done.returncode == 0, (line, done.stderr)
        outputs.append(done.stdout)
    assert len(outputs[0].splitlines()) == 2  # alice's two uploads
    assert json.loads(outputs[1])["items"][0]["sha256"] == sha(song)
    assert (await fetch(client, url_of(photo), alice))[0] == 404
    assert sha(song) in outputs[4] and "reported abuse image" in outputs[4]
    assert await rows(client, "SELECT reason FROM media_blocklist WHERE sha256 = ?", sha(song)) == [
        ("known abuse image",)
    ]
    assert blob_files(client) == set()
