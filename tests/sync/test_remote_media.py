"""Remote media: a node serves another node's upload, attached to replicated content, by fetching
it lazily over the signed federation channel, checking its sha256, and caching it under a quota
with LRU eviction (never its own uploads); a peer the media is not shared with gets 403; tampered
answers are refused and nothing is cached; `cryb media stats` and /metrics tell local from cached."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from cryb_plugins.media.service import MEDIA, MediaService

from cryb_node.app import build_app
from cryb_node.services import REMOTE_MEDIA, Perm, RemoteMedia, RemoteMediaError
from tests.conftest import make_config, run_cryb
from tests.media.conftest import jpeg_with_gps, png_with_alpha, settled, upload_ok, webp_still
from tests.sync.conftest import Fed, User, make_community, mesh
from tests.users_fixtures import FAST_HASHING, PASSWORD

VIEW = int(Perm.VIEW_CHANNEL)


@pytest.fixture
def media_fed(aiohttp_client, tmp_path: Path):
    """``await media_fed(n, quota=...)``: n nodes pinning each other, with media settings."""

    async def make(n: int, **media: Any) -> list[Fed]:
        feds = []
        for i in range(n):
            cfg = make_config(
                tmp_path / "abc"[i],
                plugin={"users": dict(FAST_HASHING), "sync": {"auto": False}, "media": media},
                rate_limits={"enabled": False},
            )
            feds.append(Fed("abc"[i], await aiohttp_client(build_app(cfg))))
        for x in feds:
            for y in feds:
                if x is not y:
                    await x.pin(y)
        return feds

    return make


def media_of(f: Fed) -> MediaService:
    svc = f.node.services.require(MEDIA)
    assert svc is not None
    return svc


async def post_image(f: Fed, user: User, channel: str, data: bytes, text: str = "look") -> dict:
    # with every variant made (AVIF and the original come after the answer): what a peer is sent
    up = await settled(f.client, user.token, await upload_ok(f.client, user.token, data, filename="p.jpg"))
    await f.ok(
        "POST", f"/channels/{channel}/messages", user, json={"content": text, "attachments": [up["id"]]}
    )
    return up


async def shared_channel(a: Fed, b: Fed) -> tuple[User, User, User, str]:
    """A community on ``a`` (its owner and alice, both of ``a``) that bob of ``b`` joined after a
    mesh round: (owner, alice, bob, the text channel)."""
    owner = await a.user()
    cid, text = await make_community(a, owner)
    alice = await a.user()
    await a.ok("PUT", f"/communities/{cid}/members/@me", alice, json={})
    await mesh([a, b], rounds=1)
    bob = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", bob, json={})
    return owner, alice, bob, text


async def fetch(f: Fed, url: str) -> tuple[int, bytes]:
    parts = urlsplit(url)
    resp = await f.client.get(parts.path + (f"?{parts.query}" if parts.query else ""))
    return resp.status, await resp.read()


async def metric(f: Fed, name: str) -> float:
    text = await (await f.client.get("/metrics")).text()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


async def test_a_peer_serves_anothers_image_fetched_lazily_checked_and_cached(media_fed, tmp_path) -> None:
    a, b = await media_fed(2)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    up = await post_image(a, owner, text, jpeg_with_gps())
    await mesh([a, b], rounds=1)
    bob = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", bob, json={})
    # nothing was fetched by replication itself: lazily, on first use
    assert await b.count("SELECT count(*) FROM media_remote") == 0
    assert await b.count("SELECT count(*) FROM media_remote_refs WHERE media_id = ?", up["id"]) == 1

    # b describes a's upload with its own URLs, as its own
    desc = await b.ok("GET", f"/media/{up['id']}", bob)
    assert desc["id"] == up["id"] and desc["private"] is False and desc["kind"] == "image"
    assert {v["name"] for v in desc["variants"]} == {v["name"] for v in up["variants"]}
    original = next(v for v in desc["variants"] if v["name"] == "original")
    assert original["url"] == f"{b.node.config.base_url.rstrip('/')}/media/{up['id']}/original"
    status, on_a = await fetch(a, next(v["url"] for v in up["variants"] if v["name"] == "original"))
    assert status == 200
    status, on_b = await fetch(b, original["url"])
    assert status == 200 and on_b == on_a  # the very bytes
    sha = await b.node.db.fetchval(
        "SELECT sha256 FROM media_remote_variants WHERE media_id = ? AND name = 'original'", (up["id"],)
    )
    assert hashlib.sha256(on_b).hexdigest() == sha
    assert await b.count("SELECT count(*) FROM media_cache WHERE sha256 = ?", sha) == 1
    assert (media_of(b).remote.storage.path(sha)).read_bytes() == on_a  # type: ignore[attr-defined]
    assert await metric(b, "cryb_media_cache_misses_total") == 1
    # a remote member's avatar is public media: served to anyone, checked the same way
    avatar = await upload_ok(a.client, owner.token, png_with_alpha(), filename="me.png")
    await a.ok("PATCH", "/users/@me", owner, json={"avatar": avatar["id"]})
    await mesh([a, b], rounds=1)
    desc_av = await b.ok("GET", f"/media/{avatar['id']}")  # anonymous
    assert desc_av["private"] is False
    status, av = await fetch(b, next(v["url"] for v in desc_av["variants"] if v["name"] == "original"))
    av_sha = await b.node.db.fetchval(
        "SELECT sha256 FROM media_remote_variants WHERE media_id = ? AND name = 'original'", (avatar["id"],)
    )
    assert status == 200 and hashlib.sha256(av).hexdigest() == av_sha
    assert await metric(b, "cryb_media_cache_misses_total") == 2
    # again: from the cache (a may even be gone)
    await a.client.server.close()
    status, again = await fetch(b, original["url"])
    assert status == 200 and again == on_a
    assert await metric(b, "cryb_media_cache_hits_total") == 1
    assert await metric(b, "cryb_media_cache_bytes") == len(on_a) + len(av)
    # an uncached variant while a is down: 502, nothing cached, and b keeps serving what it has
    thumb = next(v for v in desc["variants"] if v["name"].startswith("thumb_"))
    status, _ = await fetch(b, thumb["url"])
    assert status == 502
    assert await b.count("SELECT count(*) FROM media_cache") == 2
    assert await metric(b, "cryb_media_cache_fetch_failures_total") == 1

    # cryb media stats: local (b has none of its own) vs cached
    toml = tmp_path / "cli.toml"
    toml.write_text('[log]\nlevel = "WARNING"\n')
    done = await asyncio.to_thread(
        run_cryb, "--config", str(toml), "--data", str(b.node.data_dir), "media", "stats", "--json"
    )
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert stats["media"] == 0 and stats["stored_bytes"] == 0
    assert stats["remote_media"] == 2 and stats["cached_blobs"] == 2
    assert stats["cached_bytes"] == len(on_a) + len(av)
    assert stats["cache_quota_bytes"] == 1024 * 1024 * 1024
    done = await asyncio.to_thread(
        run_cryb, "--config", str(toml), "--data", str(b.node.data_dir), "media", "stats"
    )
    assert f"cached_bytes         {len(on_a) + len(av)}" in done.stdout


async def test_tampered_answers_are_refused_and_nothing_is_cached(media_fed, aiohttp_server) -> None:
    a, b = await media_fed(2)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    up = await post_image(a, owner, text, png_with_alpha())
    await mesh([a, b], rounds=1)
    bob = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", bob, json={})

    # 1. bytes flipped on the way (a proxy between b and a): the answer's signature fails
    async def flip(request: web.Request) -> web.Response:
        async with a.client.session.post(
            a.url + request.path, data=await request.read(), headers=dict(request.headers)
        ) as resp:
            body = bytearray(await resp.read())
            headers = {k: v for k, v in resp.headers.items() if k.lower().startswith("x-cryb")}
        if request.path.endswith("/media") and len(body) > 1000:
            body[-100] ^= 0x01
        return web.Response(body=bytes(body), status=resp.status, headers=headers,
                            content_type=resp.content_type)  # fmt: skip

    proxy = web.Application()
    proxy.router.add_post("/{tail:.*}", flip)
    server = await aiohttp_server(proxy)
    await b.pin(a, url=str(server.make_url("")).rstrip("/"))
    desc = await b.ok("GET", f"/media/{up['id']}", bob)  # a short answer: passed on untouched
    by_name = {v["name"]: v for v in desc["variants"]}
    status, body = await fetch(b, by_name["original"]["url"])
    assert status == 502 and json.loads(body)["code"] == "media_unavailable"
    assert await metric(b, "cryb_media_cache_fetch_failures_total") == 1  # the signature check
    assert await metric(b, "cryb_media_cache_refused_total") == 0
    assert await b.count("SELECT count(*) FROM media_cache") == 0
    await b.pin(a)  # straight to a again

    # 2. a's stored file is corrupted: a signs what it sends, but it is not the sha256 it named
    sha = await a.node.db.fetchval(
        "SELECT sha256 FROM media_variants WHERE media_id = ? AND name = 'original'", (up["id"],)
    )
    path = media_of(a).storage.path(sha)  # type: ignore[attr-defined]
    good = path.read_bytes()
    path.write_bytes(good[:-1] + bytes([good[-1] ^ 0xFF]))
    status, body = await fetch(b, by_name["original"]["url"])
    assert status == 502 and json.loads(body)["code"] == "bad_remote_media"
    assert await b.count("SELECT count(*) FROM media_cache") == 0
    assert not media_of(b).remote.storage.path(sha).exists()  # type: ignore[attr-defined]
    assert await metric(b, "cryb_media_cache_refused_total") == 1
    # repaired at the origin: served and cached
    path.write_bytes(good)
    status, served = await fetch(b, by_name["original"]["url"])
    assert status == 200 and served == good
    assert await b.count("SELECT count(*) FROM media_cache") == 1


async def test_a_peer_the_media_is_not_shared_with_gets_403(media_fed) -> None:
    a, b, c = await media_fed(3)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    await mesh([a, b, c], rounds=1)
    bob = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", bob, json={})
    await mesh([a, b, c], rounds=1)
    staff = (
        await a.ok("POST", f"/communities/{cid}/channels", owner, json={"name": "staff", "kind": "text"})
    )["id"]
    await a.ok("PUT", f"/channels/{staff}/overwrites/role/{cid}", owner, json={"deny": VIEW})
    await a.ok("PUT", f"/channels/{staff}/overwrites/member/{bob.id}", owner, json={"allow": VIEW})
    secret = await post_image(a, owner, staff, webp_still(), text="staff picture")
    public = await post_image(a, owner, text, png_with_alpha(), text="for all")
    unattached = await upload_ok(a.client, owner.token, jpeg_with_gps(), filename="draft.jpg")
    await mesh([a, b, c], rounds=2)

    def fetcher(f: Fed) -> RemoteMedia:
        svc = f.node.services.get(REMOTE_MEDIA)
        assert svc is not None
        return svc

    # b homes bob, who may read #staff: b may fetch it; c homes nobody who may: 403
    got = await fetcher(b).fetch(a.key, secret["id"], "original")
    assert got.media.id == secret["id"] and got.data
    for media_id in (secret["id"], unattached["id"]):
        with pytest.raises(RemoteMediaError) as err:
            await fetcher(c).fetch(a.key, media_id, "original")
        assert err.value.status == 403
    with pytest.raises(RemoteMediaError) as err:
        await fetcher(c).fetch(a.key, "nosuchmedia00000000000000", None)
    assert err.value.status == 404
    assert (await fetcher(c).fetch(a.key, public["id"], None)).media.id == public["id"]
    # and c never learned of the secret one: its content was withheld, so there is no reference
    assert await c.count("SELECT count(*) FROM media_remote_refs WHERE media_id = ?", secret["id"]) == 0
    carol = await c.user()
    status, _ = await c.call("GET", f"/media/{secret['id']}", carol)
    assert status == 404
    # on b, the private channel's media is private (signed URLs) and only for those who may read it
    desc = await b.ok("GET", f"/media/{secret['id']}", bob)
    assert desc["private"] is True and "sig=" in desc["variants"][0]["url"]
    status, data = await fetch(b, next(v["url"] for v in desc["variants"] if v["name"] == "original"))
    assert status == 200 and data == got.data
    stranger = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", stranger, json={})
    status, _ = await b.call("GET", f"/media/{secret['id']}", stranger)
    assert status == 404
    unsigned = urlsplit(desc["variants"][0]["url"]).path
    assert (await b.client.get(unsigned)).status in (401, 403)


async def test_lru_eviction_under_a_tiny_quota_keeps_local_uploads(media_fed, tmp_path) -> None:
    a, b = await media_fed(2)  # sizes first: b's quota is set from them below
    owner = await a.user()
    cid, text = await make_community(a, owner)
    ups = [await post_image(a, owner, text, jpeg_with_gps(200 + 40 * i, 100 + 20 * i)) for i in range(3)]
    size = [next(v["size"] for v in u["variants"] if v["name"] == "original") for u in ups]
    quota = sum(size) - 1  # any two fit, all three do not
    media_of(b).remote.quota = quota  # as if configured: [plugin.media] cache_quota_bytes
    await mesh([a, b], rounds=1)
    bob = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", bob, json={})
    own = await upload_ok(b.client, bob.token, webp_still(), filename="mine.webp")  # b's own upload
    own_blobs = await b.count("SELECT count(*) FROM media_blobs")

    async def original(i: int) -> bytes:
        desc = await b.ok("GET", f"/media/{ups[i]['id']}", bob)
        status, data = await fetch(b, next(v["url"] for v in desc["variants"] if v["name"] == "original"))
        assert status == 200
        return data

    async def cached() -> set[int]:
        shas = {r[0] for r in await b.node.db.fetchall("SELECT sha256 FROM media_cache")}
        return {i for i in range(3) if hashlib.sha256(await original_bytes(i)).hexdigest() in shas}

    originals: dict[int, bytes] = {}

    async def original_bytes(i: int) -> bytes:
        if i not in originals:
            url = next(v["url"] for v in ups[i]["variants"] if v["name"] == "original")
            originals[i] = (await fetch(a, url))[1]
        return originals[i]

    await original(0)
    await original(1)
    assert await cached() == {0, 1}
    await original(0)  # 0 is now the most recently used
    await original(2)  # over quota: 1, the least recently used, goes
    assert await cached() == {0, 2}
    assert await metric(b, "cryb_media_cache_evictions_total") == 1
    assert await b.count("SELECT coalesce(sum(size), 0) FROM media_cache") <= quota
    misses = await metric(b, "cryb_media_cache_misses_total")
    assert await original(1) == await original_bytes(1)  # fetched again
    assert await metric(b, "cryb_media_cache_misses_total") == misses + 1
    assert await cached() == {1, 2}  # 0 was least recently used by then
    # b's own upload was never a candidate
    assert await b.count("SELECT count(*) FROM media_blobs") == own_blobs
    own_sha = await b.node.db.fetchval(
        "SELECT sha256 FROM media_variants WHERE media_id = ? AND name = 'original'", (own["id"],)
    )
    assert media_of(b).storage.path(own_sha).exists()  # type: ignore[attr-defined]


async def test_a_delete_or_an_erasure_takes_the_cached_media_with_it(media_fed) -> None:
    a, b = await media_fed(2)
    owner, alice, bob, text = await shared_channel(a, b)
    ups = [await post_image(a, alice, text, data) for data in (jpeg_with_gps(), png_with_alpha())]
    kept = await post_image(a, owner, text, webp_still())
    await mesh([a, b], rounds=1)
    for up in (*ups, kept):
        desc = await b.ok("GET", f"/media/{up['id']}", bob)
        for v in desc["variants"]:
            assert (await fetch(b, v["url"]))[0] == 200
    cache_dir = b.node.data_dir / "media" / "cache"
    files = lambda: {p.name for p in cache_dir.rglob("*") if p.is_file()}  # noqa: E731
    first = {
        r[0]
        for r in await b.node.db.fetchall(
            "SELECT sha256 FROM media_remote_variants WHERE media_id = ?", (ups[0]["id"],)
        )
    }
    assert first <= files()
    bytes_before = await metric(b, "cryb_media_cache_bytes")

    # alice deletes her first message: b drops what it attached, bytes and all
    msgs = (await a.ok("GET", f"/channels/{text}/messages", alice))["messages"]
    first_msg = next(m["id"] for m in msgs if m["attachments"] == [ups[0]["id"]])
    await a.ok("DELETE", f"/channels/{text}/messages/{first_msg}", alice)
    await mesh([a, b], rounds=1)
    await b.node.bus.consumers["media.remote-drops"].caught_up()
    assert not first & files()
    assert await b.count("SELECT count(*) FROM media_remote WHERE id = ?", ups[0]["id"]) == 0
    assert (await b.call("GET", f"/media/{ups[0]['id']}", bob))[0] == 404
    assert await metric(b, "cryb_media_cache_bytes") < bytes_before

    # alice's account is erased: the rest of hers goes too; the owner's stays
    await a.ok("DELETE", "/users/@me", alice, json={"password": PASSWORD})
    await mesh([a, b], rounds=2)
    await b.node.bus.consumers["media.remote-drops"].caught_up()
    assert await b.count("SELECT count(*) FROM media_remote WHERE id = ?", ups[1]["id"]) == 0
    remaining = {r[0] for r in await b.node.db.fetchall("SELECT sha256 FROM media_cache")}
    owners = {r[0] for r in await b.node.db.fetchall("SELECT DISTINCT owner_id FROM media_remote")}
    assert owners == {owner.id} and remaining and remaining == files()
