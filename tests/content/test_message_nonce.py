"""Idempotent sends: a message sent with a nonce and retried (its reply was lost, or an offline
outbox sends again after a reload) is made once; the retry answers the message already made."""

from __future__ import annotations

import asyncio

from tests.content.conftest import call, ok


async def messages_in(space, channel) -> list[dict]:
    return (await ok(space.client, "GET", f"/channels/{channel}/messages", space.member))["messages"]


async def test_a_retried_send_answers_the_message_it_already_made(space):
    body = {"content": "only once", "nonce": "outbox-0001-abcdef"}
    first = await ok(space.client, "POST", f"/channels/{space.text}/messages", space.member, json=body)
    again = await ok(space.client, "POST", f"/channels/{space.text}/messages", space.member, json=body)
    assert again == first
    assert [m["id"] for m in await messages_in(space, space.text) if m["content"] == "only once"] == [
        first["id"]
    ]


async def test_simultaneous_retries_make_one_message(space):
    body = {"content": "racing", "nonce": "race-nonce-123456"}
    results = await asyncio.gather(
        *(
            call(space.client, "POST", f"/channels/{space.text}/messages", space.member, json=body)
            for _ in range(5)
        )
    )
    assert {status for status, _ in results} == {201}
    assert len({out["id"] for _, out in results}) == 1
    assert sum(m["content"] == "racing" for m in await messages_in(space, space.text)) == 1


async def test_a_nonce_is_the_senders_own_and_sends_without_one_are_never_merged(space):
    body = {"content": "same words", "nonce": "shared-nonce-0001"}
    mine = await ok(space.client, "POST", f"/channels/{space.text}/messages", space.member, json=body)
    theirs = await ok(space.client, "POST", f"/channels/{space.text}/messages", space.owner, json=body)
    assert mine["id"] != theirs["id"] and theirs["author_id"] == space.owner.id
    plain = [
        await ok(
            space.client, "POST", f"/channels/{space.text}/messages", space.member, json={"content": "twice"}
        )
        for _ in range(2)
    ]
    assert plain[0]["id"] != plain[1]["id"]


async def test_a_malformed_nonce_is_refused_naming_the_field_and_nothing_is_sent(space):
    before = len(await messages_in(space, space.text))
    for nonce in ("short", "has spaces in it", "x" * 65, "semi;colon;nonce"):
        status, body = await call(
            space.client, "POST", f"/channels/{space.text}/messages", space.member,
            json={"content": "nope", "nonce": nonce},
        )  # fmt: skip
        assert (status, body["field"]) == (400, "nonce"), nonce
    assert len(await messages_in(space, space.text)) == before


async def test_a_failed_send_leaves_its_nonce_free_for_the_retry(space):
    body = {
        "content": "reply to nothing",
        "nonce": "retry-after-fail-1",
        "reply_to": "01m8zzzzzzzzzzzzzzzzzzzzzz",
    }
    status, out = await call(
        space.client, "POST", f"/channels/{space.text}/messages", space.member, json=body
    )
    assert (status, out["field"]) == (400, "reply_to")
    del body["reply_to"]
    sent = await ok(space.client, "POST", f"/channels/{space.text}/messages", space.member, json=body)
    assert sent["content"] == "reply to nothing" and sent["reply_to"] is None
