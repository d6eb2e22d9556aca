"""Attachments: a message claims the author's uploads for its channel; anything else is refused."""

from __future__ import annotations

from cryb_node.appkeys import NODE
from cryb_node.services import MEDIA_STORE, MediaStore
from tests.content.conftest import call, new_user, ok
from tests.media.conftest import png_with_alpha, upload_ok


def _store(client) -> MediaStore:
    return client.app[NODE].services.get(MEDIA_STORE)


async def test_a_message_attaches_the_authors_upload_to_its_channel(space):
    c = space.client
    media = await upload_ok(c, space.member.token, png_with_alpha(64, 64))
    msg = await ok(
        c,
        "POST",
        f"/channels/{space.text}/messages",
        space.member,
        json={"content": "look", "attachments": [media["id"]]},
    )
    assert msg["attachments"] == [media["id"]]
    ref = await _store(c).get(media["id"])
    assert ref.channel_id == space.text and ref.attached
    # Editing the text keeps the attachment without claiming it again.
    edited = await ok(
        c,
        "PATCH",
        f"/channels/{space.text}/messages/{msg['id']}",
        space.member,
        json={"content": "look again"},
    )
    assert edited["attachments"] == [media["id"]]


async def test_someone_elses_or_an_unknown_upload_is_refused_and_nothing_is_written(space):
    c = space.client
    stranger = await new_user(c)
    theirs = await upload_ok(c, stranger.token, png_with_alpha(32, 32))
    before = await ok(c, "GET", f"/channels/{space.text}/messages", space.member)
    for media_id in (theirs["id"], "01m8zzzzzzzzzzzzzzzzzzzzzz"):
        status, body = await call(
            c,
            "POST",
            f"/channels/{space.text}/messages",
            space.member,
            json={"content": "x", "attachments": [media_id]},
        )
        assert status == 400 and body["field"] == "attachments", body
    after = await ok(c, "GET", f"/channels/{space.text}/messages", space.member)
    assert after == before
    assert not (await _store(c).get(theirs["id"])).attached


async def test_an_avatar_must_be_the_users_own_image_and_is_then_public(space):
    c = space.client
    mine = await upload_ok(c, space.member.token, png_with_alpha(48, 48))
    theirs = await upload_ok(c, space.owner.token, png_with_alpha(48, 48))
    status, body = await call(c, "PATCH", "/users/@me", space.member, json={"avatar": theirs["id"]})
    assert status == 400 and body["field"] == "avatar"
    me = await ok(c, "PATCH", "/users/@me", space.member, json={"avatar": mine["id"]})
    assert me["avatar"] == mine["id"]
    ref = await _store(c).get(mine["id"])
    assert ref.attached and ref.channel_id is None  # public: profiles are seen by everyone


async def test_a_post_carries_image_attachments(space):
    c = space.client
    media = await upload_ok(c, space.member.token, png_with_alpha(80, 60))
    post = await ok(
        c,
        "POST",
        f"/channels/{space.forum}/posts",
        space.member,
        json={"title": "a picture", "attachments": [media["id"]]},
    )
    assert post["attachments"] == [media["id"]]
    feed = await ok(c, "GET", f"/channels/{space.forum}/posts?sort=new", space.member)
    assert feed["posts"][0]["attachments"] == [media["id"]]
    assert (await _store(c).get(media["id"])).channel_id == space.forum
