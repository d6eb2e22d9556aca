"""A community's reports name real targets: a message, post or comment of that community that the
reporter can see, or one of its members. Anything else is 404 on ``target_id`` (a DM or another
community's message is not told apart from a missing one), and what is stored about the target
(its author, an excerpt) comes from the target itself, never from the client."""

from __future__ import annotations

import pytest

from cryb_node.appkeys import NODE
from cryb_node.services import Perm
from tests.content.conftest import Space, call, cc, make_space, new_user, ok  # noqa: F401 (cc: a fixture)

MISSING = "01m8zzzzzzzzzzzzzzzzzzzzzz"


@pytest.fixture
async def space(cc) -> Space:  # noqa: F811 (cc is the fixture imported above)
    return await make_space(cc)


async def report(space: Space, user, target_type: str, target_id: str, **extra):
    body = {"target_type": target_type, "target_id": target_id, "reason": "bad", **extra}
    return await call(space.client, "POST", f"/communities/{space.community}/reports", user, json=body)


async def stored_reports(space: Space) -> int:
    return await space.client.app[NODE].db.fetchval("SELECT count(*) FROM community_reports")


@pytest.mark.parametrize("target_type", ["message", "post", "comment"])
async def test_report_naming_a_missing_target_is_404_on_target_id(space, target_type):
    status, body = await report(space, space.member, target_type, MISSING)
    assert (status, body.get("field")) == (404, "target_id"), body
    assert await stored_reports(space) == 0


async def test_a_dm_message_cannot_be_reported_to_a_community(space):
    dm = await ok(space.client, "POST", "/dms", space.owner, json={"recipients": [space.member.id]})
    msg = await ok(
        space.client, "POST", f"/channels/{dm['id']}/messages", space.owner, json={"content": "hi"}
    )
    status, body = await report(space, space.member, "message", msg["id"])
    assert (status, body.get("field")) == (404, "target_id"), body
    assert "dm" not in body["detail"].lower()  # not told that it exists somewhere else
    assert await stored_reports(space) == 0


async def test_another_communitys_message_post_or_comment_is_404(space):
    other = await make_space(space.client)
    await other.join(space.member)
    msg = await ok(
        space.client, "POST", f"/channels/{other.text}/messages", other.owner, json={"content": "x"}
    )
    post = await ok(space.client, "POST", f"/channels/{other.forum}/posts", other.owner, json={"title": "t"})
    comment = await ok(space.client, "POST", f"/posts/{post['id']}/comments", other.owner, json={"body": "c"})
    for target_type, target_id in (("message", msg["id"]), ("post", post["id"]), ("comment", comment["id"])):
        status, body = await report(space, space.member, target_type, target_id)
        assert (status, body.get("field")) == (404, "target_id"), (target_type, body)
    assert await stored_reports(space) == 0


async def test_a_message_in_a_channel_the_reporter_cannot_see_is_404(space):
    c = space.client
    secret = await ok(
        c, "POST", f"/communities/{space.community}/channels", space.owner, json={"name": "staff"}
    )
    everyone = space.community  # the @everyone role has the community's id
    await ok(c, "PUT", f"/channels/{secret['id']}/overwrites/role/{everyone}", space.owner,
             json={"deny": int(Perm.VIEW_CHANNEL)})  # fmt: skip
    msg = await ok(
        c, "POST", f"/channels/{secret['id']}/messages", space.owner, json={"content": "mods only"}
    )
    status, body = await report(space, space.member, "message", msg["id"])
    assert (status, body.get("field")) == (404, "target_id"), body


async def test_author_and_excerpt_come_from_the_target_not_the_client(space):
    c = space.client
    bystander = await space.join()
    msg = await ok(c, "POST", f"/channels/{space.text}/messages", space.owner, json={"content": "rude words"})
    status, body = await report(space, space.member, "message", msg["id"], target_user=bystander.id)
    assert status == 201, body
    assert body["target_user"] == space.owner.id and body["excerpt"] == "rude words"
    post = await ok(
        c, "POST", f"/channels/{space.forum}/posts", bystander, json={"title": "a title", "body": "b"}
    )
    comment = await ok(c, "POST", f"/posts/{post['id']}/comments", space.owner, json={"body": "a comment"})
    _, body = await report(space, space.member, "post", post["id"], target_user=space.owner.id)
    assert (body["target_user"], body["excerpt"]) == (bystander.id, "a title")
    _, body = await report(space, space.member, "comment", comment["id"])
    assert (body["target_user"], body["excerpt"]) == (space.owner.id, "a comment")


async def test_member_targets_must_be_members_and_are_recorded_as_themselves(space):
    outsider = await new_user(space.client)
    status, body = await report(space, space.member, "member", outsider.id)
    assert (status, body.get("field")) == (404, "target_id")
    status, body = await report(space, space.member, "member", space.owner.id, target_user=outsider.id)
    assert status == 201 and body["target_user"] == space.owner.id


async def test_the_same_reporter_cannot_report_the_same_target_twice_while_it_is_open(space):
    msg = await ok(
        space.client, "POST", f"/channels/{space.text}/messages", space.owner, json={"content": "spam"}
    )
    first = (await report(space, space.member, "message", msg["id"]))[1]
    status, body = await report(space, space.member, "message", msg["id"], reason="again")
    assert (status, body["code"], body.get("field")) == (409, "already_reported", "target_id"), body
    # Someone else may report it, and the member may report something else.
    other = await space.join()
    assert (await report(space, other, "message", msg["id"]))[0] == 201
    assert (await report(space, space.member, "member", space.owner.id))[0] == 201
    assert await stored_reports(space) == 3
    # Once the moderators have handled it, a new report is a new case.
    path = f"/communities/{space.community}/reports/{first['id']}"
    await ok(space.client, "PATCH", path, space.owner, json={"status": "dismissed"})
    assert (await report(space, space.member, "message", msg["id"]))[0] == 201
