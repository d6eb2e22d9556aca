"""Incoming webhooks (issue 26, acceptance 1): CRYB, Discord and Slack bodies each post a message
shown with the integration's name; a rotated token is refused; only members holding
MANAGE_WEBHOOKS manage them; each message is a signed message.create event; posting is rate-limited
per webhook."""

from __future__ import annotations

from pathlib import Path

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from cryb_node.events import verify
from cryb_node.services import Perm
from tests.integrations.conftest import call, grant, hooks_config, make_space, new_user, ok


async def make_hook(space, name="Builder", user=None):
    return await ok(space.client, "POST", f"/channels/{space.text}/webhooks", user or space.owner,
                    json={"name": name})  # fmt: skip


async def post(client, hook, body, token=None, **params):
    path = f"/api/webhooks/{hook['id']}/{token or hook['token']}"
    return await client.post(path, json=body, params=params)


async def messages(space):
    got = await ok(space.client, "GET", f"/channels/{space.text}/messages", space.member)
    return got["messages"]


async def test_cryb_discord_and_slack_bodies_each_appear_with_the_integrations_name(space):
    hook = await make_hook(space)
    assert hook["url"].endswith(f"/api/webhooks/{hook['id']}/{hook['token']}")
    c = space.client

    resp = await post(c, hook, {"content": "build 41 passed"})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["format"] == "cryb"
    embed = {"title": "Release 2.1", "url": "https://example.invalid/r", "description": "three fixes",
             "fields": [{"name": "env", "value": "prod"}]}  # fmt: skip
    discord = {"content": "deploy started", "avatar_url": "https://example.invalid/a.png", "embeds": [embed]}
    resp = await post(c, hook, discord)
    assert resp.status == 204  # Discord's answer without ?wait=true
    slack = {"text": "fallback", "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*disk* at 91%"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "host db1"}]},
    ]}  # fmt: skip
    resp = await post(c, hook, slack)
    assert resp.status == 200 and await resp.text() == "ok"  # what Slack clients expect

    got = await messages(space)
    assert [m["content"] for m in got] == [
        "build 41 passed",
        "deploy started\n\n**[Release 2.1](https://example.invalid/r)**\nthree fixes\n**env**: prod",
        "*disk* at 91%\n\nhost db1",
    ]
    for m in got:
        assert m["integration"] == {"webhook_id": hook["id"], "name": "Builder"}
        assert m["author_id"] == space.owner.id  # the owner's standing, shown as the integration


async def test_a_per_message_name_overrides_the_webhooks_name(space):
    hook = await make_hook(space)
    await post(space.client, hook, {"content": "hi", "username": "GitHub"}, wait="true")
    await post(space.client, hook, {"content": "hey", "name": "RSS"})
    assert [m["integration"]["name"] for m in await messages(space)] == ["GitHub", "RSS"]


async def test_a_rotated_token_is_refused_and_the_new_one_works(space):
    hook = await make_hook(space)
    rotated = await ok(space.client, "POST", f"/webhooks/{hook['id']}/token", space.owner)
    assert rotated["token"] != hook["token"]
    resp = await post(space.client, hook, {"content": "old"})
    assert resp.status == 404 and (await resp.json())["code"] == "webhook_token_invalid"
    resp = await post(space.client, hook, {"content": "new"}, token=rotated["token"])
    assert resp.status == 200
    assert [m["content"] for m in await messages(space)] == ["new"]


async def test_a_deleted_webhook_and_a_made_up_token_are_refused_alike(space):
    hook = await make_hook(space)
    resp = await post(space.client, hook, {"content": "x"}, token="A" * 43)
    assert resp.status == 404
    await ok(space.client, "DELETE", f"/webhooks/{hook['id']}", space.owner)
    resp = await post(space.client, hook, {"content": "x"})
    assert resp.status == 404 and (await resp.json())["code"] == "webhook_token_invalid"


async def test_only_members_with_manage_webhooks_manage_them(space):
    c = space.client
    hook = await make_hook(space)
    outsider = await new_user(c)
    for user, status in ((outsider, 403), (space.member, 403)):  # a public community: seen, not managed
        got, _ = await call(c, "POST", f"/channels/{space.text}/webhooks", user, json={"name": "x"})
        assert got == status
        assert (await call(c, "GET", f"/channels/{space.text}/webhooks", user))[0] == status
        assert (await call(c, "POST", f"/webhooks/{hook['id']}/token", user))[0] == status
        assert (await call(c, "PATCH", f"/webhooks/{hook['id']}", user, json={"name": "y"}))[0] == status
        assert (await call(c, "DELETE", f"/webhooks/{hook['id']}", user))[0] == status
    assert (await call(c, "POST", f"/channels/{space.text}/webhooks", None, json={"name": "x"}))[0] == 401

    await grant(space, space.member, Perm.MANAGE_WEBHOOKS)
    mine = await make_hook(space, "Mine", user=space.member)
    renamed = await ok(c, "PATCH", f"/webhooks/{mine['id']}", space.member, json={"name": "Renamed"})
    assert renamed["name"] == "Renamed" and renamed["token"] is None
    listed = await ok(c, "GET", f"/communities/{space.community}/webhooks", space.member)
    assert {w["name"] for w in listed["webhooks"]} == {"Builder", "Renamed"}
    assert all(w["token"] is None for w in listed["webhooks"])


async def test_a_webhook_stops_posting_when_its_owner_loses_the_permission(space):
    c = space.client
    role = await ok(c, "POST", f"/communities/{space.community}/roles", space.owner,
                    json={"name": "hooks", "perms": int(Perm.MANAGE_WEBHOOKS)})  # fmt: skip
    await ok(
        c, "PUT", f"/communities/{space.community}/members/{space.member.id}/roles/{role['id']}", space.owner
    )
    hook = await make_hook(space, user=space.member)
    assert (await post(c, hook, {"content": "one"})).status == 200
    await ok(c, "DELETE", f"/communities/{space.community}/members/{space.member.id}/roles/{role['id']}",
             space.owner)  # fmt: skip
    resp = await post(c, hook, {"content": "two"})
    assert resp.status == 403 and (await resp.json())["code"] == "webhook_owner_not_allowed"


async def test_a_webhook_message_is_a_signed_event_and_members_cannot_forge_one(space):
    hook = await make_hook(space)
    msg = await (await post(space.client, hook, {"content": "signed"})).json()
    node = space.client.server.app[NODE]
    row = await node.db.fetchone(
        "SELECT e.body, e.sig, c.content FROM events e JOIN event_content c ON c.event_id = e.id"
        " WHERE e.kind = 'message.create' ORDER BY e.pos DESC LIMIT 1"
    )
    body = verify(bytes(row[0]), bytes(row[1]), bytes(row[2]))
    assert body.target == msg["id"] and body.author == space.owner.id
    payload = node.registry.decode_payload("message.create", bytes(row[2]))
    assert payload.integration.name == "Builder"

    # The rule book, not only the route: a member without MANAGE_WEBHOOKS cannot author one (the
    # same check a peer's event meets).
    forged = node.registry.get("message.create").payload(
        channel_id=space.text, content="fake bot", integration=payload.integration
    )
    try:
        await node.events.append("message.create", forged, community=space.community, author=space.member.id,
                                 target="forged-1")  # fmt: skip
    except Exception as err:
        assert getattr(err, "code", "") == "missing_permission", err
    else:
        raise AssertionError("the forged integration message was accepted")


async def test_bad_bodies_are_refused_with_the_field(space):
    hook = await make_hook(space)
    c = space.client
    for body, field in (({"content": ""}, "content"), ({"content": 5}, "content"),
                        ({"content": "x" * 4001}, "content"), ({"text": ""}, "content"),
                        ({"content": "x", "username": ""}, "username")):  # fmt: skip
        resp = await post(c, hook, body)
        assert resp.status == 400, body
        assert (await resp.json())["field"] == field
    resp = await c.post(f"/api/webhooks/{hook['id']}/{hook['token']}", data=b"{nope")
    assert resp.status == 400


async def test_posting_is_rate_limited_per_webhook(aiohttp_client, tmp_path: Path):
    config = hooks_config(tmp_path / "data", {"webhook_rate_limit": 2}, rate_limits={"enabled": True})
    c = await aiohttp_client(build_app(config))
    space = await make_space(c)
    hook = await make_hook(space)
    assert [(await post(c, hook, {"content": f"m{i}"})).status for i in range(2)] == [200, 200]
    resp = await post(c, hook, {"content": "m3"})
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
    other = await make_hook(space, "Other")
    assert (await post(c, other, {"content": "fine"})).status == 200


async def test_no_webhook_limit_while_the_nodes_rate_limits_are_off(aiohttp_client, tmp_path: Path):
    config = hooks_config(tmp_path / "data", {"webhook_rate_limit": 2}, rate_limits={"enabled": False})
    c = await aiohttp_client(build_app(config))
    space = await make_space(c)
    hook = await make_hook(space)
    assert [(await post(c, hook, {"content": f"m{i}"})).status for i in range(4)] == [200] * 4
