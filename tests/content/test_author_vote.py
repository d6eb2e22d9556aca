"""A new post starts with its author's upvote, as on Reddit: a recorded vote (score 1, my_vote 1)
that the author can withdraw like any other, and that peers replay from the event log."""

from __future__ import annotations

from cryb_node.appkeys import NODE
from cryb_node.services import Perm
from tests.content.conftest import ok


async def test_new_post_starts_with_the_authors_upvote(space):
    c = space.client
    post = await ok(c, "POST", f"/channels/{space.forum}/posts", space.member, json={"title": "mine"})
    assert (post["ups"], post["downs"], post["score"], post["my_vote"]) == (1, 0, 1, 1)
    # Recorded, not only shown: others see the score, the row is in the votes table, and the feed agrees.
    assert (await ok(c, "GET", f"/posts/{post['id']}", space.owner))["score"] == 1
    assert (await ok(c, "GET", f"/posts/{post['id']}", space.owner))["my_vote"] == 0
    feed = await ok(c, "GET", f"/channels/{space.forum}/posts?sort=new", space.member)
    assert [(p["id"], p["score"], p["my_vote"]) for p in feed["posts"]] == [(post["id"], 1, 1)]
    db = c.server.app[NODE].db
    rows = await db.fetchall("SELECT user_id, value FROM content_votes WHERE target_id = ?", (post["id"],))
    assert [tuple(r) for r in rows] == [(space.member.id, 1)]
    # Two events in the log, in this order: what a peer replays gives the same score.
    kinds = await db.fetchall("SELECT kind FROM events ORDER BY pos DESC LIMIT 2")
    assert [r[0] for r in kinds] == ["vote.set", "post.create"]
    # The author withdraws it like any vote: the score goes back to 0.
    out = await ok(c, "PUT", f"/posts/{post['id']}/vote", space.member, json={"value": 0})
    assert (out["value"], out["score"]) == (0, 0)
    assert (await ok(c, "GET", f"/posts/{post['id']}", space.member))["my_vote"] == 0


async def test_vote_from_others_adds_to_the_authors(space):
    c = space.client
    post = await ok(c, "POST", f"/channels/{space.forum}/posts", space.member, json={"title": "v"})
    out = await ok(c, "PUT", f"/posts/{post['id']}/vote", space.owner, json={"value": 1})
    assert (out["ups"], out["score"]) == (2, 2)


async def test_author_who_may_not_vote_starts_at_zero(space):
    c = space.client
    # Voting denied to everyone in the forum channel; posting still allowed.
    await ok(c, "PUT", f"/channels/{space.forum}/overwrites/role/{space.community}", space.owner,
             json={"deny": int(Perm.VOTE)})  # fmt: skip
    post = await ok(c, "POST", f"/channels/{space.forum}/posts", space.member, json={"title": "quiet"})
    assert (post["ups"], post["score"], post["my_vote"]) == (0, 0, 0)
