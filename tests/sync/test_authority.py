"""Node-admin authority over a community counts only from the community's home node: a content
moderation at rank 3 (which outranks every moderator) from another node is refused on receipt,
and that node's own API does not hand its admins rank 3 there in the first place."""

from __future__ import annotations

from cryb_plugins.content.events import Moderate

from tests.communities.conftest import new_admin
from tests.sync.conftest import make_community


async def test_rank_3_moderation_only_from_the_communitys_home(federation) -> None:
    a, b = await federation(2)
    owner = await a.user()
    cid, text = await make_community(a, owner)
    mid = (await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": "keep me"}))["id"]
    await b.session(a)
    b_admin = await new_admin(b.client)
    await b.ok("PUT", f"/communities/{cid}/members/@me", b_admin, json={})
    # b's API: b is not the home, so b's admin moderates as their roles here allow (none)
    status, body = await b.call("DELETE", f"/channels/{text}/messages/{mid}", b_admin)
    assert status == 403 and "MANAGE_MESSAGES" in body["detail"], body
    assert await b.count("SELECT count(*) FROM content_mod WHERE target_id = ?", mid) == 0
    # a node that appends a rank-3 moderation anyway is refused by every receiver
    await b.node.events.append(
        "content.moderate",
        Moderate(target_type="message", channel_id=text, field="hidden", value=True, rank=3),
        community=cid,
        author=b_admin.id,
        target=mid,
    )
    report = await a.session(b)
    assert report.rejected == 1
    assert await a.count("SELECT count(*) FROM content_mod WHERE target_id = ?", mid) == 0
    assert await a.count("SELECT hidden FROM content_messages WHERE id = ?", mid) == 0
    # the home's own admin: rank 3, accepted on b
    a_admin = await new_admin(a.client)
    await a.ok("PUT", f"/communities/{cid}/members/@me", a_admin, json={})
    status, body = await a.call("DELETE", f"/channels/{text}/messages/{mid}", a_admin)
    assert status == 204, body
    await b.session(a)
    row = await b.node.db.fetchone(
        "SELECT rank, value, actor_id FROM content_mod WHERE target_id = ? AND field = 'hidden'", (mid,)
    )
    assert tuple(row) == (3, 1, a_admin.id)
    assert await b.count("SELECT hidden FROM content_messages WHERE id = ?", mid) == 1
