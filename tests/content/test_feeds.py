"""Feed orders (hot, new, top, controversial) against hand-computed expectations, cursors, and the
home feed across a user's communities."""

from __future__ import annotations

import pytest
from cryb_plugins.content import ranking

from cryb_node.appkeys import NODE
from tests.content.conftest import make_space, new_user, ok


def test_hot_formula_by_hand():
    t = 1_700_000_000_000  # ms
    base = (1_700_000_000 - 1134028003) / 45000  # 12577.15...
    assert ranking.hot(0, 0, t) == round(base, 7)
    assert ranking.hot(10, 0, t) == round(1 + base, 7)
    assert ranking.hot(0, 100, t) == round(-2 + base, 7)
    # 10x the score is worth 12.5 hours: a post 12.5 h newer with score 1 ties one with score 10.
    assert ranking.hot(1, 0, t + 45000_000) == ranking.hot(10, 0, t)


def test_controversy_formula_by_hand():
    assert ranking.controversy(5, 5) == 10.0  # 10 ** 1
    assert ranking.controversy(10, 2) == pytest.approx(12**0.2)  # 1.6438
    assert ranking.controversy(3, 3) == 6.0
    assert ranking.controversy(1, 0) == 0.0


def test_best_formula_by_hand():
    # Wilson lower bound, z = 1.28155 (z^2 = 1.64237): with p = 1 the bound is 1 / (1 + z^2 / n):
    # 10 up/0 down = 1 / 1.164237 = 0.85893, 1 up/0 down = 1 / 2.642374 = 0.37845
    assert ranking.best(10, 0) == pytest.approx(0.85893, abs=1e-4)
    assert ranking.best(1, 0) == pytest.approx(0.37843, abs=1e-4)
    assert ranking.best(0, 0) == 0.0


async def _vote(space, voters, post_id, ups, downs):
    for i in range(ups):
        await ok(space.client, "PUT", f"/posts/{post_id}/vote", voters[i], json={"value": 1})
    for i in range(downs):
        await ok(space.client, "PUT", f"/posts/{post_id}/vote", voters[ups + i], json={"value": -1})


@pytest.fixture
async def voted(space):
    """Posts a..e created in that order with (ups, downs): a 5/5, b 10/2, c 3/3, d 1/0, e 0/3."""
    voters = [await space.join() for _ in range(12)]
    plan = {"a": (5, 5), "b": (10, 2), "c": (3, 3), "d": (1, 0), "e": (0, 3)}
    ids = {}
    for name, (u, d) in plan.items():
        post = await ok(
            space.client, "POST", f"/channels/{space.forum}/posts", space.member, json={"title": name}
        )
        ids[name] = post["id"]
        await _vote(space, voters, post["id"], u, d)
    return space, ids


async def _order(space, user=None, **q):
    got = await ok(space.client, "GET", f"/channels/{space.forum}/posts", user or space.member,
                   params={k: str(v) for k, v in q.items()})  # fmt: skip
    return [p["title"] for p in got["posts"]]


async def test_hot_order_by_hand(voted):
    space, _ = voted
    # Created seconds apart, so age adds < 0.001: sign*log10(|score|) decides.
    # b: score 8 -> 0.903; d: 1 -> 0; a, c: 0 -> 0 (c newer than a, d newer... d is newer than a and c)
    # e: -3 -> -0.477. Ties at 0 go to the newest: d, c, a.
    assert await _order(space, sort="hot") == ["b", "d", "c", "a", "e"]


async def test_new_order(voted):
    space, _ = voted
    assert await _order(space, sort="new") == ["e", "d", "c", "b", "a"]


async def test_top_order_by_hand(voted):
    space, _ = voted
    # scores: a 0, b 8, c 0, d 1, e -3; ties broken by id (newest first)
    assert await _order(space, sort="top", t="all") == ["b", "d", "c", "a", "e"]


async def test_controversial_order_by_hand(voted):
    space, _ = voted
    # a 10**1 = 10, c 6**1 = 6, b 12**0.2 = 1.64, d and e 0 (e newer)
    assert await _order(space, sort="controversial", t="all") == ["a", "c", "b", "e", "d"]


async def test_top_window_leaves_out_older_posts(voted):
    space, ids = voted
    # Creation times come from the node's clock; age one post by two hours in the projection.
    node = space.client.app[NODE]
    await node.db.write(
        lambda conn: conn.execute(
            "UPDATE content_posts SET created_at = created_at - 7200000 WHERE id = ?", (ids["b"],)
        )
    )
    assert await _order(space, sort="top", t="hour") == ["d", "c", "a", "e"]
    assert await _order(space, sort="top", t="day") == ["b", "d", "c", "a", "e"]


async def test_feed_cursor_pages_cover_everything_once(space):
    for i in range(23):
        await ok(
            space.client, "POST", f"/channels/{space.forum}/posts", space.member, json={"title": f"p{i}"}
        )
    for sort in ("hot", "new", "top", "controversial"):
        seen, after = [], None
        while True:
            params = {"sort": sort, "limit": "5", **({"after": after} if after else {})}
            got = await ok(space.client, "GET", f"/channels/{space.forum}/posts", space.member, params=params)
            seen += [p["id"] for p in got["posts"]]
            after = got["next"]
            if after is None:
                break
        assert len(seen) == 23 == len(set(seen)), sort


async def test_home_feed_spans_my_communities_only(cc):
    one = await make_space(cc)
    two = await make_space(cc)
    three = await make_space(cc)
    me = await new_user(cc)
    await one.join(me)
    await two.join(me)
    for sp, title in ((one, "from one"), (two, "from two"), (three, "from three")):
        await ok(cc, "POST", f"/channels/{sp.forum}/posts", sp.member, json={"title": title})
    got = await ok(cc, "GET", "/feed/home", me, params={"sort": "new"})
    assert [p["title"] for p in got["posts"]] == ["from two", "from one"]


async def test_views_and_comment_counts(space):
    post = await ok(space.client, "POST", f"/channels/{space.forum}/posts", space.member, json={"title": "v"})
    for _ in range(3):
        await ok(space.client, "GET", f"/posts/{post['id']}", space.owner)
    await ok(space.client, "POST", f"/posts/{post['id']}/comments", space.owner, json={"body": "hi"})
    c2 = await ok(space.client, "POST", f"/posts/{post['id']}/comments", space.owner, json={"body": "hi"})
    await ok(space.client, "DELETE", f"/comments/{c2['id']}", space.owner)
    node = space.client.app[NODE]
    from cryb_plugins.content.service import CONTENT

    await node.services.require(CONTENT).posts.flush_views()
    got = await ok(space.client, "GET", f"/posts/{post['id']}", space.owner)
    assert got["views"] == 4 and got["comment_count"] == 1
