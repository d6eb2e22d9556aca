"""has:file over HTTP with real uploads: a file uploaded through the media API and attached to a
message makes it match; a message without one, an attachment in a channel the searcher cannot
read, and a message whose attachment was edited away do not."""

from __future__ import annotations

from tests.media.conftest import png_with_alpha, upload_ok
from tests.search.conftest import World, found, indexed, ok, say


async def _attach(world: World, user, channel: str, text: str) -> str:
    media = await upload_ok(world.client, user.token, png_with_alpha(32, 32), filename="shot.png")
    msg = await ok(
        world.client,
        "POST",
        f"/channels/{channel}/messages",
        user,
        json={"content": text, "attachments": [media["id"]]},
    )
    assert msg["attachments"] == [media["id"]]
    return msg["id"]


async def test_has_file_finds_a_message_with_an_uploaded_attachment(world: World):
    sp, c = world.space, world.client
    with_file = await _attach(world, sp.member, sp.text, "harbour snapshot from the pier")
    without = await say(c, sp.member, sp.text, "harbour snapshot coming later")
    await indexed(c)

    body = await found(c, sp.owner, "harbour has:file")
    assert [r["id"] for r in body["results"]] == [with_file] and body["total"] == 1
    assert body["results"][0]["has_attachment"] is True
    assert body["facets"]["channel"] == [{"value": sp.text, "name": "general", "count": 1}]
    # The operator alone (no words) and its alias find the same one message.
    assert [r["id"] for r in (await found(c, sp.owner, "has:file"))["results"]] == [with_file]
    assert [r["id"] for r in (await found(c, sp.owner, "has:attachment"))["results"]] == [with_file]
    # Without the operator both match; the one without a file says so.
    both = {r["id"]: r for r in (await found(c, sp.owner, "harbour snapshot"))["results"]}
    assert set(both) == {with_file, without}
    assert not both[without].get("has_attachment", False)


async def test_has_file_never_finds_messages_without_one_or_that_the_searcher_cannot_read(world: World):
    sp, c = world.space, world.client
    await say(c, sp.member, sp.text, "lantern festival plans")
    hidden = await _attach(world, world.insider, world.secret, "lantern photo for insiders")
    await indexed(c)

    # Only a message without a file is visible to the member: nothing, in results, total or facets.
    body = await found(c, sp.member, "lantern has:file")
    assert body["results"] == [] and body["total"] == 0
    assert body["facets"] == {"community": [], "channel": [], "kind": []}
    assert (await found(c, sp.member, "has:file"))["total"] == 0
    # The insider may read #secret and finds it.
    assert [r["id"] for r in (await found(c, world.insider, "lantern has:file"))["results"]] == [hidden]


async def test_editing_the_attachment_away_or_deleting_the_message_drops_it_from_has_file(world: World):
    sp, c = world.space, world.client
    edited = await _attach(world, sp.member, sp.text, "kite drawing one")
    deleted = await _attach(world, sp.member, sp.text, "kite drawing two")
    await indexed(c)
    assert {r["id"] for r in (await found(c, sp.owner, "kite has:file"))["results"]} == {edited, deleted}

    await ok(
        c,
        "PATCH",
        f"/channels/{sp.text}/messages/{edited}",
        sp.member,
        json={"content": "kite drawing one", "attachments": []},
    )
    await ok(c, "DELETE", f"/channels/{sp.text}/messages/{deleted}", sp.member)
    await indexed(c)
    assert (await found(c, sp.owner, "kite has:file"))["total"] == 0
    # The edited message is still found by its words, now without a file.
    (hit,) = (await found(c, sp.owner, "kite"))["results"]
    assert hit["id"] == edited and not hit.get("has_attachment", False)
