"""Content moderation: removal by rank (an admin's decision outranks a moderator's later one), a
ban's delete window hides the member's recent content (the communities plugin's member.ban event),
automod on create and edit."""

from __future__ import annotations

from cryb_node.appkeys import NODE
from cryb_node.services import Perm
from tests.content.conftest import call, ok


async def test_moderator_cannot_undo_an_administrators_removal(space):
    c = space.client
    mod = await space.join()
    role = await ok(c, "POST", f"/communities/{space.community}/roles", space.owner,
                    json={"name": "mods", "perms": int(Perm.MANAGE_MESSAGES)})  # fmt: skip
    await ok(c, "PUT", f"/communities/{space.community}/members/{mod.id}/roles/{role['id']}", space.owner)
    post = await ok(c, "POST", f"/channels/{space.forum}/posts", space.member, json={"title": "x"})
    path = f"/posts/{post['id']}/moderation"
    await ok(c, "POST", path, space.owner, json={"action": "remove", "reason": "rule 1"})  # owner: rank 2
    await ok(c, "POST", path, mod, json={"action": "approve"})  # rank 1, later: loses
    assert (await call(c, "GET", f"/posts/{post['id']}", space.member))[0] == 404
    await ok(c, "POST", path, space.owner, json={"action": "approve"})
    assert (await ok(c, "GET", f"/posts/{post['id']}", space.member))["removed"] is False
    assert (await call(c, "POST", path, space.member, json={"action": "remove"}))[0] == 403


async def test_ban_with_delete_window_hides_recent_content(space):
    c = space.client
    bad = await space.join()
    m = await ok(c, "POST", f"/channels/{space.text}/messages", bad, json={"content": "spam"})
    p = await ok(c, "POST", f"/channels/{space.forum}/posts", bad, json={"title": "spam"})
    keep = await ok(c, "POST", f"/channels/{space.text}/messages", space.member, json={"content": "fine"})
    await ok(c, "PUT", f"/communities/{space.community}/bans/{bad.id}", space.owner,
             json={"reason": "spam", "delete_message_seconds": 3600})  # fmt: skip
    await c.app[NODE].bus.consumers["content.ban-purge"].caught_up()
    page = await ok(c, "GET", f"/channels/{space.text}/messages", space.member)
    assert [x["id"] for x in page["messages"]] == [keep["id"]]
    assert m["id"] in [
        x["id"] for x in (await ok(c, "GET", f"/channels/{space.text}/messages", space.owner))["messages"]
    ]
    assert (await call(c, "GET", f"/posts/{p['id']}", space.member))[0] == 404


async def test_automod_blocks_on_create_and_edit(space):
    c = space.client
    rule = {"name": "no bad", "kind": "words", "config": {"words": ["badword"]}, "action": "block"}
    await ok(c, "POST", f"/communities/{space.community}/automod/rules", space.owner, json=rule)
    before = await c.app[NODE].db.fetchval("SELECT count(*) FROM content_messages")
    status, body = await call(c, "POST", f"/channels/{space.text}/messages", space.member,
                              json={"content": "a badword here"})  # fmt: skip
    assert status == 400 and body["code"] == "automod_blocked" and body["field"] == "content"
    assert await c.app[NODE].db.fetchval("SELECT count(*) FROM content_messages") == before
    m = await ok(c, "POST", f"/channels/{space.text}/messages", space.member, json={"content": "clean"})
    status, body = await call(c, "PATCH", f"/channels/{space.text}/messages/{m['id']}", space.member,
                              json={"content": "now badword"})  # fmt: skip
    assert status == 400 and body["code"] == "automod_blocked"
    status, _ = await call(
        c, "POST", f"/channels/{space.forum}/posts", space.member, json={"title": "badword"}
    )
    assert status == 400


async def test_flagged_content_is_posted_and_reported_with_a_link(space):
    c = space.client
    rule = {"name": "watch", "kind": "words", "config": {"words": ["sus"]}, "action": "flag"}
    await ok(c, "POST", f"/communities/{space.community}/automod/rules", space.owner, json=rule)
    m = await ok(c, "POST", f"/channels/{space.text}/messages", space.member, json={"content": "kinda sus"})
    reports = await ok(c, "GET", f"/communities/{space.community}/reports", space.owner)
    assert [(r["target_type"], r["target_id"]) for r in reports["reports"]] == [("message", m["id"])]
