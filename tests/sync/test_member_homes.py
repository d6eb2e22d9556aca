"""Member lists show where members from other nodes live: on every node, a member homed elsewhere
carries its home node (``home``: the host of that node's URL, ``home_key``: its identity key) and a
member of this node none; after an account moves, its new home."""

from __future__ import annotations

from urllib.parse import urlsplit

from cryb_node.sync import homes
from tests.sync.conftest import make_community, mesh


async def test_member_list_names_each_remote_members_home(federation) -> None:
    a, b, c = await federation(3)
    owner = await a.user()
    cid, _ = await make_community(a, owner)
    bob = await b.user()  # homed on b
    await mesh([a, b, c], rounds=1)
    await b.ok("PUT", f"/communities/{cid}/members/@me", bob, json={})
    await mesh([a, b, c], rounds=2)
    host_a, host_b = urlsplit(a.url).netloc, urlsplit(b.url).netloc

    on_a = {m["user_id"]: m for m in (await a.ok("GET", f"/communities/{cid}/members", owner))["members"]}
    assert on_a[owner.id]["home"] is None and on_a[owner.id]["home_key"] is None  # local on a
    assert on_a[bob.id]["home"] == host_b and on_a[bob.id]["home_key"] == b.key.hex()
    on_b = {m["user_id"]: m for m in (await b.ok("GET", f"/communities/{cid}/members", bob))["members"]}
    assert on_b[bob.id]["home"] is None  # local on b
    assert on_b[owner.id]["home"] == host_a and on_b[owner.id]["home_key"] == a.key.hex()
    one = await b.ok("GET", f"/communities/{cid}/members/{owner.id}", bob)
    assert one["home"] == host_a and one["home_key"] == a.key.hex()
    assert (await a.ok("GET", f"/communities/{cid}/members/@me", owner))["home"] is None
    # c homes neither: both are remote there
    carol = await c.user()
    await c.ok("PUT", f"/communities/{cid}/members/@me", carol, json={})
    on_c = {
        m["user_id"]: m["home"] for m in (await c.ok("GET", f"/communities/{cid}/members", carol))["members"]
    }
    assert on_c == {owner.id: host_a, bob.id: host_b, carol.id: None}

    # bob moves to c: a names c as his home now, and c shows him as its own
    await homes.move_account(b.node, bob.id, c.key, c.url)
    await mesh([a, b, c], rounds=2)
    on_a = {m["user_id"]: m for m in (await a.ok("GET", f"/communities/{cid}/members", owner))["members"]}
    assert on_a[bob.id]["home"] == urlsplit(c.url).netloc and on_a[bob.id]["home_key"] == c.key.hex()
    assert (await c.ok("GET", f"/communities/{cid}/members/{bob.id}", carol))["home"] is None


async def test_member_list_without_peers_has_no_homes(federation) -> None:
    (a,) = await federation(1)
    owner = await a.user()
    cid, _ = await make_community(a, owner)
    members = (await a.ok("GET", f"/communities/{cid}/members", owner))["members"]
    assert [m["home"] for m in members] == [None]
