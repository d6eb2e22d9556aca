"""Content removed by a moderator (from the reports queue or anywhere) is in the community mod log,
with its target type and, for the community's moderators, what it was and who wrote it (issue 21,
item 10: such removals were missing from the log)."""

from __future__ import annotations

from cryb_node.appkeys import NODE
from tests.communities.conftest import call, new_user, ok
from tests.communities.test_moderation import community_with_mod


async def general(client, cid, user) -> str:
    channels = await ok(client, "GET", f"/communities/{cid}/channels", user)
    return next(c["id"] for c in channels["channels"] if c["name"] == "general")


async def test_reported_message_removed_from_the_queue_is_in_the_mod_log(cclient):
    cid, owner, mod, member = await community_with_mod(cclient)
    ch = await general(cclient, cid, member)
    msg = await ok(
        cclient, "POST", f"/channels/{ch}/messages", member, json={"content": "buy cheap pills here"}
    )
    keep = await ok(cclient, "POST", f"/channels/{ch}/messages", member, json={"content": "hello all"})
    report = await ok(cclient, "POST", f"/communities/{cid}/reports", owner,
                      json={"target_type": "message", "target_id": msg["id"], "reason": "spam"})  # fmt: skip

    # A member without MANAGE_MESSAGES cannot remove it, and nothing is logged.
    status, body = await call(
        cclient, "POST", f"/messages/{msg['id']}/moderation", member, json={"action": "remove"}
    )
    assert status == 403, body
    # The moderator works the queue: remove (with a reason), then resolve the report.
    await ok(
        cclient,
        "POST",
        f"/messages/{msg['id']}/moderation",
        mod,
        json={"action": "remove", "reason": "spam link"},
    )
    await ok(cclient, "PATCH", f"/communities/{cid}/reports/{report['id']}", mod,
             json={"status": "resolved", "action_taken": "removed"})  # fmt: skip
    # A pin is not a removal: it stays out of the log.
    await ok(cclient, "PUT", f"/channels/{ch}/pins/{keep['id']}", mod)

    log = (await ok(cclient, "GET", f"/communities/{cid}/modlog", mod))["entries"]
    [entry] = [e for e in log if e["target"] == msg["id"]]
    assert entry["action"] == "message_remove" and entry["target_type"] == "message"
    assert entry["actor"] == mod.id and entry["reason"] == "spam link" and entry["time"] > 0
    assert entry["details"] == {"channel_id": ch}
    assert entry["content"] == {
        "author_id": member.id,
        "excerpt": "buy cheap pills here",
        "channel_id": ch,
        "post_id": None,
    }
    assert not [e for e in log if e["target"] == keep["id"]]
    only = (await ok(cclient, "GET", f"/communities/{cid}/modlog?action=message_remove", owner))["entries"]
    assert [e["id"] for e in only] == [entry["id"]]

    # Restoring it is logged too.
    await ok(cclient, "POST", f"/messages/{msg['id']}/moderation", mod, json={"action": "approve"})
    log = (await ok(cclient, "GET", f"/communities/{cid}/modlog?limit=1", mod))["entries"]
    assert [(e["action"], e["target"]) for e in log] == [("message_approve", msg["id"])]

    # The row is the event's projection: in the database, keyed by the event.
    rows = await cclient.app[NODE].db.fetchall(
        "SELECT action, target_id, actor_id FROM community_modlog"
        " WHERE community_id = ? AND action LIKE 'message_%' ORDER BY hlc", (cid,),
    )  # fmt: skip
    assert [tuple(r) for r in rows] == [
        ("message_remove", msg["id"], mod.id),
        ("message_approve", msg["id"], mod.id),
    ]

    # A member cannot read a private mod log; a public one shows them the entry but not the text.
    status, body = await call(cclient, "GET", f"/communities/{cid}/modlog", member)
    assert status == 403, body
    await ok(cclient, "PATCH", f"/communities/{cid}", owner, json={"modlog_public": True})
    public = (await ok(cclient, "GET", f"/communities/{cid}/modlog", member))["entries"]
    seen = [e for e in public if e["target"] == msg["id"]]
    assert {e["action"] for e in seen} == {"message_remove", "message_approve"}
    assert all(e["content"] is None for e in seen)
    stranger = await new_user(cclient)
    status, body = await call(cclient, "GET", f"/communities/{cid}/modlog", stranger)
    assert status in (200, 403, 404), body
    if status == 200:
        assert all(e["content"] is None for e in body["entries"])


async def test_removed_posts_and_comments_are_logged_with_their_kind(cclient):
    cid, owner, mod, member = await community_with_mod(cclient)
    forum = await ok(
        cclient, "POST", f"/communities/{cid}/channels", owner, json={"name": "recipes", "kind": "forum"}
    )
    post = await ok(
        cclient, "POST", f"/channels/{forum['id']}/posts", member, json={"title": "Miracle diet", "body": "x"}
    )
    comment = await ok(
        cclient, "POST", f"/posts/{post['id']}/comments", member, json={"body": "dm me for details"}
    )
    await ok(
        cclient,
        "POST",
        f"/comments/{comment['id']}/moderation",
        mod,
        json={"action": "remove", "reason": "spam"},
    )
    await ok(cclient, "POST", f"/posts/{post['id']}/moderation", owner, json={"action": "remove"})
    await ok(
        cclient, "POST", f"/posts/{post['id']}/moderation", owner, json={"action": "lock"}
    )  # not a removal
    log = (await ok(cclient, "GET", f"/communities/{cid}/modlog?limit=2", mod))["entries"]
    assert [(e["action"], e["target"], e["target_type"], e["actor"]) for e in log] == [
        ("post_remove", post["id"], "post", owner.id),
        ("comment_remove", comment["id"], "comment", mod.id),
    ]
    assert log[0]["content"]["excerpt"] == "Miracle diet" and log[0]["content"]["post_id"] == post["id"]
    assert log[1]["content"] == {
        "author_id": member.id, "excerpt": "dm me for details",
        "channel_id": forum["id"], "post_id": post["id"],
    }  # fmt: skip
