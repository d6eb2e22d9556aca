"""Custom emoji and community icons are images their setter uploaded, attached publicly: anyone who
sees them can fetch them (no signed, expiring link) and the cleanup job keeps them."""

from __future__ import annotations

from typing import Any

import aiohttp
import pyvips

from tests.content.conftest import User, call, ok


def png() -> bytes:
    return (
        pyvips.Image.black(24, 24, bands=3)
        .linear([1, 1, 1], [200, 60, 90])
        .cast("uchar")
        .copy(interpretation="srgb")
        .pngsave_buffer()
    )


async def upload(client: Any, user: User, data: bytes | None = None, name: str = "e.png") -> str:
    form = aiohttp.FormData()
    form.add_field("file", data if data is not None else png(), filename=name)
    return (await ok(client, "POST", "/media", user, data=form))["id"]


async def attached(client: Any, media_id: str) -> bool:
    resp = await client.get(f"/media/{media_id}/original")  # anonymous, unsigned
    return resp.status == 200


async def test_owner_sets_an_uploaded_image_as_icon_and_anyone_can_fetch_it(space):
    c = space.client
    media = await upload(c, space.owner)
    assert not await attached(c, media)  # private until something attaches it
    got = await ok(c, "PATCH", f"/communities/{space.community}", space.owner, json={"icon": media})
    assert got["icon"] == media
    assert (await ok(c, "GET", f"/communities/{space.community}", space.member))["icon"] == media
    assert await attached(c, media)
    # Setting it again (the same upload) is fine; clearing it is too.
    await ok(c, "PATCH", f"/communities/{space.community}", space.owner, json={"icon": media})
    got = await ok(c, "PATCH", f"/communities/{space.community}", space.owner, json={"icon": None})
    assert got["icon"] is None


async def test_icon_must_be_an_image_the_setter_uploaded(space):
    c = space.client
    theirs = await upload(c, space.member)
    for icon in (theirs, "01hzzzzzzzzzzzzzzzzzzzzzzz", "https://example.test/x.png"):
        status, body = await call(
            c, "PATCH", f"/communities/{space.community}", space.owner, json={"icon": icon}
        )
        assert (status, body["field"]) == (400, "icon"), icon
    assert (await ok(c, "GET", f"/communities/{space.community}", space.owner))["icon"] is None
    assert not await attached(c, theirs)


async def test_member_cannot_set_the_icon_and_their_upload_stays_unattached(space):
    c = space.client
    media = await upload(c, space.member)
    status, _ = await call(c, "PATCH", f"/communities/{space.community}", space.member, json={"icon": media})
    assert status == 403
    assert not await attached(c, media)
    assert (await ok(c, "GET", f"/communities/{space.community}", space.owner))["icon"] is None


async def test_emoji_image_is_attached_publicly_and_must_be_the_managers_upload(space):
    c = space.client
    path = f"/communities/{space.community}/emojis"
    theirs = await upload(c, space.member)
    for media in (theirs, "01hzzzzzzzzzzzzzzzzzzzzzzz"):
        status, body = await call(c, "POST", path, space.owner, json={"name": "party", "media_id": media})
        assert (status, body["field"]) == (400, "media_id")
    status, _ = await call(c, "POST", path, space.member, json={"name": "party", "media_id": theirs})
    assert status == 403
    assert not await attached(c, theirs)
    mine = await upload(c, space.owner)
    emoji = await ok(c, "POST", path, space.owner, json={"name": "party", "media_id": mine})
    assert await attached(c, mine)
    assert (await ok(c, "GET", path, space.member))["emojis"] == [
        {"id": emoji["id"], "community_id": space.community, "name": "party", "media_id": mine}
    ]
