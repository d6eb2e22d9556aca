"""A member with MANAGE_ROLES sets channel overwrites only on roles and members ranked below them."""

from __future__ import annotations

import pytest

from cryb_node.app import build_app
from cryb_node.services import Perm
from tests.communities.conftest import call, communities_config, new_user, ok

MOD_PERMS = int(Perm.MANAGE_ROLES | Perm.MANAGE_CHANNELS | Perm.SEND_MESSAGES | Perm.ATTACH_FILES)
DENY = {"deny": int(Perm.SEND_MESSAGES)}


@pytest.fixture
async def cclient(aiohttp_client, tmp_path):
    return await aiohttp_client(build_app(communities_config(tmp_path / "data")))


async def _world(client):
    owner, mod, senior, junior = [await new_user(client) for _ in range(4)]
    c = (await ok(client, "POST", "/communities", owner, json={"name": "Ranks"}))["id"]
    ch = (await ok(client, "GET", f"/communities/{c}/channels", owner))["channels"][0]["id"]
    for u in (mod, senior, junior):
        await ok(client, "PUT", f"/communities/{c}/members/@me", u, json={})
    roles = {}
    for name, position in (("helper", 1), ("mods", 5), ("peers", 5), ("seniors", 7)):
        body = {"name": name, "position": position, "perms": MOD_PERMS if name == "mods" else 0}
        roles[name] = (await ok(client, "POST", f"/communities/{c}/roles", owner, json=body))["id"]
    for user, role in ((mod, "mods"), (senior, "seniors"), (junior, "helper")):
        await ok(client, "PUT", f"/communities/{c}/members/{user.id}/roles/{roles[role]}", owner)
    return owner, mod, senior, junior, c, ch, roles


async def test_manage_roles_cannot_set_overwrites_above_its_rank(cclient):
    owner, mod, senior, junior, c, ch, roles = await _world(cclient)
    refused = [
        ("role", roles["seniors"]),
        ("role", roles["peers"]),  # the same position is not below
        ("member", senior.id),
        ("member", owner.id),
    ]
    for target_type, target_id in refused:
        status, body = await call(cclient, "PUT", f"/channels/{ch}/overwrites/{target_type}/{target_id}", mod,
                                  json=DENY)  # fmt: skip
        assert (status, body["code"], body["field"]) == (403, "role_hierarchy", "target_id"), body

    # @everyone last: its deny reaches the moderator too, who then no longer holds the bit to deny.
    for target_type, target_id in (("member", junior.id), ("role", roles["helper"]), ("role", c)):
        status, body = await call(cclient, "PUT", f"/channels/{ch}/overwrites/{target_type}/{target_id}", mod,
                                  json=DENY)  # fmt: skip
        assert status == 204, (target_type, body)


async def test_manage_roles_cannot_delete_overwrites_above_its_rank(cclient):
    owner, mod, senior, _, _, ch, roles = await _world(cclient)
    for target_type, target_id in (("role", roles["seniors"]), ("member", senior.id)):
        await ok(cclient, "PUT", f"/channels/{ch}/overwrites/{target_type}/{target_id}", owner,
                 json={"allow": int(Perm.ATTACH_FILES)})  # fmt: skip
        path = f"/channels/{ch}/overwrites/{target_type}/{target_id}"
        status, body = await call(cclient, "DELETE", path, mod)
        assert (status, body["code"]) == (403, "role_hierarchy")
    # The owner still can.
    status, _ = await call(cclient, "DELETE", f"/channels/{ch}/overwrites/member/{senior.id}", owner)
    assert status == 204
