"""An invite to a public community counts its uses too, so its use limit holds (the settings screen
shows "1 of 1 uses"); before, only private communities counted and a one-use invite worked forever."""

from __future__ import annotations

from tests.communities.conftest import call, new_user, ok


async def test_public_community_invite_counts_uses_and_stops_at_its_limit(cclient):
    owner, first, second = await new_user(cclient), await new_user(cclient), await new_user(cclient)
    com = await ok(cclient, "POST", "/communities", owner, json={"name": "open", "public": True})
    inv = await ok(cclient, "POST", f"/communities/{com['id']}/invites", owner, json={"max_uses": 1})
    await ok(cclient, "POST", f"/invites/{inv['code']}", first)
    listed = (await ok(cclient, "GET", f"/communities/{com['id']}/invites", owner))["invites"]
    assert [(i["code"], i["uses"], i["max_uses"]) for i in listed] == [(inv["code"], 1, 1)]
    assert (await ok(cclient, "GET", f"/invites/{inv['code']}"))["uses"] == 1
    status, body = await call(cclient, "POST", f"/invites/{inv['code']}", second)
    assert (status, body["code"]) == (410, "invite_used_up")
    # A public community still opens without an invite.
    await ok(cclient, "PUT", f"/communities/{com['id']}/members/@me", second, json={})


async def test_private_community_invite_still_counts_once_per_join(cclient):
    owner, first = await new_user(cclient), await new_user(cclient)
    com = await ok(cclient, "POST", "/communities", owner, json={"name": "closed", "public": False})
    inv = await ok(cclient, "POST", f"/communities/{com['id']}/invites", owner, json={"max_uses": 2})
    await ok(cclient, "POST", f"/invites/{inv['code']}", first)
    assert (await ok(cclient, "GET", f"/invites/{inv['code']}"))["uses"] == 1
