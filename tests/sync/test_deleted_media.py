"""Deleted content's media over federation: once the author deletes the message (or their account
is erased), the node holding the upload refuses it to every peer, the peers' cached copies go with
the replicated delete, and the holder's cleanup job removes the stored files."""

from __future__ import annotations

import time

import pytest
from cryb_plugins.media import gc

from cryb_node.services import REMOTE_MEDIA, RemoteMedia, RemoteMediaError
from tests.media.conftest import jpeg_with_gps, png_with_alpha, webp_still
from tests.sync.conftest import Fed, mesh
from tests.sync.test_remote_media import (  # noqa: F401 (media_fed is a fixture)
    fetch,
    media_fed,
    media_of,
    post_image,
    shared_channel,
)
from tests.users_fixtures import PASSWORD


def fetcher(f: Fed) -> RemoteMedia:
    svc = f.node.services.get(REMOTE_MEDIA)
    assert svc is not None
    return svc


async def refused(f: Fed, holder: Fed, media_id: str, variant: str | None) -> int:
    with pytest.raises(RemoteMediaError) as err:
        await fetcher(f).fetch(holder.key, media_id, variant)
    return err.value.status


def blob_files(f: Fed) -> set[str]:
    return {p.name for p in (media_of(f).root / "blobs").rglob("*") if p.is_file()}


async def test_a_peer_asking_for_deleted_or_erased_media_is_refused(media_fed) -> None:  # noqa: F811
    a, b = await media_fed(2)
    owner, alice, bob, text = await shared_channel(a, b)
    first = await post_image(a, alice, text, jpeg_with_gps())
    second = await post_image(a, alice, text, png_with_alpha(), text="another")
    kept = await post_image(a, owner, text, webp_still(), text="the owner's")
    await mesh([a, b], rounds=1)
    for up in (first, second, kept):
        assert (await fetcher(b).fetch(a.key, up["id"], "original")).data
        desc = await b.ok("GET", f"/media/{up['id']}", bob)  # b caches them
        assert (await fetch(b, desc["variants"][0]["url"]))[0] == 200

    # alice deletes her first message on a: a refuses it at once, before b even hears of the delete
    msgs = (await a.ok("GET", f"/channels/{text}/messages", alice))["messages"]
    first_msg = next(m["id"] for m in msgs if m["attachments"] == [first["id"]])
    await a.ok("DELETE", f"/channels/{text}/messages/{first_msg}", alice)
    await a.node.bus.consumers["media.attached"].caught_up()
    for variant in (None, "original"):
        assert await refused(b, a, first["id"], variant) == 404
    # b drops its cached copy with the replicated delete, and serves nothing
    await mesh([a, b], rounds=1)
    await b.node.bus.consumers["media.remote-drops"].caught_up()
    assert (await b.call("GET", f"/media/{first['id']}", bob))[0] == 404

    # alice's account is erased: the rest of hers is refused too; the owner's is still shared
    files = blob_files(a)
    await a.ok("DELETE", "/users/@me", alice, json={"password": PASSWORD})
    await a.node.bus.consumers["media.attached"].caught_up()
    assert await refused(b, a, second["id"], "original") == 404
    assert (await fetcher(b).fetch(a.key, kept["id"], "original")).data
    await mesh([a, b], rounds=2)
    await b.node.bus.consumers["media.remote-drops"].caught_up()
    assert (await b.call("GET", f"/media/{second['id']}", bob))[0] == 404
    assert (await b.ok("GET", f"/media/{kept['id']}", bob))["id"] == kept["id"]

    # and a's cleanup job removes alice's stored files, keeping the owner's
    out = await gc.collect(media_of(a), now=int(time.time() * 1000) + 10**9)
    assert out.blobs_deleted > 0
    left = blob_files(a)
    assert left < files
    kept_shas = {
        r[0]
        for r in await a.node.db.fetchall(
            "SELECT sha256 FROM media_variants WHERE media_id = ?", (kept["id"],)
        )
    }
    assert left == kept_shas
    stats = await gc.stats(media_of(a))
    assert (stats.media, stats.blobs) == (1, len(kept_shas))
