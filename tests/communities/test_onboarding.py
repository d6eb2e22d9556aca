"""Rules screening, verification levels, the welcome screen and self-assignable roles, over HTTP."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cryb_node.appkeys import NODE
from cryb_node.clock import HLC
from cryb_node.services import Perm
from tests.communities.conftest import User, call, new_user, ok

RULES = "1. Be kind.\n2. **No spam.**"


async def community(client: Any, owner: User) -> tuple[str, str]:
    c = await ok(client, "POST", "/communities", owner, json={"name": "Painters"})
    chans = await ok(client, "GET", f"/communities/{c['id']}/channels", owner)
    return c["id"], chans["channels"][0]["id"]


async def setup(client: Any, owner: User, cid: str, **fields: Any) -> dict[str, Any]:
    return await ok(client, "PUT", f"/communities/{cid}/onboarding", owner, json={"rules": RULES, **fields})


async def joined(client: Any, cid: str) -> User:
    u = await new_user(client)
    await ok(client, "PUT", f"/communities/{cid}/members/@me", u, json={})
    return u


async def say(client: Any, ch: str, user: User, text: str = "hello") -> tuple[int, Any]:
    return await call(client, "POST", f"/channels/{ch}/messages", user, json={"content": text})


def follow_clock(client: Any, clock: Any) -> None:
    """Event times come from the log's hybrid clock: make it read the test's stepped clock."""
    events = client.app[NODE].events
    events.clock = HLC(events.clock.last, now_ms=clock.time_ms)


async def test_member_cannot_post_or_react_until_accepting_the_rules(cclient):
    owner = await new_user(cclient)
    cid, ch = await community(cclient, owner)
    assert not (await ok(cclient, "GET", f"/communities/{cid}", owner))["screening"]
    first = await ok(cclient, "POST", f"/channels/{ch}/messages", owner, json={"content": "welcome"})
    ob = await setup(cclient, owner, cid, require_rules=True, welcome="Hi **painters**")
    member = await joined(cclient, cid)
    assert (await ok(cclient, "GET", f"/communities/{cid}", member))["screening"]
    seen = await ok(cclient, "GET", f"/communities/{cid}/onboarding", member)
    assert seen["rules"] == RULES and seen["welcome"] == "Hi **painters**" and seen["require_rules"]
    assert seen["me"] == {
        "member": True, "accepted": False, "email_verified": False, "can_post": False,
        "blocked_code": "rules_not_accepted", "blocked_detail": "accept the community's rules before posting",
    }  # fmt: skip
    # reading is fine, posting and reacting are not
    assert (await call(cclient, "GET", f"/channels/{ch}/messages", member))[0] == 200
    status, body = await say(cclient, ch, member)
    assert (status, body["code"]) == (403, "rules_not_accepted"), body
    status, body = await call(cclient, "PUT", f"/messages/{first['id']}/reactions/%F0%9F%91%8D", member)
    assert (status, body["code"]) == (403, "rules_not_accepted"), body
    # a stale or made-up hash is refused; the one read is accepted
    status, body = await call(cclient, "POST", f"/communities/{cid}/onboarding/accept", member,
                              json={"rules_hash": "0" * 32})  # fmt: skip
    assert (status, body["code"], body["field"]) == (409, "rules_changed", "rules_hash"), body
    after = await ok(cclient, "POST", f"/communities/{cid}/onboarding/accept", member,
                     json={"rules_hash": ob["rules_hash"]})  # fmt: skip
    assert after["me"]["accepted"] and after["me"]["can_post"] and after["me"]["blocked_code"] is None
    assert (await say(cclient, ch, member))[0] == 201
    # the owner never needed to accept
    assert (await say(cclient, ch, owner))[0] == 201


async def test_rejoining_asks_for_the_rules_again(cclient):
    owner = await new_user(cclient)
    cid, ch = await community(cclient, owner)
    ob = await setup(cclient, owner, cid, require_rules=True)
    member = await joined(cclient, cid)
    await ok(
        cclient,
        "POST",
        f"/communities/{cid}/onboarding/accept",
        member,
        json={"rules_hash": ob["rules_hash"]},
    )
    assert (await say(cclient, ch, member))[0] == 201
    await ok(cclient, "DELETE", f"/communities/{cid}/members/@me", member)
    await ok(cclient, "PUT", f"/communities/{cid}/members/@me", member, json={})
    status, body = await say(cclient, ch, member)
    assert (status, body["code"]) == (403, "rules_not_accepted"), body


async def test_moderators_are_not_held_back(cclient):
    owner = await new_user(cclient)
    cid, ch = await community(cclient, owner)
    await setup(cclient, owner, cid, require_rules=True)
    mod = await joined(cclient, cid)
    role = await ok(cclient, "POST", f"/communities/{cid}/roles", owner,
                    json={"name": "mods", "perms": int(Perm.MANAGE_MESSAGES)})  # fmt: skip
    await ok(cclient, "PUT", f"/communities/{cid}/members/{mod.id}/roles/{role['id']}", owner)
    assert (await say(cclient, ch, mod))[0] == 201


async def test_verified_email_level(cclient):
    owner = await new_user(cclient)
    cid, ch = await community(cclient, owner)
    ob = await setup(cclient, owner, cid, verification="email")
    member = await joined(cclient, cid)
    accept = {"rules_hash": ob["rules_hash"]}
    me = (await ok(cclient, "POST", f"/communities/{cid}/onboarding/accept", member, json=accept))["me"]
    assert (me["can_post"], me["blocked_code"]) == (False, "verification_required")
    status, body = await say(cclient, ch, member)
    assert (status, body["code"]) == (403, "verification_required"), body
    await cclient.app[NODE].db.write(
        lambda conn: conn.execute("UPDATE users_accounts SET email_verified = 1 WHERE id = ?", (member.id,))
    )
    # the node vouches for the address when the member confirms again
    me = (await ok(cclient, "POST", f"/communities/{cid}/onboarding/accept", member, json=accept))["me"]
    assert me["email_verified"] and me["can_post"]
    assert (await say(cclient, ch, member))[0] == 201


@pytest.mark.parametrize("level", ["member_age", "account_age"])
async def test_age_levels_hold_a_member_back_until_the_time_passes(cclient, clock, level):
    follow_clock(cclient, clock)
    owner = await new_user(cclient)
    cid, ch = await community(cclient, owner)
    await setup(cclient, owner, cid, verification=level, min_minutes=10)
    member = await joined(cclient, cid)
    status, body = await say(cclient, ch, member)
    assert (status, body["code"]) == (403, "verification_required"), body
    assert "10 minutes" in body["detail"]
    clock.advance(9 * 60)
    assert (await say(cclient, ch, member))[0] == 403
    clock.advance(61)
    me = (await ok(cclient, "GET", f"/communities/{cid}/onboarding", member))["me"]
    assert me["can_post"], me
    assert (await say(cclient, ch, member))[0] == 201


async def test_self_assignable_roles(cclient):
    owner = await new_user(cclient)
    cid, _ = await community(cclient, owner)
    painter = await ok(
        cclient, "POST", f"/communities/{cid}/roles", owner, json={"name": "Painter", "perms": 0}
    )
    staff = await ok(cclient, "POST", f"/communities/{cid}/roles", owner, json={"name": "Staff", "perms": 0})
    ob = await setup(cclient, owner, cid, self_roles=[painter["id"]])
    assert [(r["name"], r["mine"]) for r in ob["self_roles"]] == [("Painter", False)]
    member = await joined(cclient, cid)
    took = await ok(cclient, "PUT", f"/communities/{cid}/members/@me/self-roles/{painter['id']}", member)
    assert took["self_roles"][0]["mine"]
    members = await ok(cclient, "GET", f"/communities/{cid}/members", owner)
    mine = next(m for m in members["members"] if m["user_id"] == member.id)
    assert painter["id"] in mine["roles"]
    # a role not offered is refused, and nobody picks roles for others through this
    status, body = await call(
        cclient, "PUT", f"/communities/{cid}/members/@me/self-roles/{staff['id']}", member
    )
    assert (status, body["code"]) == (403, "not_self_assignable"), body
    outsider = await new_user(cclient)
    status, body = await call(cclient, "PUT", f"/communities/{cid}/members/@me/self-roles/{painter['id']}",
                              outsider)  # fmt: skip
    assert (status, body["code"]) == (404, "not_member"), body
    dropped = await ok(
        cclient, "DELETE", f"/communities/{cid}/members/@me/self-roles/{painter['id']}", member
    )
    assert not dropped["self_roles"][0]["mine"]


async def test_setting_onboarding_is_authorised_and_validated(cclient):
    owner = await new_user(cclient)
    cid, ch = await community(cclient, owner)
    other, _ = await community(cclient, owner)
    member = await joined(cclient, cid)
    path = f"/communities/{cid}/onboarding"
    status, body = await call(cclient, "PUT", path, member, json={"rules": "mine now"})
    assert (status, body["code"]) == (403, "missing_permission"), body
    assert (await call(cclient, "PUT", path, None, json={"rules": "x"}))[0] == 401
    status, body = await call(cclient, "PUT", path, owner, json={"verification": "phone"})
    assert status == 400 and body["field"] == "verification", body
    status, body = await call(cclient, "PUT", path, owner, json={"min_minutes": -1})
    assert status == 400, body
    status, body = await call(cclient, "PUT", path, owner, json={"rules": "x" * 6001})
    assert status == 400, body
    other_ch = (await ok(cclient, "GET", f"/communities/{other}/channels", owner))["channels"][0]["id"]
    status, body = await call(cclient, "PUT", path, owner, json={"channels": [{"channel_id": other_ch}]})
    assert (status, body["code"]) == (404, "not_found"), body
    strong = await ok(cclient, "POST", f"/communities/{cid}/roles", owner,
                      json={"name": "Mods", "perms": int(Perm.KICK_MEMBERS)})  # fmt: skip
    status, body = await call(cclient, "PUT", path, owner, json={"self_roles": [strong["id"]]})
    assert (status, body["code"]) == (400, "not_self_assignable"), body
    status, body = await call(cclient, "PUT", path, owner, json={"self_roles": [cid]})
    assert (status, body["code"]) == (400, "not_self_assignable"), body
    # a manager of the community who may not manage roles keeps the offered roles as they are
    manager = await joined(cclient, cid)
    managers = {"name": "Managers", "perms": int(Perm.MANAGE_COMMUNITY), "position": 5}
    mrole = await ok(cclient, "POST", f"/communities/{cid}/roles", owner, json=managers)
    await ok(cclient, "PUT", f"/communities/{cid}/members/{manager.id}/roles/{mrole['id']}", owner)
    painter = await ok(
        cclient, "POST", f"/communities/{cid}/roles", owner, json={"name": "Painter", "perms": 0}
    )
    status, body = await call(cclient, "PUT", path, manager, json={"self_roles": [painter["id"]]})
    assert (status, body["code"]) == (403, "missing_permission"), body
    done = await ok(cclient, "PUT", path, manager,
                    json={"rules": "ok", "channels": [{"channel_id": ch, "note": "say hi"}]})  # fmt: skip
    assert done["channels"] == [{"channel_id": ch, "name": "general", "note": "say hi"}]


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> tuple[str, str, dict[str, Any]]:
    section = README.read_text().split("### Onboarding and rules screening")[1].split("\n### ")[0]
    block = re.search(r"```json\n(\w+) (\S+)\n(.*?)```", section, re.S)
    assert block is not None, "the README's onboarding section lost its example"
    return block[1], block[2], json.loads(block[3])


async def test_the_readme_example_sets_up_screening(cclient, clock):
    follow_clock(cclient, clock)
    owner = await new_user(cclient)
    cid, ch = await community(cclient, owner)
    method, path, body = readme_example()
    body["channels"][0]["channel_id"] = ch  # "{general}" in the README
    got = await ok(cclient, method, path.removeprefix("/api/v1").replace("{id}", cid), owner, json=body)
    assert (got["verification"], got["min_minutes"], got["require_rules"]) == ("member_age", 10, True)
    member = await joined(cclient, cid)
    accept = {"rules_hash": got["rules_hash"]}
    me = (await ok(cclient, "POST", f"/communities/{cid}/onboarding/accept", member, json=accept))["me"]
    assert me["accepted"] and me["blocked_code"] == "verification_required"
    clock.advance(10 * 60 + 1)
    assert (await say(cclient, ch, member))[0] == 201
