from tests.communities.conftest import call, new_user, ok


async def test_create_join_and_read(cclient):
    owner = await new_user(cclient)
    member = await new_user(cclient)
    c = await ok(cclient, "POST", "/communities", owner, json={"name": "Birds"})
    assert c["owner_id"] == owner.id and c["member_count"] == 1
    chans = await ok(cclient, "GET", f"/communities/{c['id']}/channels", member)
    assert [ch["name"] for ch in chans["channels"]] == ["general"]
    assert chans["channels"][0]["perms"] == 5  # VIEW | READ for a non-member
    await ok(cclient, "PUT", f"/communities/{c['id']}/members/@me", member, json={})
    chans = await ok(cclient, "GET", f"/communities/{c['id']}/channels", member)
    assert chans["channels"][0]["perms"] & 2
    status, body = await call(cclient, "POST", f"/communities/{c['id']}/roles", member, json={"name": "x"})
    assert status == 403, body
