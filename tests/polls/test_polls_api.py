"""Polls over the HTTP API: made with a message or a post, voted on, ended, read back; and the
refusals (closed, too many answers, not a member, hidden channel, someone else's poll)."""

from __future__ import annotations

from typing import Any

from cryb_node.app import build_app
from tests.content.conftest import Space, content_config, make_space
from tests.support.api import call, new_user, ok

POLL = {
    "question": "Lunch?",
    "answers": [{"text": "Pizza", "emoji": "🍕"}, {"text": "Soup"}, {"text": "Salad"}],
    "duration_s": 3600,
}


async def vote(client: Any, msg: dict[str, Any], user: Any, choices: list[int]) -> tuple[int, Any]:
    return await call(client, "PUT", f"/polls/{msg['id']}/vote", user, json={"choices": choices})


async def poll_message(space: Space, **extra: Any) -> dict[str, Any]:
    body = {"content": "", "poll": {**POLL, **extra}}
    return await ok(space.client, "POST", f"/channels/{space.text}/messages", space.owner, json=body)


async def test_poll_on_a_message_counts_votes_and_marks_mine(space: Space) -> None:
    msg = await poll_message(space)
    assert (await ok(space.client, "GET", f"/polls/{msg['id']}", space.member))["question"] == "Lunch?"
    out = await ok(space.client, "PUT", f"/polls/{msg['id']}/vote", space.member, json={"choices": [1]})
    assert [a["count"] for a in out["answers"]] == [0, 1, 0]
    assert [a["me"] for a in out["answers"]] == [False, True, False]
    await ok(space.client, "PUT", f"/polls/{msg['id']}/vote", space.owner, json={"choices": [1]})
    # a changed vote moves, a withdrawn one leaves
    await ok(space.client, "PUT", f"/polls/{msg['id']}/vote", space.member, json={"choices": [0]})
    got = await ok(space.client, "GET", f"/polls/{msg['id']}", space.owner)
    assert [a["count"] for a in got["answers"]] == [1, 1, 0] and got["voters"] == 2
    assert got["answers"][0]["emoji"] == "🍕" and got["can_end"] is True
    await ok(space.client, "PUT", f"/polls/{msg['id']}/vote", space.owner, json={"choices": []})
    listed = await ok(space.client, "GET", f"/polls?ids={msg['id']},nope", space.member)
    (only,) = listed["polls"]
    assert [a["count"] for a in only["answers"]] == [1, 0, 0] and only["voters"] == 1
    assert only["answers"][0]["me"] is True and only["can_end"] is False
    voters = await ok(space.client, "GET", f"/polls/{msg['id']}/voters", space.owner)
    assert voters["voters"] == [{"user_id": space.member.id, "choices": [0]}]


async def test_poll_on_a_post_takes_several_answers_when_multiple(space: Space) -> None:
    body = {"title": "Which days?", "poll": {**POLL, "multiple": True}}
    post = await ok(space.client, "POST", f"/channels/{space.forum}/posts", space.owner, json=body)
    out = await ok(space.client, "PUT", f"/polls/{post['id']}/vote", space.member, json={"choices": [0, 2]})
    assert [a["count"] for a in out["answers"]] == [1, 0, 1] and out["target_type"] == "post"


async def test_single_choice_poll_refuses_two_answers(space: Space) -> None:
    msg = await poll_message(space)
    status, body = await call(space.client, "PUT", f"/polls/{msg['id']}/vote", space.member,
                              json={"choices": [0, 1]})  # fmt: skip
    assert (status, body["code"]) == (400, "too_many_choices")
    status, body = await vote(space.client, msg, space.member, [5])
    assert (status, body["code"]) == (400, "invalid_choice")


async def test_poll_shape_is_checked(space: Space) -> None:
    url = f"/channels/{space.text}/messages"
    cases = [
        {**POLL, "answers": [{"text": "only one"}]},
        {**POLL, "answers": [{"text": str(i)} for i in range(11)]},
        {**POLL, "duration_s": 8 * 86400},
        {**POLL, "question": ""},
    ]
    for poll in cases:
        status, body = await call(space.client, "POST", url, space.owner, json={"content": "", "poll": poll})
        assert status == 400, (poll, body)
    bad_emoji = {**POLL, "answers": [{"text": "a", "emoji": "not-emoji"}, {"text": "b"}]}
    status, body = await call(space.client, "POST", url, space.owner, json={"poll": bad_emoji})
    assert (status, body["code"]) == (400, "unknown_emoji")


async def test_ended_poll_refuses_votes_and_keeps_counts(space: Space) -> None:
    msg = await poll_message(space)
    await ok(space.client, "PUT", f"/polls/{msg['id']}/vote", space.member, json={"choices": [2]})
    status, body = await call(space.client, "POST", f"/polls/{msg['id']}/end", space.member)
    assert (status, body["code"]) == (403, "forbidden")  # not the author, no MANAGE_MESSAGES
    ended = await ok(space.client, "POST", f"/polls/{msg['id']}/end", space.owner)
    assert ended["closed"] is True and ended["ended_at"] is not None
    status, body = await vote(space.client, msg, space.member, [0])
    assert (status, body["code"]) == (409, "poll_closed")
    got = await ok(space.client, "GET", f"/polls/{msg['id']}", space.member)
    assert [a["count"] for a in got["answers"]] == [0, 0, 1]


async def test_outsider_cannot_vote_and_hidden_channel_hides_the_poll(space: Space) -> None:
    msg = await poll_message(space)
    outsider = await new_user(space.client)
    status, body = await vote(space.client, msg, outsider, [0])
    assert (status, body["code"]) == (403, "forbidden")  # a public community: readable, not votable
    # hide the channel from @everyone: the member no longer finds the poll
    await ok(space.client, "PUT", f"/channels/{space.text}/overwrites/role/{space.community}", space.owner,
             json={"deny": 1})  # VIEW_CHANNEL  # fmt: skip
    status, body = await vote(space.client, msg, space.member, [0])
    assert (status, body["code"]) == (404, "not_found")
    assert (await ok(space.client, "GET", f"/polls?ids={msg['id']}", space.member))["polls"] == []


async def test_anonymous_poll_hides_voters(space: Space) -> None:
    msg = await poll_message(space, anonymous=True)
    out = await ok(space.client, "PUT", f"/polls/{msg['id']}/vote", space.member, json={"choices": [0]})
    assert out["answers"][0]["count"] == 1 and out["anonymous"] is True
    status, body = await call(space.client, "GET", f"/polls/{msg['id']}/voters", space.owner)
    assert (status, body["code"]) == (403, "anonymous_poll")


async def test_deleted_message_takes_its_poll(space: Space) -> None:
    msg = await poll_message(space)
    await ok(space.client, "DELETE", f"/channels/{space.text}/messages/{msg['id']}", space.owner)
    status, _ = await vote(space.client, msg, space.member, [0])
    assert status == 404


async def test_poll_past_its_deadline_refuses_votes(aiohttp_client, tmp_path, clock) -> None:
    client = await aiohttp_client(build_app(content_config(tmp_path / "data"), clock=clock))
    space = await make_space(client)
    msg = await poll_message(space, duration_s=60)
    await ok(client, "PUT", f"/polls/{msg['id']}/vote", space.member, json={"choices": [0]})
    clock.advance(61)
    status, body = await vote(client, msg, space.member, [1])
    assert (status, body["code"]) == (409, "poll_closed")
    got = await ok(client, "GET", f"/polls/{msg['id']}", space.member)
    assert got["closed"] is True and got["can_end"] is False
    assert [a["count"] for a in got["answers"]] == [1, 0, 0]


async def test_poll_of_a_message_a_moderator_removed_is_hidden_from_members(space: Space) -> None:
    msg = await ok(space.client, "POST", f"/channels/{space.text}/messages", space.member,
                   json={"content": "vote!", "poll": POLL})  # fmt: skip
    await ok(
        space.client, "POST", f"/messages/{msg['id']}/moderation", space.owner, json={"action": "remove"}
    )
    status, _ = await call(space.client, "GET", f"/polls/{msg['id']}", space.member)
    assert status == 404
    status, _ = await vote(space.client, msg, space.member, [0])
    assert status == 404
    assert (await ok(space.client, "GET", f"/polls/{msg['id']}", space.owner))["question"] == "Lunch?"


async def test_a_moderator_ends_a_members_poll(space: Space) -> None:
    url = f"/channels/{space.text}/messages"
    msg = await ok(space.client, "POST", url, space.member, json={"poll": POLL})
    other = await space.join()
    assert (await ok(space.client, "GET", f"/polls/{msg['id']}", other))["can_end"] is False
    status, body = await call(space.client, "POST", f"/polls/{msg['id']}/end", other)
    assert (status, body["code"]) == (403, "forbidden")
    assert (await ok(space.client, "GET", f"/polls/{msg['id']}", space.owner))["can_end"] is True
    ended = await ok(space.client, "POST", f"/polls/{msg['id']}/end", space.owner)
    assert ended["closed"] is True
    status, body = await call(space.client, "POST", f"/polls/{msg['id']}/end", space.member)
    assert (status, body["code"]) == (409, "poll_closed")


async def test_timed_out_member_cannot_vote(space: Space) -> None:
    msg = await poll_message(space)
    await ok(space.client, "PUT", f"/communities/{space.community}/members/{space.member.id}/timeout",
             space.owner, json={"duration_s": 600})  # fmt: skip
    status, body = await vote(space.client, msg, space.member, [0])
    assert (status, body["code"]) == (403, "timed_out")
