"""Bot accounts and scoped API tokens: owners create and delete bots, managers add them to
communities, and every route checks the scope a token needs (docs/integrations.md "Bots")."""

from __future__ import annotations

import aiohttp

from tests.support.api import User

from .bot_client import BotClient
from .conftest import Space, call, new_user, ok


async def make_bot(space: Space, owner: User, name: str = "helper") -> User:
    made = await ok(space.client, "POST", "/bots", owner, json={"username": name})
    assert made["bot"] is True and made["token"]["scopes"] == ["read", "write"]
    return User(made["id"], made["token"]["token"], name)


async def test_a_bot_added_by_a_manager_posts_and_shows_as_a_bot(space: Space):
    c = space.client
    bot = await make_bot(space, space.owner)
    assert (await ok(c, "GET", "/bots", space.owner))["bots"][0]["id"] == bot.id
    assert (await ok(c, "GET", f"/users/{bot.id}", space.member))["bot"] is True
    # not a member yet: cannot post
    status, _ = await call(c, "POST", f"/channels/{space.text}/messages", bot, json={"content": "hi"})
    assert status in (403, 404)
    await ok(c, "PUT", f"/communities/{space.community}/bots/{bot.id}", space.owner)
    sent = await ok(c, "POST", f"/channels/{space.text}/messages", bot, json={"content": "beep"})
    assert sent["author_id"] == bot.id


async def test_only_a_manager_adds_their_bot_and_nobody_adds_anothers(space: Space):
    c = space.client
    bot = await make_bot(space, space.member, "memberbot")
    status, body = await call(c, "PUT", f"/communities/{space.community}/bots/{bot.id}", space.member)
    assert (status, body["code"]) == (403, "forbidden")  # the member lacks MANAGE_COMMUNITY
    status, body = await call(c, "PUT", f"/communities/{space.community}/bots/{bot.id}", space.owner)
    assert (status, body["code"]) == (404, "not_found")  # not the owner's bot
    status, body = await call(c, "POST", "/bots", bot, json={"username": "sub"})
    assert (status, body["code"]) == (403, "insufficient_scope")  # tokens cannot make bots


async def test_a_deleted_bot_and_a_revoked_token_are_refused(space: Space):
    c = space.client
    bot = await make_bot(space, space.owner)
    body = {"name": "ci", "scopes": ["read"]}
    extra = await ok(c, "POST", f"/bots/{bot.id}/tokens", space.owner, json=body)
    reader = User(bot.id, extra["token"])
    assert (await ok(c, "GET", "/users/@me", reader))["id"] == bot.id
    await ok(c, "DELETE", f"/tokens/{extra['id']}", space.owner)
    status, body = await call(c, "GET", "/users/@me", reader)
    assert (status, body["code"]) == (401, "invalid_token")
    await ok(c, "DELETE", f"/bots/{bot.id}", space.owner)
    status, _ = await call(c, "GET", "/users/@me", bot)
    assert status == 401
    assert (await ok(c, "GET", "/bots", space.owner))["bots"] == []


async def test_a_deleted_bots_commands_leave_the_composer_at_once(space: Space):
    c = space.client
    bot = await make_bot(space, space.owner)
    await ok(c, "PUT", f"/communities/{space.community}/bots/{bot.id}", space.owner)
    cmd = await ok(c, "PUT", f"/communities/{space.community}/commands/ping", bot, json={"description": "x"})
    await ok(c, "DELETE", f"/bots/{bot.id}", space.owner)
    assert (await ok(c, "GET", f"/communities/{space.community}/commands", space.member))["commands"] == []
    status, body = await call(c, "POST", f"/channels/{space.text}/interactions", space.member,
                              json={"command_id": cmd["id"]})  # fmt: skip
    assert (status, body["field"]) == (404, "command_id")


async def test_personal_tokens_are_listed_expire_and_never_leak_their_secret(space: Space):
    c = space.client
    made = await ok(c, "POST", "/tokens", space.member, json={"name": "script", "scopes": ["read", "write"],
                                                               "expires_in_s": 3600})  # fmt: skip
    listed = (await ok(c, "GET", "/tokens", space.member))["tokens"]
    assert [t["id"] for t in listed] == [made["id"]] and "token" not in listed[0]
    assert listed[0]["expires_at"] == made["created_at"] + 3600
    bads = [{"name": "x", "scopes": ["root"]}, {"name": "x", "scopes": []}, {"name": "", "scopes": ["read"]},
            {"name": "x", "scopes": ["read"], "expires_in_s": 5}]  # fmt: skip
    for bad in bads:
        status, body = await call(c, "POST", "/tokens", space.member, json=bad)
        assert (status, body["code"]) == (400, "invalid_field"), bad
    status, body = await call(c, "POST", "/tokens", space.member, json={"name": "x", "scopes": ["admin"]})
    assert (status, body["code"]) == (403, "forbidden")  # not a node admin
    status, _ = await call(c, "DELETE", f"/tokens/{made['id']}", space.owner)
    assert status == 404  # someone else's token


async def test_a_read_token_cannot_post_and_a_write_token_cannot_moderate(space: Space):
    c = space.client
    read = await ok(c, "POST", "/tokens", space.owner, json={"name": "r", "scopes": ["read"]})
    reader = User(space.owner.id, read["token"])
    assert (await ok(c, "GET", f"/channels/{space.text}/messages", reader)) is not None
    status, body = await call(c, "POST", f"/channels/{space.text}/messages", reader, json={"content": "no"})
    assert (status, body["code"]) == (403, "insufficient_scope")
    write = await ok(c, "POST", "/tokens", space.owner, json={"name": "w", "scopes": ["read", "write"]})
    writer = User(space.owner.id, write["token"])
    await ok(c, "POST", f"/channels/{space.text}/messages", writer, json={"content": "yes"})
    path = f"/communities/{space.community}/bans/{space.member.id}"
    status, body = await call(c, "PUT", path, writer, json={})
    assert (status, body["code"]) == (403, "insufficient_scope")
    mod = await ok(c, "POST", "/tokens", space.owner, json={"name": "m", "scopes": ["moderate"]})
    await ok(c, "PUT", path, User(space.owner.id, mod["token"]), json={})


async def test_the_admin_scope_works_only_while_its_owner_is_a_node_admin(space: Space):
    c = space.client
    user = await new_user(c)
    tok = await ok(c, "POST", "/tokens", user, json={"name": "w", "scopes": ["read", "write"]})
    status, body = await call(c, "GET", "/admin/users", User(user.id, tok["token"]))
    assert (status, body["code"]) == (403, "insufficient_scope")


async def test_revoking_a_token_or_deleting_the_bot_ends_its_live_gateway_sessions(space: Space):
    c = space.client
    base = str(c.make_url("")).rstrip("/")
    bot = await make_bot(space, space.owner)
    body = {"name": "second", "scopes": ["read"]}
    second = await ok(c, "POST", f"/bots/{bot.id}/tokens", space.owner, json=body)
    async with BotClient(base, bot.token) as first_socket, BotClient(base, second["token"]) as second_socket:
        await ok(c, "DELETE", f"/tokens/{second['id']}", space.owner)
        assert await second_socket.closed() == 4004
        assert first_socket.close_code is None  # another token's session stays
        await ok(c, "DELETE", f"/bots/{bot.id}", space.owner)
        assert await first_socket.closed() == 4004


async def test_a_token_without_read_cannot_open_the_gateway(space: Space):
    made = await ok(space.client, "POST", "/tokens", space.member, json={"name": "w", "scopes": ["write"]})
    ws = await space.client.ws_connect("/gateway")
    assert (await ws.receive_json())["op"] == "HELLO"
    await ws.send_json({"op": "IDENTIFY", "d": {"token": made["token"]}})
    msg = await ws.receive()
    assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 4004)
    await ws.close()
