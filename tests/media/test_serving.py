"""Acceptance 3 and 5: Range/206, ETag/304, safe headers; private media only through signed URLs
that expire. Channels are real ones made through the communities plugin's API."""

from __future__ import annotations

from urllib.parse import urlsplit

from cryb_node.appkeys import NODE
from cryb_node.services import MEDIA_STORE, MediaStore, Perm
from tests.users_fixtures import auth, register_user

from .conftest import jpeg_with_gps, mp3_like, path_of, upload_ok


def store(client) -> MediaStore:
    svc = client.app[NODE].services.get(MEDIA_STORE)
    assert svc is not None
    return svc


async def public_audio(client) -> tuple[dict, bytes]:
    _, token = await register_user(client)
    data = mp3_like(50_000)
    body = await upload_ok(client, token, data, filename="Café song.mp3")
    owner = await client.get("/api/v1/users/@me", headers=auth(token))
    owner_id = (await owner.json())["id"]
    assert await store(client).attach(body["id"], owner_id, None) is not None  # e.g. a profile
    return body, data


async def test_range_requests_return_206_with_exactly_those_bytes(client):
    body, data = await public_audio(client)
    url = f"/media/{body['id']}/original"
    cases = {"bytes=100-199": (100, 199), "bytes=49950-": (49950, 49999), "bytes=-10": (49990, 49999)}
    for header, (start, end) in cases.items():
        resp = await client.get(url, headers={"Range": header})
        assert resp.status == 206, header
        assert resp.headers["Content-Range"] == f"bytes {start}-{end}/50000"
        assert await resp.read() == data[start : end + 1]
    resp = await client.get(url, headers={"Range": "bytes=60000-"})
    assert resp.status == 416 and resp.headers["Content-Range"] == "bytes */50000"
    # If-Range with a stale validator: the whole (changed) file instead of a piece of it.
    resp = await client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert resp.status == 200 and await resp.read() == data


async def test_etag_and_if_none_match_give_304(client):
    body, data = await public_audio(client)
    url = f"/media/{body['id']}/original"
    resp = await client.get(url)
    etag = resp.headers["ETag"]
    assert resp.status == 200 and await resp.read() == data
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status == 304 and await again.read() == b""
    assert again.headers["ETag"] == etag
    other = await client.get(url, headers={"If-None-Match": '"something-else"'})
    assert other.status == 200


async def test_non_images_download_and_nothing_is_sniffed(client):
    body, _ = await public_audio(client)
    resp = await client.get(f"/media/{body['id']}/original")
    assert resp.headers["Content-Type"] == "audio/mpeg"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Disposition"] == (
        "attachment; filename=\"Caf_ song.mp3\"; filename*=UTF-8''Caf%C3%A9%20song.mp3"
    )
    assert "sandbox" in resp.headers["Content-Security-Policy"]


async def test_images_are_shown_inline(client):
    user_id, token = await register_user(client)
    body = await upload_ok(client, token, jpeg_with_gps(100, 100, orientation=1))
    await store(client).attach(body["id"], user_id, None)
    resp = await client.get(f"/media/{body['id']}/original")
    assert resp.status == 200 and resp.headers["Content-Type"] == "image/jpeg"
    assert "Content-Disposition" not in resp.headers


async def test_public_base_url_is_where_clients_are_sent(start):
    client = await start(public_base_url="https://cdn.example.test/")
    _, token = await register_user(client)
    body = await upload_ok(client, token, mp3_like(1000))
    assert all(v["url"].startswith(f"https://cdn.example.test/media/{body['id']}/") for v in body["variants"])


async def test_an_unattached_upload_is_fetched_only_with_its_signed_url(client):
    _, token = await register_user(client)
    body = await upload_ok(client, token, mp3_like(1000))
    assert body["private"] and body["url_expires_at"]
    signed = path_of(body["variants"][0]["url"])
    assert (await client.get(signed)).status == 200
    bare = await client.get(urlsplit(signed).path)
    assert bare.status == 403 and (await bare.json())["code"] == "signature_required"


async def make_channels(client, token: str) -> tuple[str, str]:
    """A public community with an open channel and a staff-only one (@everyone denied VIEW)."""
    resp = await client.post("/api/v1/communities", json={"name": "Photo Club"}, headers=auth(token))
    community = await resp.json()
    assert resp.status == 201, community
    cid = community["id"]
    ids = []
    for name in ("general", "staff"):
        resp = await client.post(
            f"/api/v1/communities/{cid}/channels", json={"name": name}, headers=auth(token)
        )
        assert resp.status == 201, await resp.text()
        ids.append((await resp.json())["id"])
    resp = await client.put(
        f"/api/v1/channels/{ids[1]}/overwrites/role/{cid}",
        json={"deny": int(Perm.VIEW_CHANNEL)},
        headers=auth(token),
    )
    assert resp.status == 204, await resp.text()
    return ids[0], ids[1]


async def test_media_in_a_public_channel_needs_no_signature(client):
    owner_id, token = await register_user(client)
    general, _ = await make_channels(client, token)
    body = await upload_ok(client, token, jpeg_with_gps(120, 80, orientation=1))
    assert await store(client).attach(body["id"], owner_id, general) is not None
    resp = await client.get(f"/media/{body['id']}/original")
    assert resp.status == 200 and resp.headers["Cache-Control"].startswith("public")
    described = await (await client.get(f"/api/v1/media/{body['id']}")).json()  # anonymous
    assert described["private"] is False and "?" not in described["variants"][0]["url"]


async def test_private_channel_attachment_needs_a_valid_signed_url_that_expires(client, clock):
    owner_id, token = await register_user(client)
    _, staff = await make_channels(client, token)
    body = await upload_ok(client, token, jpeg_with_gps(120, 80, orientation=1))
    media_id = body["id"]
    assert (await store(client).attach(media_id, owner_id, staff)).channel_id == staff
    path = f"/media/{media_id}/original"

    resp = await client.get(path)
    assert resp.status == 403 and (await resp.json())["code"] == "signature_required"
    # Those who may view the channel get signed URLs; an outsider sees no such media.
    mine = await (await client.get(f"/api/v1/media/{media_id}", headers=auth(token))).json()
    assert mine["private"] and mine["url_expires_at"]
    _, stranger = await register_user(client)
    assert (await client.get(f"/api/v1/media/{media_id}", headers=auth(stranger))).status == 404
    assert (await client.get(f"/api/v1/media/{media_id}")).status == 404

    url = path_of(next(v["url"] for v in mine["variants"] if v["name"] == "original"))
    ok = await client.get(url)
    assert ok.status == 200 and ok.headers["Cache-Control"].startswith("private, max-age=")
    query = urlsplit(url).query
    forged = query[:-2] + ("AA" if not query.endswith("AA") else "BB")
    for bad, code in (
        (f"{path}?{forged}", "signature_invalid"),
        (f"/media/{media_id}/webp?{query}", "signature_invalid"),  # signed for another variant
        (url.replace("exp=", "exp=9"), "signature_invalid"),  # a later expiry is not signed
    ):
        resp = await client.get(bad)
        assert resp.status == 403 and (await resp.json())["code"] == code, bad

    short = path_of(store(client).signed_url(media_id, "original", ttl_s=1))
    assert (await client.get(short)).status == 200
    clock.advance(2)  # past the 1 s lifetime (expiries are whole seconds)
    expired = await client.get(short)
    assert expired.status == 403 and (await expired.json())["code"] == "url_expired"


async def test_attach_refuses_other_owners_and_a_second_channel(client):
    owner_id, token = await register_user(client)
    other_id, _ = await register_user(client)
    general, staff = await make_channels(client, token)
    body = await upload_ok(client, token, mp3_like(1000))
    assert await store(client).attach(body["id"], other_id, general) is None
    assert await store(client).attach(body["id"], owner_id, general) is not None
    assert await store(client).attach(body["id"], owner_id, general) is not None  # idempotent
    assert await store(client).attach(body["id"], owner_id, staff) is None


async def test_delete_own_unattached_upload_but_not_attached_ones(client):
    owner_id, token = await register_user(client)
    _, stranger = await register_user(client)
    first = await upload_ok(client, token, mp3_like(1000))
    second = await upload_ok(client, token, mp3_like(2000))
    assert (await client.delete(f"/api/v1/media/{first['id']}", headers=auth(stranger))).status == 404
    assert (await client.delete(f"/api/v1/media/{first['id']}", headers=auth(token))).status == 204
    assert (await client.get(path_of(first["variants"][0]["url"]))).status == 404
    await store(client).attach(second["id"], owner_id, None)
    resp = await client.delete(f"/api/v1/media/{second['id']}", headers=auth(token))
    assert resp.status == 409 and (await resp.json())["code"] == "attached"
