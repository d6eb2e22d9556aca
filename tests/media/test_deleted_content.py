"""Media goes with the content that attaches it: an author's delete of a message or post, or their
account's erasure, deletes its attachments for everyone (the owner too), and the cleanup job then
removes the stored files nothing else uses. A moderator's removal keeps them."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from cryb_plugins.media import gc

from cryb_node.appkeys import NODE
from tests.conftest import run_cryb, write_config
from tests.content.conftest import Space, call, cc, make_space, ok  # noqa: F401 (cc: a fixture)
from tests.users_fixtures import PASSWORD

from .conftest import mp3_like, path_of, png_with_alpha, service, upload_ok

HOUR_MS = 3_600_000


@pytest.fixture
async def space(cc) -> Space:  # noqa: F811 (cc is the fixture imported above)
    return await make_space(cc)


async def caught_up(c) -> None:
    await c.app[NODE].bus.consumers["media.attached"].caught_up()


def blob_files(c) -> set[str]:
    return {p.name for p in (service(c).root / "blobs").rglob("*") if p.is_file()}


async def collect(c):
    # Past every grace period: what is doomed goes now.
    return await gc.collect(service(c), now=int(time.time() * 1000) + 1000 * HOUR_MS)


async def fetch(c, media: dict, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    described = await c.get(f"/api/v1/media/{media['id']}", headers=headers)
    served = await c.get(path_of(media["variants"][0]["url"]), headers=headers)
    return max(described.status, served.status)


async def send(space, user, media_ids: list[str], text: str = "look") -> dict:
    return await ok(space.client, "POST", f"/channels/{space.text}/messages", user,
                    json={"content": text, "attachments": media_ids})  # fmt: skip


async def test_an_authors_delete_takes_the_messages_media_and_gc_its_blobs(space):
    c = space.client
    gone = await upload_ok(c, space.member.token, png_with_alpha(64, 64))
    kept = await upload_ok(c, space.member.token, mp3_like(3000))
    msg = await send(space, space.member, [gone["id"]])
    await send(space, space.member, [kept["id"]], "another")
    await caught_up(c)
    assert await fetch(c, gone, space.owner.token) == 200  # a channel member sees it
    before = await gc.stats(service(c))
    files = blob_files(c)
    gone_shas = {v["sha256"] for v in await c.app[NODE].db.fetchall(
        "SELECT sha256 FROM media_variants WHERE media_id = ?", (gone["id"],))}  # fmt: skip
    assert gone_shas and gone_shas <= files

    await ok(c, "DELETE", f"/channels/{space.text}/messages/{msg['id']}", space.member)
    await caught_up(c)
    # Gone for everyone, its owner included; the URL already handed out answers 404.
    for who in (space.member.token, space.owner.token, None):
        assert await fetch(c, gone, who) == 404
    status, body = await call(c, "GET", f"/media/{gone['id']}", space.member)
    assert status == 404 and body["code"] == "not_found"
    after = await gc.stats(service(c))
    assert (after.media, after.attached) == (before.media - 1, before.attached - 1)
    assert after.uploaded_bytes == before.uploaded_bytes - gone["size"]

    out = await collect(c)
    assert out.blobs_deleted == len(gone_shas) and out.media_deleted == 0
    assert blob_files(c) == files - gone_shas
    final = await gc.stats(service(c))
    assert (final.blobs, final.orphaned_blobs) == (before.blobs - len(gone_shas), 0)
    # The other message's media is untouched.
    assert await fetch(c, kept, space.owner.token) == 200


async def test_a_post_delete_takes_its_media(space):
    c = space.client
    media = await upload_ok(c, space.member.token, png_with_alpha(80, 60))
    post = await ok(c, "POST", f"/channels/{space.forum}/posts", space.member,
                    json={"title": "a picture", "attachments": [media["id"]]})  # fmt: skip
    await caught_up(c)
    assert await fetch(c, media, space.owner.token) == 200
    await ok(c, "DELETE", f"/posts/{post['id']}", space.member)
    await caught_up(c)
    assert await fetch(c, media, space.member.token) == 404
    await collect(c)
    assert blob_files(c) == set()


async def test_the_same_bytes_in_another_upload_keep_their_blob(space):
    c = space.client
    data = png_with_alpha(64, 64)
    first = await upload_ok(c, space.member.token, data)
    second = await upload_ok(c, space.owner.token, data)  # deduplicated: the same stored variants
    shas = lambda m: c.app[NODE].db.fetchall(  # noqa: E731
        "SELECT sha256 FROM media_variants WHERE media_id = ? ORDER BY name", (m["id"],)
    )
    assert [r[0] for r in await shas(first)] == [r[0] for r in await shas(second)]
    msg = await send(space, space.member, [first["id"]])
    await send(space, space.owner, [second["id"]], "same picture")
    files = blob_files(c)

    await ok(c, "DELETE", f"/channels/{space.text}/messages/{msg['id']}", space.member)
    await caught_up(c)
    out = await collect(c)
    assert out.blobs_deleted == 0 and blob_files(c) == files
    assert await fetch(c, first, space.owner.token) == 404
    assert await fetch(c, second, space.member.token) == 200


async def test_an_upload_in_two_messages_goes_with_the_last_of_them(space):
    c = space.client
    media = await upload_ok(c, space.member.token, mp3_like(2000))
    one = await send(space, space.member, [media["id"]], "one")
    two = await send(space, space.member, [media["id"]], "two")
    await ok(c, "DELETE", f"/channels/{space.text}/messages/{one['id']}", space.member)
    await caught_up(c)
    assert await fetch(c, media, space.owner.token) == 200
    await ok(c, "DELETE", f"/channels/{space.text}/messages/{two['id']}", space.member)
    await caught_up(c)
    assert await fetch(c, media, space.owner.token) == 404


async def test_a_moderators_removal_keeps_the_media(space):
    c = space.client
    media = await upload_ok(c, space.member.token, mp3_like(2500))
    msg = await send(space, space.member, [media["id"]])
    # The owner deleting someone else's message removes it (reversible), it does not delete it.
    await ok(c, "DELETE", f"/channels/{space.text}/messages/{msg['id']}", space.owner)
    await caught_up(c)
    await collect(c)
    assert await fetch(c, media, space.member.token) == 200
    assert len(blob_files(c)) == 1


async def cli_stats(tmp_path) -> dict:
    """`cryb media stats --json` on the running node's data."""
    cfg = write_config(tmp_path / "cryb.toml", '[log]\nlevel = "WARNING"\n')
    done = await asyncio.to_thread(
        run_cryb, "--config", str(cfg), "--data", str(tmp_path / "data"), "media", "stats", "--json"
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def test_account_erasure_takes_all_of_its_media(space, tmp_path):
    c = space.client
    other = await space.join()
    member = space.member
    in_message = await upload_ok(c, member.token, png_with_alpha(40, 40))
    in_post = await upload_ok(c, member.token, mp3_like(2100))
    avatar = await upload_ok(c, member.token, png_with_alpha(48, 48))
    loose = await upload_ok(c, member.token, mp3_like(2200))  # never attached
    theirs = await upload_ok(c, other.token, mp3_like(2300))
    await send(space, member, [in_message["id"]])
    await ok(c, "POST", f"/channels/{space.forum}/posts", member,
             json={"title": "t", "attachments": [in_post["id"]]})  # fmt: skip
    await ok(c, "PATCH", "/users/@me", member, json={"avatar": avatar["id"]})
    await send(space, other, [theirs["id"]], "mine")
    await caught_up(c)
    assert await fetch(c, avatar, None) == 200  # public
    before = await cli_stats(tmp_path)
    assert (before["media"], before["attached"], before["unattached"]) == (5, 4, 1)

    await ok(c, "DELETE", "/users/@me", member, json={"password": PASSWORD})
    await caught_up(c)
    for media in (in_message, in_post, avatar):
        assert await fetch(c, media, other.token) == 404
    assert await c.app[NODE].db.fetchval(
        "SELECT count(*) FROM media WHERE owner_id = ?", (member.id,)) == 0  # fmt: skip
    assert loose["id"]  # an unattached upload went too (the count above)
    await collect(c)
    left = await gc.stats(service(c))
    assert (left.media, left.blobs, left.orphaned_blobs) == (1, 1, 0)
    after = await cli_stats(tmp_path)
    assert (after["media"], after["attached"], after["blobs"], after["uploaded_bytes"]) == (1, 1, 1, 2300)
    assert await fetch(c, theirs, space.owner.token) == 200
