"""What the web UI's chat attachments and emoji picker need from the media API: an upload's
description names the file it was uploaded as (file cards and downloads show it), and a custom
emoji's image is public once added, as an avatar is, so every member (and a visitor of a public
channel) sees it; only the adder's own upload is made public so."""

from __future__ import annotations

import pytest

from tests.content.conftest import Space, call, cc, make_space, ok  # noqa: F401 (cc: a fixture)

from .conftest import mp3_like, path_of, png_with_alpha, upload_ok


@pytest.fixture
async def space(cc) -> Space:  # noqa: F811 (cc is the fixture imported above)
    return await make_space(cc)


async def test_a_description_names_the_uploaded_file_for_every_viewer(space):
    c = space.client
    song = await upload_ok(c, space.member.token, mp3_like(3000), filename="birdsong.mp3")
    assert song["filename"] == "birdsong.mp3"
    await ok(c, "POST", f"/channels/{space.text}/messages", space.member,
             json={"content": "", "attachments": [song["id"]]})  # fmt: skip
    seen = await ok(c, "GET", f"/media/{song['id']}", space.owner)
    assert seen["filename"] == "birdsong.mp3" and seen["kind"] == "audio"
    # The download is named so too.
    resp = await c.get(
        path_of(seen["variants"][0]["url"]), headers={"Authorization": f"Bearer {space.owner.token}"}
    )
    assert resp.status == 200
    assert 'filename="birdsong.mp3"' in resp.headers["Content-Disposition"]


async def test_a_custom_emojis_image_is_public_once_added(space):
    c = space.client
    image = await upload_ok(c, space.owner.token, png_with_alpha(64, 64), filename="parrot.png")
    # Unattached, it is its uploader's alone (what members got before: no emoji to show).
    assert (await call(c, "GET", f"/media/{image['id']}", space.member))[0] == 404
    await ok(c, "POST", f"/communities/{space.community}/emojis", space.owner,
             json={"name": "parrot", "media_id": image["id"]})  # fmt: skip
    for who in (space.member, None):
        status, seen = await call(c, "GET", f"/media/{image['id']}", who)
        assert status == 200, seen
        assert seen["private"] is False and seen["url_expires_at"] is None
        served = await c.get(path_of(seen["variants"][0]["url"]))
        assert served.status == 200


async def test_adding_an_emoji_never_publishes_someone_elses_upload(space):
    c = space.client
    theirs = await upload_ok(c, space.member.token, png_with_alpha(64, 64), filename="private.png")
    # The owner may add emoji, but naming a member's unattached upload never makes it public
    # (whether the emoji is then refused, 400, or made, 201, without a visible image).
    status, body = await call(c, "POST", f"/communities/{space.community}/emojis", space.owner,
                              json={"name": "stolen", "media_id": theirs["id"]})  # fmt: skip
    assert status in (201, 400), body
    assert (await call(c, "GET", f"/media/{theirs['id']}", None))[0] == 404
    assert (await call(c, "GET", f"/media/{theirs['id']}", space.owner))[0] == 404
    status, mine = await call(c, "GET", f"/media/{theirs['id']}", space.member)
    assert status == 200 and mine["private"] is True
    # A member without MANAGE_COMMUNITY cannot add one at all.
    status, body = await call(c, "POST", f"/communities/{space.community}/emojis", space.member,
                              json={"name": "mine", "media_id": theirs["id"]})  # fmt: skip
    assert status == 403, body
