"""Take-downs across nodes: media taken down on the node that holds it is refused to its peers (the
federation media route answers 404, so their members get 404 for what they had not cached); and an
admin can take down another node's media on their own node: the cached copy goes, it is never
fetched from the peer again, and a copy of the same bytes under another id is refused too."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest

from cryb_node.services import REMOTE_MEDIA, RemoteMedia, RemoteMediaError
from tests.media.conftest import jpeg_with_gps, upload
from tests.sync.conftest import Fed, User, make_community, mesh
from tests.sync.test_remote_media import fetch, media_fed, media_of, metric, post_image  # noqa: F401 (media_fed: a fixture)

from .test_admin_takedown import make_admin


@dataclass
class Shared:
    alice: User  # of a
    bob: User  # of b
    channel: str
    photo: bytes  # what alice uploaded
    up: dict  # her upload, as a described it
    desc: dict  # as b describes it
    original: bytes  # its original variant's bytes, cached on b


async def shared_image(a: Fed, b: Fed) -> Shared:
    """alice posts an image in a public community on ``a`` that bob of ``b`` joined; bob opens its
    original, so ``b`` caches it."""
    alice = await a.user()
    cid, text = await make_community(a, alice)
    photo = jpeg_with_gps(320, 200, orientation=1)
    up = await post_image(a, alice, text, photo)
    await mesh([a, b], rounds=1)
    bob = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", bob, json={})
    desc = await b.ok("GET", f"/media/{up['id']}", bob)
    status, original = await fetch(b, next(v["url"] for v in desc["variants"] if v["name"] == "original"))
    assert status == 200
    return Shared(alice, bob, text, photo, up, desc, original)


def fetcher(f: Fed) -> RemoteMedia:
    svc = f.node.services.get(REMOTE_MEDIA)
    assert svc is not None
    return svc


async def test_media_taken_down_at_its_home_is_refused_to_peers(media_fed) -> None:  # noqa: F811 (the fixture imported above)
    a, b = await media_fed(2)
    s = await shared_image(a, b)
    up, desc = s.up, s.desc
    assert (await fetcher(b).fetch(a.key, up["id"], "thumb_160")).data  # shared before
    _, admin = await make_admin(a.client)
    resp = await a.client.post(f"/api/v1/admin/media/{up['id']}/takedown", json={"reason": "abuse"},
                               headers={"Authorization": f"Bearer {admin}"})  # fmt: skip
    assert resp.status == 200, await resp.text()

    for variant in (None, "original", "thumb_160"):
        with pytest.raises(RemoteMediaError) as err:
            await fetcher(b).fetch(a.key, up["id"], variant)
        assert err.value.status == 404
    # bob on b: what b had not cached is gone for him too
    webp = next(v for v in desc["variants"] if v["name"] == "webp")
    assert (await fetch(b, webp["url"]))[0] == 404


async def test_an_admin_takes_down_another_nodes_media_here_and_never_fetches_it_again(media_fed) -> None:  # noqa: F811 (the fixture imported above)
    a, b = await media_fed(2)
    s = await shared_image(a, b)
    alice, bob, up, desc, original = s.alice, s.bob, s.up, s.desc, s.original
    cached = media_of(b).remote.storage.path(hashlib.sha256(original).hexdigest())  # type: ignore[attr-defined]
    assert cached.read_bytes() == original
    misses = await metric(b, "cryb_media_cache_misses_total")
    admin = User(*await make_admin(b.client))

    status, out = await b.call(
        "POST", f"/admin/media/{up['id']}/takedown", admin, json={"reason": "not here"}
    )
    assert status == 200, out
    assert (out["media_ids"], out["remote_ids"]) == ([], [up["id"]])
    assert out["sha256"] == hashlib.sha256(original).hexdigest() and out["cached_deleted"] == 1
    assert not cached.exists()
    assert await b.count("SELECT count(*) FROM media_cache") == 0
    assert await b.count("SELECT count(*) FROM media_remote") == 0
    # b serves and describes nothing of it, and asks a for nothing (a still has it).
    assert (await b.call("GET", f"/media/{up['id']}", bob))[0] == 404
    for v in desc["variants"]:
        assert (await fetch(b, v["url"]))[0] == 404
    assert await metric(b, "cryb_media_cache_misses_total") == misses
    assert await b.count("SELECT count(*) FROM media_remote") == 0
    assert (await a.call("GET", f"/media/{up['id']}", alice))[0] == 200  # a's admins decide about a's

    # The same picture posted again on a (a new id, the same stored files): refused by its bytes.
    again = await post_image(a, alice, s.channel, s.photo, text="once more")
    await mesh([a, b], rounds=1)
    assert (await b.call("GET", f"/media/{again['id']}", bob))[0] == 404
    assert await b.count("SELECT count(*) FROM media_remote") == 0
    # and bob cannot upload the bytes b took down
    resp = await upload(b.client, bob.token, original, filename="saved.jpg")
    assert resp.status == 422 and (await resp.json())["code"] == "media_blocked"
