"""Bad input -> 4xx naming the field, and nothing written (no event, no row)."""

from __future__ import annotations

import pytest

from cryb_node.appkeys import NODE
from tests.content.conftest import call, ok


async def _events(client) -> int:
    return await client.app[NODE].db.fetchval("SELECT count(*) FROM events")


@pytest.fixture
async def things(space):
    c = space.client
    msg = await ok(c, "POST", f"/channels/{space.text}/messages", space.member, json={"content": "keep"})
    gone = await ok(c, "POST", f"/channels/{space.text}/messages", space.member, json={"content": "gone"})
    await ok(c, "DELETE", f"/channels/{space.text}/messages/{gone['id']}", space.member)
    other = await ok(
        c, "POST", f"/communities/{space.community}/channels", space.owner, json={"name": "other"}
    )
    elsewhere = await ok(
        c, "POST", f"/channels/{other['id']}/messages", space.member, json={"content": "there"}
    )
    post = await ok(c, "POST", f"/channels/{space.forum}/posts", space.member, json={"title": "t"})
    dead = await ok(c, "POST", f"/posts/{post['id']}/comments", space.member, json={"body": "x"})
    await ok(c, "DELETE", f"/comments/{dead['id']}", space.member)
    return {"msg": msg["id"], "gone": gone["id"], "elsewhere": elsewhere["id"], "post": post["id"],
            "dead": dead["id"]}  # fmt: skip


CASES = [
    # (name, method, path, body, status, field)
    ("empty message", "POST", "/channels/{text}/messages", {"content": ""}, 400, "content"),
    ("blank message", "POST", "/channels/{text}/messages", {"content": "  \n "}, 400, "content"),
    ("oversize message", "POST", "/channels/{text}/messages", {"content": "x" * 4001}, 400, "content"),
    (
        "bad attachment id",
        "POST",
        "/channels/{text}/messages",
        {"content": "a", "attachments": ["../x"]},
        400,
        "attachments[0]",
    ),
    (
        "reply to deleted",
        "POST",
        "/channels/{text}/messages",
        {"content": "a", "reply_to": "{gone}"},
        400,
        "reply_to",
    ),
    (
        "reply to other channel",
        "POST",
        "/channels/{text}/messages",
        {"content": "a", "reply_to": "{elsewhere}"},
        400,
        "reply_to",
    ),
    (
        "thread on other channel",
        "POST",
        "/channels/{text}/messages",
        {"content": "a", "thread_id": "{elsewhere}"},
        400,
        "thread_id",
    ),
    ("empty edit", "PATCH", "/channels/{text}/messages/{msg}", {"content": ""}, 400, "content"),
    ("unknown emoji", "PUT", "/messages/{msg}/reactions/notanemoji", None, 400, "emoji"),
    (
        "unknown custom emoji",
        "PUT",
        "/messages/{msg}/reactions/party:01hzzzzzzzzzzzzzzzzzzzzzzz",
        None,
        400,
        "emoji",
    ),
    ("vote value 2", "PUT", "/posts/{post}/vote", {"value": 2}, 400, "value"),
    ("post without title", "POST", "/channels/{forum}/posts", {"title": ""}, 400, "title"),
    ("oversize title", "POST", "/channels/{forum}/posts", {"title": "t" * 301}, 400, "title"),
    (
        "javascript link post",
        "POST",
        "/channels/{forum}/posts",
        {"title": "t", "url": "javascript:alert(1)"},
        400,
        "url",
    ),
    ("too many tags", "POST", "/channels/{forum}/posts", {"title": "t", "tags": list("abcdef")}, 400, "tags"),
    ("empty comment", "POST", "/posts/{post}/comments", {"body": " "}, 400, "body"),
    (
        "reply to deleted comment",
        "POST",
        "/posts/{post}/comments",
        {"body": "a", "parent_id": "{dead}"},
        400,
        "parent_id",
    ),
    (
        "reply to unknown comment",
        "POST",
        "/posts/{post}/comments",
        {"body": "a", "parent_id": "{msg}"},
        400,
        "parent_id",
    ),
    ("post in a text channel", "POST", "/channels/{text}/posts", {"title": "t"}, 400, "channel_id"),
    ("message in a forum", "POST", "/channels/{forum}/messages", {"content": "a"}, 400, "channel_id"),
    ("two cursors", "GET", "/channels/{text}/messages?before={msg}&after={msg}", None, 400, "after"),
    ("cursor from elsewhere", "GET", "/channels/{text}/messages?before={elsewhere}", None, 400, "before"),
    ("limit too big", "GET", "/channels/{text}/messages?limit=101", None, 400, "limit"),
    ("bad feed sort", "GET", "/channels/{forum}/posts?sort=best", None, 400, "sort"),
    ("bad feed cursor", "GET", "/channels/{forum}/posts?after=zzz", None, 400, "after"),
    (
        "moderation action for posts on a comment",
        "POST",
        "/comments/{dead}/moderation",
        {"action": "lock"},
        400,
        "action",
    ),
    ("DM with nobody", "POST", "/dms", {"recipients": []}, 400, "recipients"),
    ("DM with a bad id", "POST", "/dms", {"recipients": ["nope"]}, 400, "recipients[0]"),
    ("DM group of 11", "POST", "/dms", {"recipients": [f"{i:026d}" for i in range(10)]}, 400, "recipients"),
]


@pytest.mark.parametrize(
    ("name", "method", "path", "body", "status", "field"), CASES, ids=[c[0] for c in CASES]
)
async def test_bad_input_names_the_field_and_writes_nothing(
    space, things, name, method, path, body, status, field
):
    ids = {**things, "text": space.text, "forum": space.forum}
    path = path.format(**ids)
    if isinstance(body, dict):
        body = {k: (v.format(**ids) if isinstance(v, str) and "{" in v else v) for k, v in body.items()}
    c = space.client
    before = await _events(c)
    got_status, got = await call(
        c, method, path, space.member, **({"json": body} if body is not None else {})
    )
    assert got_status == status, got
    assert got["field"] == field, got
    assert await _events(c) == before
