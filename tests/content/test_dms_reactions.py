"""DMs (1:1 found again, groups up to 10, blocks respected, closed to outsiders), reactions (counts,
"me", add-wins), custom emoji, and votes."""

from __future__ import annotations

from tests.content.conftest import call, new_user, ok
from tests.content.test_emoji_icon_media import upload


async def test_one_to_one_dm_is_found_again_and_closed_to_others(cc):
    a, b, c = await new_user(cc), await new_user(cc), await new_user(cc)
    dm = await ok(cc, "POST", "/dms", a, json={"recipients": [b.id]})
    again = await ok(cc, "POST", "/dms", b, json={"recipients": [a.id]})
    assert again["id"] == dm["id"] and dm["participants"] == sorted([a.id, b.id])
    await ok(cc, "POST", f"/channels/{dm['id']}/messages", a, json={"content": "hi"})
    got = await ok(cc, "GET", f"/channels/{dm['id']}/messages", b)
    assert [m["content"] for m in got["messages"]] == ["hi"]
    assert (await call(cc, "GET", f"/channels/{dm['id']}/messages", c))[0] == 404
    assert (await call(cc, "POST", f"/channels/{dm['id']}/messages", c, json={"content": "x"}))[0] == 404
    assert (await call(cc, "GET", f"/channels/{dm['id']}/messages"))[0] == 401
    assert [d["id"] for d in (await ok(cc, "GET", "/dms", b))["channels"]] == [dm["id"]]


async def test_group_dm_of_ten(cc):
    users = [await new_user(cc) for _ in range(10)]
    dm = await ok(cc, "POST", "/dms", users[0], json={"recipients": [u.id for u in users[1:]], "name": "ten"})
    assert len(dm["participants"]) == 10 and dm["name"] == "ten"


async def test_blocks_stop_dms(cc):
    a, b = await new_user(cc), await new_user(cc)
    dm = await ok(cc, "POST", "/dms", a, json={"recipients": [b.id]})
    await ok(cc, "PUT", f"/users/@me/blocks/{a.id}", b)
    status, body = await call(cc, "POST", f"/channels/{dm['id']}/messages", a, json={"content": "hello?"})
    assert status == 403, body
    assert (await call(cc, "POST", "/dms", a, json={"recipients": [b.id]}))[0] == 403
    assert (await ok(cc, "GET", f"/channels/{dm['id']}/messages", b))["messages"] == []


async def test_reactions_count_once_per_user_and_show_mine(space):
    c = space.client
    m = await ok(c, "POST", f"/channels/{space.text}/messages", space.member, json={"content": "r"})
    path = f"/messages/{m['id']}/reactions/👍"
    await ok(c, "PUT", path, space.member)
    await ok(c, "PUT", path, space.member)  # twice is once
    await ok(c, "PUT", path, space.owner)
    await ok(c, "PUT", f"/messages/{m['id']}/reactions/🎉", space.owner)
    got = await ok(c, "GET", f"/channels/{space.text}/messages/{m['id']}", space.member)
    assert got["reactions"] == [
        {"emoji": "👍", "count": 2, "me": True},
        {"emoji": "🎉", "count": 1, "me": False},
    ]
    await ok(c, "DELETE", path, space.member)
    got = await ok(c, "GET", f"/channels/{space.text}/messages/{m['id']}", space.member)
    assert got["reactions"][0] == {"emoji": "👍", "count": 1, "me": False}
    assert (await ok(c, "GET", path, space.member))["users"] == [space.owner.id]


async def test_custom_emoji_reactions(space):
    c = space.client
    media = await upload(c, space.owner)
    assert (await call(c, "POST", f"/communities/{space.community}/emojis", space.member,
                       json={"name": "party", "media_id": media}))[0] == 403  # fmt: skip
    emoji = await ok(c, "POST", f"/communities/{space.community}/emojis", space.owner,
                     json={"name": "party", "media_id": media})  # fmt: skip
    post = await ok(c, "POST", f"/channels/{space.forum}/posts", space.member, json={"title": "e"})
    await ok(c, "PUT", f"/posts/{post['id']}/reactions/party:{emoji['id']}", space.member)
    got = await ok(c, "GET", f"/posts/{post['id']}", space.member)
    assert got["reactions"] == [{"emoji": f"party:{emoji['id']}", "count": 1, "me": True}]
    await ok(c, "DELETE", f"/communities/{space.community}/emojis/{emoji['id']}", space.owner)
    status, body = await call(c, "PUT", f"/posts/{post['id']}/reactions/party:{emoji['id']}", space.owner)
    assert status == 400 and body["field"] == "emoji"


async def test_votes_change_and_withdraw(space):
    c = space.client
    post = await ok(c, "POST", f"/channels/{space.forum}/posts", space.member, json={"title": "v"})
    path = f"/posts/{post['id']}/vote"
    # The post starts with its author's (the member's) upvote.
    assert (await ok(c, "PUT", path, space.owner, json={"value": 1}))["score"] == 2
    assert (await ok(c, "PUT", path, space.owner, json={"value": -1}))["score"] == 0
    assert (await ok(c, "PUT", path, space.member, json={"value": -1}))["score"] == -2
    got = await ok(c, "PUT", path, space.owner, json={"value": 0})
    assert (got["ups"], got["downs"], got["score"]) == (0, 1, -1)
    assert (await ok(c, "GET", f"/posts/{post['id']}", space.member))["my_vote"] == -1


async def test_custom_emoji_is_renamed_by_a_manager_only_and_keeps_its_id(space):
    c = space.client
    media = await upload(c, space.owner)
    base = f"/communities/{space.community}/emojis"
    emoji = await ok(c, "POST", base, space.owner, json={"name": "party", "media_id": media})
    other = await ok(c, "POST", base, space.owner, json={"name": "ferry", "media_id": media})
    path = f"{base}/{emoji['id']}"
    # A plain member may not; bad names and names in use are refused on "name"; an unknown id is 404.
    assert (await call(c, "PATCH", path, space.member, json={"name": "fiesta"}))[0] == 403
    assert (await call(c, "PATCH", path, json={"name": "fiesta"}))[0] == 401
    status, body = await call(c, "PATCH", path, space.owner, json={"name": "no spaces"})
    assert (status, body.get("field")) == (400, "name"), body
    status, body = await call(c, "PATCH", path, space.owner, json={"name": "ferry"})
    assert (status, body["code"], body.get("field")) == (409, "name_taken", "name"), body
    status, _ = await call(c, "PATCH", f"{base}/{'0' * 26}", space.owner, json={"name": "fiesta"})
    assert status == 404
    renamed = await ok(c, "PATCH", path, space.owner, json={"name": "fiesta"})
    assert renamed == {**emoji, "name": "fiesta"}
    listed = {e["id"]: e["name"] for e in (await ok(c, "GET", base, space.member))["emojis"]}
    assert listed == {emoji["id"]: "fiesta", other["id"]: "ferry"}
    # The old name is free again; reactions name the emoji by its new name.
    await ok(c, "POST", base, space.owner, json={"name": "party", "media_id": media})
    post = await ok(c, "POST", f"/channels/{space.forum}/posts", space.member, json={"title": "e"})
    await ok(c, "PUT", f"/posts/{post['id']}/reactions/fiesta:{emoji['id']}", space.member)
    # Deleted, it cannot be renamed.
    await ok(c, "DELETE", path, space.owner)
    assert (await call(c, "PATCH", path, space.owner, json={"name": "gone"}))[0] == 404


async def test_a_reaction_chip_made_before_a_rename_still_toggles_and_the_new_name_joins_it(space):
    """A custom emoji is the same emoji under its new name: people click the chip they see (its
    reaction key is the old "name:id") and others react by the new name; both count on one chip."""
    c = space.client
    media = await upload(c, space.owner)
    base = f"/communities/{space.community}/emojis"
    emoji = await ok(c, "POST", base, space.owner, json={"name": "party", "media_id": media})
    post = await ok(c, "POST", f"/channels/{space.forum}/posts", space.member, json={"title": "r"})
    reactions = f"/posts/{post['id']}/reactions"
    old = f"party:{emoji['id']}"
    await ok(c, "PUT", f"{reactions}/{old}", space.member)
    await ok(c, "PATCH", f"{base}/{emoji['id']}", space.owner, json={"name": "fiesta"})
    await ok(c, "PUT", f"{reactions}/{old}", space.owner)  # the chip, as it was drawn before
    await ok(c, "PUT", f"{reactions}/fiesta:{emoji['id']}", space.owner)  # already counted: no-op
    got = await ok(c, "GET", f"/posts/{post['id']}", space.owner)
    assert got["reactions"] == [{"emoji": old, "count": 2, "me": True}]
    # Taking it back by either name removes the one reaction.
    await ok(c, "DELETE", f"{reactions}/fiesta:{emoji['id']}", space.member)
    got = await ok(c, "GET", f"/posts/{post['id']}", space.member)
    assert got["reactions"] == [{"emoji": old, "count": 1, "me": False}]
    # An id of another community's (or no) emoji is still refused, whatever the name.
    status, body = await call(c, "PUT", f"{reactions}/party:{'0' * 26}", space.owner)
    assert (status, body.get("field")) == (400, "emoji")
