"""The node admin console's users section over HTTP (issue 20, acceptance 2): search and list, show,
disable and enable, promote and demote, sign out everywhere, erase, purge content. Each action is
checked in the database and on the affected user (their tokens, sockets and what they wrote), is
audited with its actor, and is refused to members (403) and to anonymous callers (401). The same
functions through `cryb user ...` are in test_admin_console_users_cli.py."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from cryb_plugins.users.service import CLI
from websockets.exceptions import ConnectionClosed

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from tests.content.conftest import Space, User, call, content_config, make_space, ok
from tests.users.conftest import users_service
from tests.users_fixtures import PASSWORD, register_user

ADMIN = "/admin/users"


@pytest.fixture
async def cc(aiohttp_client, tmp_path):
    return await aiohttp_client(build_app(content_config(tmp_path / "data")))


@pytest.fixture
async def space(cc) -> Space:
    return await make_space(cc)


async def login(client: Any, name: str) -> tuple[int, Any]:
    resp = await client.post("/api/v1/auth/login", json={"login": name, "password": PASSWORD})
    return resp.status, await resp.json()


async def make_admin(client: Any, name: str = "chief") -> User:
    """A node admin made the way `cryb user create --admin` does, signed in over HTTP."""
    user_id, _ = await users_service(client).create_account(
        name, f"{name}@example.test", PASSWORD, client=CLI, admin=True, session=False
    )
    status, body = await login(client, name)
    assert status == 200, body
    return User(user_id, body["access_token"])


async def named(client: Any, username: str) -> User:
    return User(*await register_user(client, username))


async def account(client: Any, user_id: str) -> tuple:
    row = await client.app[NODE].db.fetchone(
        "SELECT username, status, admin, email_ct IS NOT NULL FROM users_accounts WHERE id = ?", (user_id,)
    )
    return tuple(row)


async def audited(client: Any, action: str, user_id: str) -> list[tuple[str | None, dict]]:
    rows = await client.app[NODE].db.fetchall(
        "SELECT actor_id, detail FROM users_audit WHERE action = ? AND user_id = ? ORDER BY id",
        (action, user_id),
    )
    return [(r[0], json.loads(r[1])) for r in rows]


async def me_status(client: Any, user: User) -> int:
    return (await client.get("/api/v1/users/@me", headers=user.h)).status


async def test_list_is_newest_first_with_email_display_name_created_and_last_seen(cc):
    admin = await make_admin(cc)
    made = [await named(cc, f"lister{i}") for i in range(5)]
    await ok(cc, "PATCH", "/users/@me", made[2], json={"display_name": "Zelda Quux"})
    page = await ok(cc, "GET", ADMIN, admin)
    assert [u["username"] for u in page["users"]] == [f"lister{i}" for i in (4, 3, 2, 1, 0)] + ["chief"]
    assert page["next_after"] is None
    third = page["users"][2]
    assert third["id"] == made[2].id and third["display_name"] == "Zelda Quux"
    assert third["email"] == "lister2@example.test"  # stored encrypted, shown to the admin
    assert third["status"] == "active" and third["admin"] is False
    assert third["created_at"] > 0 and third["last_seen_at"] >= third["created_at"]


async def test_pages_follow_one_another_without_loss_or_repeat(cc):
    admin = await make_admin(cc)
    for i in range(7):
        await named(cc, f"pager{i}")
    seen, after, pages = [], None, 0
    while True:
        page = await ok(cc, "GET", ADMIN, admin, params={"limit": "3", **({"after": after} if after else {})})
        seen += [u["username"] for u in page["users"]]
        pages += 1
        after = page["next_after"]
        if after is None:
            break
    assert seen == [f"pager{i}" for i in range(6, -1, -1)] + ["chief"] and pages == 3


async def test_search_by_name_part_display_name_exact_email_id_status_and_admin(cc):
    admin = await make_admin(cc)
    alice = await named(cc, "alice_smith")
    bob = await named(cc, "bob")
    await ok(cc, "PATCH", "/users/@me", bob, json={"display_name": "Robert Smithers"})
    await named(cc, "carol")
    await ok(cc, "PATCH", f"{ADMIN}/{bob.id}", admin, json={"status": "disabled"})

    async def found(**params: str) -> list[str]:
        page = await ok(cc, "GET", ADMIN, admin, params=params)
        return [u["username"] for u in page["users"]]

    assert await found(q="SMITH") == ["bob", "alice_smith"]  # username part, display name part
    assert await found(q="@ali") == ["alice_smith"]
    assert await found(q="Alice_Smith@Example.test ") == ["alice_smith"]  # exact address, any case
    assert await found(q="alice_smith@example") == []  # emails are encrypted: only exact matches
    assert await found(q=alice.id.upper()) == ["alice_smith"]
    assert await found(q="100%") == []  # LIKE wildcards are matched as text
    assert await found(status="disabled") == ["bob"]
    assert await found(admin="true") == ["chief"]
    assert await found(admin="false", status="active") == ["carol", "alice_smith"]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": "0"}, "limit"), ({"limit": "201"}, "limit"), ({"status": "Bad!"}, "status"),
     ({"admin": "maybe"}, "admin"), ({"q": "x" * 201}, "q"), ({"sort": "name"}, "sort")],
)  # fmt: skip
async def test_bad_search_input_is_a_400_naming_the_field(cc, params, field):
    admin = await make_admin(cc)
    status, body = await call(cc, "GET", ADMIN, admin, params=params)
    assert status == 400 and body["field"] == field


async def test_show_tells_sessions_what_they_wrote_and_recent_audit(space):
    c, member = space.client, space.member
    admin = await make_admin(c)
    for i in range(3):
        await ok(c, "POST", f"/channels/{space.text}/messages", member, json={"content": f"hello {i}"})
    post = await ok(c, "POST", f"/channels/{space.forum}/posts", member, json={"title": "a post"})
    await ok(c, "POST", f"/posts/{post['id']}/comments", member, json={"body": "a comment"})
    dm = await ok(c, "POST", "/dms", member, json={"recipients": [space.owner.id]})
    await ok(c, "POST", f"/channels/{dm['id']}/messages", member, json={"content": "psst"})
    username = (await account(c, member.id))[0]
    assert (await login(c, username))[0] == 200  # a second session

    shown = await ok(c, "GET", f"{ADMIN}/{member.id}", admin)
    assert shown["id"] == member.id and shown["username"] == username
    assert shown["sessions"] == 2
    assert shown["written"] == {"messages": 4, "posts": 1, "comments": 1}
    assert [e["action"] for e in shown["audit"]] == ["login.succeeded", "account.created"]


async def test_disable_ends_the_users_tokens_and_socket_and_enable_lets_them_back(space):
    c, member = space.client, space.member
    admin = await make_admin(c)
    username = (await account(c, member.id))[0]
    status, pair = await login(c, username)
    assert status == 200
    ws = await websockets.connect(f"ws://127.0.0.1:{c.server.port}/gateway", compression=None)
    await ws.recv()  # HELLO
    await ws.send(json.dumps({"op": "IDENTIFY", "d": {"token": pair["access_token"]}}))
    assert json.loads(await ws.recv())["op"] == "READY"

    out = await ok(c, "PATCH", f"{ADMIN}/{member.id}", admin, json={"status": "disabled"})
    assert out["status"] == "disabled" and out["id"] == member.id
    assert await account(c, member.id) == (username, "disabled", 0, 1)
    assert await me_status(c, member) == 401
    assert await me_status(c, User(member.id, pair["access_token"])) == 401
    refresh = await c.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refresh.status == 401
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd.code == 4004  # authentication failed: the page signs out
    status, body = await login(c, username)
    assert status == 403 and body["code"] == "account_disabled"
    assert await audited(c, "account.disabled", member.id) == [(admin.id, {"was": "active"})]

    out = await ok(c, "PATCH", f"{ADMIN}/{member.id}", admin, json={"status": "active"})
    assert out["status"] == "active"
    assert (await login(c, username))[0] == 200
    assert await audited(c, "account.active", member.id) == [(admin.id, {"was": "disabled"})]


async def test_promoted_member_reaches_the_console_and_a_demotion_applies_at_once(cc):
    admin = await make_admin(cc)
    dana = await named(cc, "dana")
    out = await ok(cc, "PATCH", f"{ADMIN}/{dana.id}", admin, json={"admin": True})
    assert out["admin"] is True and (await account(cc, dana.id))[2] == 1
    _, pair = await login(cc, "dana")  # a new token carries the admin flag
    dana_admin = User(dana.id, pair["access_token"])
    assert (await call(cc, "GET", ADMIN, dana_admin))[0] == 200

    out = await ok(cc, "PATCH", f"{ADMIN}/{dana.id}", admin, json={"admin": False})
    assert out["admin"] is False and (await account(cc, dana.id))[2] == 0
    assert (await call(cc, "GET", ADMIN, dana_admin))[0] == 403  # the same token, refused now
    assert await audited(cc, "account.promoted", dana.id) == [(admin.id, {})]
    assert await audited(cc, "account.demoted", dana.id) == [(admin.id, {})]


async def test_the_last_active_admin_cannot_be_demoted_disabled_or_erased(cc):
    admin = await make_admin(cc)
    for body in ({"admin": False}, {"status": "disabled"}):
        status, problem = await call(cc, "PATCH", f"{ADMIN}/{admin.id}", admin, json=body)
        assert status == 409 and problem["code"] == "last_admin", body
    status, problem = await call(cc, "DELETE", f"{ADMIN}/{admin.id}", admin, json={"confirm": "chief"})
    assert status == 409 and problem["code"] == "last_admin"
    # an admin who is disabled does not count as the one left
    other = await make_admin(cc, "second")
    await ok(cc, "PATCH", f"{ADMIN}/{other.id}", admin, json={"status": "disabled"})
    status, problem = await call(cc, "PATCH", f"{ADMIN}/{admin.id}", admin, json={"admin": False})
    assert status == 409 and problem["code"] == "last_admin"
    assert await account(cc, admin.id) == ("chief", "active", 1, 1)
    assert await me_status(cc, admin) == 200
    # with another active admin, stepping down is allowed
    await ok(cc, "PATCH", f"{ADMIN}/{other.id}", admin, json={"status": "active"})
    out = await ok(cc, "PATCH", f"{ADMIN}/{admin.id}", admin, json={"admin": False})
    assert out["admin"] is False
    assert (await call(cc, "GET", ADMIN, admin))[0] == 403


async def test_the_last_admin_cannot_deactivate_or_delete_their_own_account_either(cc):
    admin = await make_admin(cc)
    for method, path in (("POST", "/users/@me/deactivate"), ("DELETE", "/users/@me")):
        status, problem = await call(cc, method, path, admin, json={"password": PASSWORD})
        assert status == 409 and problem["code"] == "last_admin", path
    assert await account(cc, admin.id) == ("chief", "active", 1, 1)


async def test_sign_out_everywhere_ends_every_session_but_the_account_signs_in_again(cc):
    admin = await make_admin(cc)
    erin = await named(cc, "erin")
    _, second = await login(cc, "erin")
    out = await ok(cc, "POST", f"{ADMIN}/{erin.id}/sign-out", admin)
    assert out == {"sessions": 2}
    assert await me_status(cc, erin) == 401
    assert await me_status(cc, User(erin.id, second["access_token"])) == 401
    refresh = await cc.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert refresh.status == 401
    left = await cc.app[NODE].db.fetchval(
        "SELECT count(*) FROM users_sessions WHERE user_id = ? AND revoked_at IS NULL", (erin.id,)
    )
    assert left == 0
    assert await audited(cc, "account.signed_out", erin.id) == [(admin.id, {"sessions": 2})]
    assert (await account(cc, erin.id))[1] == "active"
    status, again = await login(cc, "erin")
    assert status == 200 and await me_status(cc, User(erin.id, again["access_token"])) == 200


async def _write_things(space: Space, user: User, marker: str) -> dict[str, str]:
    c = space.client
    msg = await ok(c, "POST", f"/channels/{space.text}/messages", user, json={"content": f"{marker} msg"})
    post = await ok(c, "POST", f"/channels/{space.forum}/posts", user, json={"title": f"{marker} post"})
    comment = await ok(c, "POST", f"/posts/{post['id']}/comments", user, json={"body": f"{marker} comment"})
    dm = await ok(c, "POST", "/dms", user, json={"recipients": [space.owner.id]})
    dm_msg = await ok(c, "POST", f"/channels/{dm['id']}/messages", user, json={"content": f"{marker} dm"})
    return {
        "msg": msg["id"],
        "post": post["id"],
        "comment": comment["id"],
        "dm": dm["id"],
        "dm_msg": dm_msg["id"],
    }


async def _texts_in_db(client: Any, marker: str) -> int:
    return await client.app[NODE].db.fetchval(
        "SELECT (SELECT count(*) FROM content_messages WHERE content LIKE ?1)"
        " + (SELECT count(*) FROM content_posts WHERE title LIKE ?1)"
        " + (SELECT count(*) FROM content_comments WHERE body LIKE ?1)",
        (f"%{marker}%",),
    )


async def _visible_texts(space: Space, ids: dict[str, str]) -> list[str]:
    """What the community's owner (the other side of the DM too) is shown."""
    c, owner = space.client, space.owner
    msgs = await ok(c, "GET", f"/channels/{space.text}/messages", owner)
    dms = await ok(c, "GET", f"/channels/{ids['dm']}/messages", owner)
    tree = await ok(c, "GET", f"/posts/{ids['post']}/comments", owner)
    post = await ok(c, "GET", f"/posts/{ids['post']}", owner)
    return (
        [m["content"] for m in msgs["messages"] + dms["messages"]]
        + [n.get("body", "") for n in tree["comments"]]
        + [post["title"]]
    )


async def test_erase_needs_the_username_typed_then_removes_the_account_and_all_it_wrote(space):
    c, member = space.client, space.member
    admin = await make_admin(c)
    username = (await account(c, member.id))[0]
    ids = await _write_things(space, member, "erase-marker-7731")
    await ok(c, "POST", f"/channels/{space.text}/messages", space.owner, json={"content": "owner stays"})
    assert await _texts_in_db(c, "erase-marker-7731") == 4  # a message, a post, a comment, a DM

    for body, field in ((None, None), ({}, "confirm"), ({"confirm": "someone-else"}, "confirm")):
        status, problem = await call(c, "DELETE", f"{ADMIN}/{member.id}", admin, json=body)
        assert status == 400 and problem.get("field") == field, body
    assert (await account(c, member.id))[1] == "active" and await me_status(c, member) == 200

    status, _ = await call(c, "DELETE", f"{ADMIN}/{member.id}", admin, json={"confirm": username.upper()})
    assert status == 204
    assert await account(c, member.id) == ("deleted", "deleted", 0, 0)
    assert await me_status(c, member) == 401
    assert (await login(c, username))[0] == 401
    assert await _texts_in_db(c, "erase-marker-7731") == 0
    shown = await _visible_texts(space, ids)
    assert not [t for t in shown if "erase-marker-7731" in t] and "owner stays" in shown
    assert await audited(c, "account.deleted", member.id) == [(admin.id, {})]
    # listed only when asked for, and gone for every action
    page = await ok(c, "GET", ADMIN, admin, params={"status": "deleted"})
    assert [u["id"] for u in page["users"]] == [member.id]
    status, _ = await call(c, "DELETE", f"{ADMIN}/{member.id}", admin, json={"confirm": "deleted"})
    assert status == 404


async def test_purge_content_removes_what_they_wrote_and_leaves_an_account_that_signs_in(space):
    c, member = space.client, space.member
    admin = await make_admin(c)
    username = (await account(c, member.id))[0]
    ids = await _write_things(space, member, "purge-marker-5520")
    await ok(c, "POST", f"/channels/{space.text}/messages", space.owner, json={"content": "owner stays"})

    status, problem = await call(
        c, "POST", f"{ADMIN}/{member.id}/purge-content", admin, json={"confirm": "x"}
    )
    assert status == 400 and problem["field"] == "confirm"
    assert await _texts_in_db(c, "purge-marker-5520") == 4

    out = await ok(c, "POST", f"{ADMIN}/{member.id}/purge-content", admin, json={"confirm": username})
    assert out == {"removed": 4}
    assert await _texts_in_db(c, "purge-marker-5520") == 0
    shown = await _visible_texts(space, ids)
    assert not [t for t in shown if "purge-marker-5520" in t] and "owner stays" in shown
    assert await audited(c, "account.content_purged", member.id) == [(admin.id, {"removed": 4})]
    # the account is untouched: signed in still, can sign in again and write again
    assert await account(c, member.id) == (username, "active", 0, 1)
    assert await me_status(c, member) == 200
    status, pair = await login(c, username)
    assert status == 200
    again = User(member.id, pair["access_token"])
    await ok(c, "POST", f"/channels/{space.text}/messages", again, json={"content": "back again"})
    shown = await ok(c, "GET", f"{ADMIN}/{member.id}", admin)
    assert shown["written"] == {"messages": 1, "posts": 0, "comments": 0}


def _actions(target: str, username: str) -> list[tuple[str, str, Any]]:
    return [
        ("GET", ADMIN, None),
        ("GET", f"{ADMIN}/{target}", None),
        ("PATCH", f"{ADMIN}/{target}", {"status": "disabled"}),
        ("PATCH", f"{ADMIN}/{target}", {"admin": True}),
        ("POST", f"{ADMIN}/{target}/sign-out", None),
        ("POST", f"{ADMIN}/{target}/purge-content", {"confirm": username}),
        ("DELETE", f"{ADMIN}/{target}", {"confirm": username}),
    ]


async def test_members_get_403_and_anonymous_callers_401_for_every_console_action(space):
    c, member = space.client, space.member
    await make_admin(c)
    victim = await space.join(await named(c, "victim"))
    await ok(c, "POST", f"/channels/{space.text}/messages", victim, json={"content": "still here"})
    # a member of standing (a community owner) is not a node admin either
    for who in (member, space.owner, None):
        for method, path, body in _actions(victim.id, "victim"):
            status, _ = await call(c, method, path, who, json=body)
            assert status == (403 if who else 401), (method, path, who)
    assert await account(c, victim.id) == ("victim", "active", 0, 1)
    assert await me_status(c, victim) == 200
    assert await _texts_in_db(c, "still here") == 1


async def test_unknown_ids_are_404_for_every_action_on_one_account(cc):
    admin = await make_admin(cc)
    for target in ("01J00000000000000000000000", "nope", "x" * 300):
        for method, path, body in _actions(target, "nobody")[1:]:
            status, problem = await call(cc, method, path, admin, json=body)
            assert status == 404 and problem["code"] == "not_found", (method, path)


async def test_patch_refuses_unknown_fields_and_statuses_an_admin_cannot_set(cc):
    admin = await make_admin(cc)
    frank = await named(cc, "frank")
    for body, field in (({"status": "deleted"}, "status"), ({"status": "deactivated"}, "status"),
                        ({"admin": "yes"}, "admin"), ({"username": "x"}, "username")):  # fmt: skip
        status, problem = await call(cc, "PATCH", f"{ADMIN}/{frank.id}", admin, json=body)
        assert status == 400 and problem["field"] == field, body
    assert await account(cc, frank.id) == ("frank", "active", 0, 1)


async def test_a_demotion_applies_at_once_on_every_node_admin_route(cc, space):
    """Every route that grants node-admin powers, not only the console's: a demoted admin's access
    token (which still carries the admin claim until it expires) is refused at once — node bans, peers,
    backups, search stats, and the node admin's power over any community."""
    admin = await make_admin(cc)
    dana = await named(cc, "dana")
    await ok(cc, "PATCH", f"{ADMIN}/{dana.id}", admin, json={"admin": True})
    _, pair = await login(cc, "dana")
    dana_admin = User(dana.id, pair["access_token"])
    routes = [
        ("GET", "/admin/bans", None),
        ("GET", "/admin/peers", None),
        ("GET", "/admin/backups", None),
        ("GET", "/search/stats", None),
        ("PATCH", f"/communities/{space.community}", {"description": "taken over"}),
    ]
    for method, path, body in routes:
        status, out = await call(cc, method, path, dana_admin, json=body)
        assert status == 200, (path, status, out)
    await ok(cc, "PATCH", f"{ADMIN}/{dana.id}", admin, json={"admin": False})
    for method, path, body in routes:
        status, out = await call(cc, method, path, dana_admin, json=body)
        assert status == 403, (path, status, out)


@pytest.mark.parametrize("how", ["deactivate", "delete"])
async def test_ending_your_own_account_closes_your_other_devices_sockets(space, how):
    """A member who deactivates or deletes their account from one device: the live socket of their
    other device closes at once (4004), as it does when an admin disables them."""
    c, member = space.client, space.member
    username = (await account(c, member.id))[0]
    _, pair = await login(c, username)  # the other device
    ws = await websockets.connect(f"ws://127.0.0.1:{c.server.port}/gateway", compression=None)
    await ws.recv()  # HELLO
    await ws.send(json.dumps({"op": "IDENTIFY", "d": {"token": pair["access_token"]}}))
    assert json.loads(await ws.recv())["op"] == "READY"

    if how == "deactivate":
        await ok(c, "POST", "/users/@me/deactivate", member, json={"password": PASSWORD})
    else:
        await ok(c, "DELETE", "/users/@me", member, json={"password": PASSWORD})
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd.code == 4004
