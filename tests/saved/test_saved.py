"""Saved items: a member's private bookmarks of messages, posts and comments they can read."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cryb_node.services import Perm
from tests.communities.conftest import User, call, new_user, ok


async def space(client: Any, owner: User, public: bool = True) -> tuple[str, str]:
    c = await ok(client, "POST", "/communities", owner, json={"name": "Readers", "public": public})
    chans = await ok(client, "GET", f"/communities/{c['id']}/channels", owner)
    return c["id"], chans["channels"][0]["id"]


async def say(client: Any, ch: str, user: User, text: str) -> str:
    return (await ok(client, "POST", f"/channels/{ch}/messages", user, json={"content": text}))["id"]


async def saved(client: Any, user: User, **params: Any) -> dict[str, Any]:
    return await ok(client, "GET", "/saved", user, params=params)


async def test_save_list_and_unsave_a_message_and_a_post(cclient):
    owner, reader = await new_user(cclient), await new_user(cclient)
    cid, ch = await space(cclient, owner)
    await ok(cclient, "PUT", f"/communities/{cid}/members/@me", reader, json={})
    mid = await say(cclient, ch, owner, "the reading list for May")
    forum = await ok(
        cclient, "POST", f"/communities/{cid}/channels", owner, json={"name": "ideas", "kind": "forum"}
    )
    post = await ok(cclient, "POST", f"/channels/{forum['id']}/posts", owner, json={"title": "Book swap?"})
    assert await ok(cclient, "PUT", f"/saved/message/{mid}", reader) == {"saved": True}
    assert await ok(cclient, "PUT", f"/saved/post/{post['id']}", reader) == {"saved": True}
    assert await ok(cclient, "PUT", f"/saved/message/{mid}", reader) == {"saved": True}  # again: no change
    items = (await saved(cclient, reader))["items"]
    assert [(i["type"], i["id"], i["excerpt"]) for i in items] == [
        ("post", post["id"], "Book swap?"),
        ("message", mid, "the reading list for May"),
    ]
    assert items[1]["channel_id"] == ch and items[1]["community_id"] == cid
    assert await ok(cclient, "GET", f"/saved/message/{mid}", reader) == {"saved": True}
    # private: the author's own list is empty
    assert (await saved(cclient, owner))["items"] == []
    assert await ok(cclient, "DELETE", f"/saved/message/{mid}", reader) == {"saved": False}
    assert [i["id"] for i in (await saved(cclient, reader))["items"]] == [post["id"]]
    assert await ok(cclient, "GET", f"/saved/message/{mid}", reader) == {"saved": False}


async def test_cannot_save_what_you_cannot_read(cclient):
    owner, outsider = await new_user(cclient), await new_user(cclient)
    _, ch = await space(cclient, owner, public=False)
    mid = await say(cclient, ch, owner, "members only")
    status, body = await call(cclient, "PUT", f"/saved/message/{mid}", outsider)
    assert (status, body["code"]) == (404, "not_found"), body
    assert (await call(cclient, "PUT", "/saved/message/01m8wdx16vft88zh72ghk14an9", outsider))[0] == 404
    assert (await call(cclient, "PUT", f"/saved/channel/{ch}", owner))[0] == 404
    assert (await call(cclient, "PUT", f"/saved/message/{mid}", None))[0] == 401
    assert (await call(cclient, "GET", "/saved", None))[0] == 401
    status, body = await call(cclient, "GET", "/saved", owner, params={"before": "nope"})
    assert status == 400, body


async def test_items_you_can_no_longer_read_or_that_were_deleted_leave_the_list(cclient):
    owner, reader = await new_user(cclient), await new_user(cclient)
    cid, ch = await space(cclient, owner)
    await ok(cclient, "PUT", f"/communities/{cid}/members/@me", reader, json={})
    secret = await ok(cclient, "POST", f"/communities/{cid}/channels", owner, json={"name": "staff"})
    kept = await say(cclient, ch, owner, "kept")
    gone = await say(cclient, ch, owner, "deleted later")
    hidden = await say(cclient, secret["id"], owner, "staff only soon")
    for mid in (kept, gone, hidden):
        await ok(cclient, "PUT", f"/saved/message/{mid}", reader)
    await ok(cclient, "DELETE", f"/channels/{ch}/messages/{gone}", owner)
    await ok(cclient, "PUT", f"/channels/{secret['id']}/overwrites/role/{cid}", owner,
             json={"deny": int(Perm.VIEW_CHANNEL)})  # fmt: skip
    assert [i["id"] for i in (await saved(cclient, reader))["items"]] == [kept]


async def test_direct_messages_are_saved_by_their_participants_only(cclient):
    alice, bob, eve = await new_user(cclient), await new_user(cclient), await new_user(cclient)
    dm = await ok(cclient, "POST", "/dms", alice, json={"recipients": [bob.id]})
    mid = await say(cclient, dm["id"], alice, "see you at 8")
    assert await ok(cclient, "PUT", f"/saved/message/{mid}", bob) == {"saved": True}
    assert (await call(cclient, "PUT", f"/saved/message/{mid}", eve))[0] == 404
    assert [i["community_id"] for i in (await saved(cclient, bob))["items"]] == [None]


async def test_the_list_pages_newest_first(cclient, clock):
    owner = await new_user(cclient)
    _, ch = await space(cclient, owner)
    ids = [await say(cclient, ch, owner, f"note {i}") for i in range(5)]
    for mid in ids:
        await ok(cclient, "PUT", f"/saved/message/{mid}", owner)
        clock.advance(1)
    first = await saved(cclient, owner, limit=2)
    second = await saved(cclient, owner, limit=2, before=first["next"])
    third = await saved(cclient, owner, limit=2, before=second["next"])
    pages = [[i["id"] for i in page["items"]] for page in (first, second, third)]
    assert pages == [ids[4:2:-1], ids[2:0:-1], ids[:1]]
    assert third["next"] is None


async def test_the_readme_paths_are_the_api(cclient):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### Saved messages and posts")[1].split("\n### ")[0]
    paths = re.findall(r"`(?:PUT`/`DELETE|GET) (/api/v1/saved[^`]*)`", section)
    assert paths == ["/api/v1/saved/{type}/{id}", "/api/v1/saved?limit=50&before=<next>"]
    owner = await new_user(cclient)
    _, ch = await space(cclient, owner)
    mid = await say(cclient, ch, owner, "from the README")
    item = paths[0].removeprefix("/api/v1").replace("{type}", "message").replace("{id}", mid)
    assert await ok(cclient, "PUT", item, owner) == {"saved": True}
    listing = paths[1].removeprefix("/api/v1").split("&before")[0]
    assert [i["id"] for i in (await ok(cclient, "GET", listing, owner))["items"]] == [mid]
    assert await ok(cclient, "DELETE", item, owner) == {"saved": False}
