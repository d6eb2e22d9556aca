"""Comment trees: depth and count limits with "load more" continuations; 2,000 comments fetched with
none lost or duplicated; sorts; locked posts."""

from __future__ import annotations

import asyncio
import random

import pytest

from tests.content.conftest import call, ok


async def _tree(space, post_id, **q):
    params = {k: str(v) for k, v in q.items() if v is not None}
    return await ok(space.client, "GET", f"/posts/{post_id}/comments", space.owner, params=params)


def _walk(nodes, depth, seen, stubs, limits):
    """Collect comments and stubs; check the shape against the limits."""
    for n in nodes:
        if n["kind"] == "more":
            stubs.append(n)
            continue
        assert depth < limits["depth"], "deeper than asked"
        seen.append((n["id"], n["parent_id"]))
        _walk(n["replies"], depth + 1, seen, stubs, limits)


@pytest.mark.parametrize("n", [pytest.param(2000, marks=pytest.mark.slow), 300])
async def test_two_thousand_comments_fetch_with_limits_and_continuation(space, n):
    post = await ok(
        space.client, "POST", f"/channels/{space.forum}/posts", space.member, json={"title": "big"}
    )
    pid = post["id"]
    rng = random.Random(5)
    made: dict[str, str | None] = {}
    ids: list[str] = []
    for start in range(0, n, 50):
        # Each batch replies to comments that exist already (or to the post), 50 at a time.
        parents = [rng.choice(ids) if ids and rng.random() < 0.8 else None for _ in range(50)]
        batch = await asyncio.gather(*[
            ok(space.client, "POST", f"/posts/{pid}/comments", space.member,
               json={"body": f"c{start + i}", **({"parent_id": p} if p else {})})
            for i, p in enumerate(parents)
        ])  # fmt: skip
        for c, p in zip(batch, parents, strict=True):
            made[c["id"]] = p
            ids.append(c["id"])
    assert (await ok(space.client, "GET", f"/posts/{pid}", space.owner))["comment_count"] == n

    limits = {"depth": 4, "limit": 150 if n > 1000 else 40}
    seen: list[tuple[str, str | None]] = []
    queue = [{"parent_id": None, "after": None}]
    fetches = 0
    while queue:
        stub = queue.pop()
        got = await _tree(space, pid, depth=limits["depth"], limit=limits["limit"], parent=stub["parent_id"],
                          after=stub["after"])  # fmt: skip
        fetches += 1
        before = len(seen)
        stubs: list[dict] = []
        _walk(got["comments"], 0, seen, stubs, limits)
        assert 0 < len(seen) - before <= limits["limit"]
        queue += stubs
    ids_seen = [i for i, _ in seen]
    assert len(ids_seen) == len(set(ids_seen)), "a comment came twice"
    assert set(ids_seen) == set(made), "a comment was lost"
    assert all(made[i] == parent for i, parent in seen), "a comment under the wrong parent"
    assert fetches > n // limits["limit"]


async def test_sorts_new_top_and_best(space):
    post = await ok(space.client, "POST", f"/channels/{space.forum}/posts", space.member, json={"title": "s"})
    pid = post["id"]
    a = await ok(space.client, "POST", f"/posts/{pid}/comments", space.member, json={"body": "a"})
    b = await ok(space.client, "POST", f"/posts/{pid}/comments", space.member, json={"body": "b"})
    c = await ok(space.client, "POST", f"/posts/{pid}/comments", space.member, json={"body": "c"})
    voters = [await space.join() for _ in range(3)]
    for v in voters:
        await ok(space.client, "PUT", f"/comments/{a['id']}/vote", v, json={"value": 1})
    await ok(space.client, "PUT", f"/comments/{b['id']}/vote", voters[0], json={"value": 1})
    await ok(space.client, "PUT", f"/comments/{c['id']}/vote", voters[0], json={"value": -1})

    async def order(sort):
        return [n["body"] for n in (await _tree(space, pid, sort=sort))["comments"]]

    assert await order("new") == ["c", "b", "a"]
    assert await order("top") == ["a", "b", "c"]
    assert await order("best") == ["a", "b", "c"]


async def test_locked_post_refuses_comments_except_from_moderators(space):
    post = await ok(space.client, "POST", f"/channels/{space.forum}/posts", space.member, json={"title": "l"})
    await ok(space.client, "POST", f"/posts/{post['id']}/moderation", space.owner, json={"action": "lock"})
    status, body = await call(
        space.client, "POST", f"/posts/{post['id']}/comments", space.member, json={"body": "x"}
    )
    assert status == 403, body
    await ok(space.client, "POST", f"/posts/{post['id']}/comments", space.owner, json={"body": "mod note"})
    assert (await ok(space.client, "GET", f"/posts/{post['id']}", space.member))["locked"] is True


async def test_deleted_comment_keeps_its_replies(space):
    post = await ok(space.client, "POST", f"/channels/{space.forum}/posts", space.member, json={"title": "d"})
    top = await ok(space.client, "POST", f"/posts/{post['id']}/comments", space.member, json={"body": "top"})
    reply = await ok(space.client, "POST", f"/posts/{post['id']}/comments", space.owner,
                     json={"body": "reply", "parent_id": top["id"]})  # fmt: skip
    await ok(space.client, "DELETE", f"/comments/{top['id']}", space.member)
    tree = (await _tree(space, post["id"]))["comments"]
    assert tree[0]["deleted"] is True and tree[0]["body"] == "" and tree[0]["author_id"] is None
    assert tree[0]["replies"][0]["id"] == reply["id"]
