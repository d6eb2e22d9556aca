"""Slash commands and interactions (issue 26, acceptance 2 without the browser): a bot process using
only the public API registers commands, members use them, the bot answers publicly or only to the
caller, late answers are refused and the caller told, an interactions URL gets signed POSTs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cryb_node.app import build_app
from tests.support.api import User

from .bot_client import BotClient
from .conftest import Space, call, hooks_config, make_space, new_user, ok, serve
from .test_bots import make_bot
from .test_outgoing import Receiver, verify

OPT = {"name": "a", "description": "a", "type": "string"}
ECHO = [
    {"name": "text", "description": "what to say", "type": "string", "required": True},
    {"name": "times", "description": "how often", "type": "integer"},
    {"name": "loud", "description": "shout", "type": "boolean"},
    {"name": "who", "description": "a member", "type": "user"},
    {"name": "where", "description": "a channel", "type": "channel"},
]


@pytest.fixture
async def sc(aiohttp_client, tmp_path: Path, clock):
    """A node whose bots have one second to answer, on the test's `clock`."""
    config = hooks_config(tmp_path / "data", {"interaction_deadline_s": 1.0})
    return await aiohttp_client(build_app(config, clock=clock))


@pytest.fixture
async def space(sc) -> Space:
    return await make_space(sc)


def base(space: Space) -> str:
    return str(space.client.make_url("")).rstrip("/")


async def added_bot(space: Space, name: str = "echo") -> User:
    bot = await make_bot(space, space.owner, name)
    await ok(space.client, "PUT", f"/communities/{space.community}/bots/{bot.id}", space.owner)
    return bot


async def test_a_bot_registers_typed_commands_and_members_list_them(space: Space):
    c = space.client
    bot = await added_bot(space)
    async with BotClient(base(space), bot.token) as b:
        made = await b.register(space.community, "echo", "Say it back", ECHO)
    assert made["bot_name"] == "echo" and [o["type"] for o in made["options"]] == [o["type"] for o in ECHO]
    listed = await ok(c, "GET", f"/communities/{space.community}/commands", space.member)
    assert [(x["name"], x["bot_id"]) for x in listed["commands"]] == [("echo", bot.id)]
    outsider = await new_user(c)
    status, _ = await call(c, "GET", f"/communities/{space.community}/commands", outsider)
    assert status == 404


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("Bad Name", {"description": "x"}, "name"),
        ("ok", {"description": ""}, "description"),
        ("ok", {"description": "x", "options": [{**OPT, "type": "float"}]}, "options[0].type"),
        ("ok", {"description": "x", "options": [OPT, OPT]}, "options[1].name"),
        ("ok", {"description": "x", "options": [OPT, {**OPT, "name": "b", "required": True}]},
         "options[1].required"),
    ],
)  # fmt: skip
async def test_invalid_commands_are_refused_naming_the_field(space: Space, name, body, field):
    bot = await added_bot(space)
    status, problem = await call(space.client, "PUT", f"/communities/{space.community}/commands/{name}", bot,
                                 json=body)  # fmt: skip
    assert (status, problem["code"], problem["field"]) == (400, "invalid_field", field)


async def test_only_member_bots_register_and_names_belong_to_one_bot(space: Space):
    c = space.client
    path = f"/communities/{space.community}/commands/echo"
    status, problem = await call(c, "PUT", path, space.member, json={"description": "x"})
    assert (status, problem["code"]) == (403, "bot_required")
    stranger = await make_bot(space, space.owner, "stranger")  # not added to the community
    status, _ = await call(c, "PUT", path, stranger, json={"description": "x"})
    assert status == 404
    first, second = await added_bot(space, "first"), await added_bot(space, "second")
    await ok(c, "PUT", path, first, json={"description": "x"})
    status, problem = await call(c, "PUT", path, second, json={"description": "y"})
    assert (status, problem["code"]) == (409, "command_taken")
    status, _ = await call(c, "DELETE", path, space.member)
    assert status == 404  # neither its bot nor a manager
    await ok(c, "DELETE", path, space.owner)


async def test_a_public_answer_is_a_marked_message_everyone_sees(space: Space):
    c = space.client
    bot = await added_bot(space)
    async with BotClient(base(space), bot.token, intents=["INTERACTION_CREATE"]) as b:
        cmd = await b.register(space.community, "echo", "Say it back", ECHO)

        async def reply(i: dict) -> dict:
            return {"content": f"{i['options']['text']} x{i['options'].get('times', 1)}"}

        b.on_interaction = reply
        await ok(c, "POST", f"/channels/{space.text}/messages", space.owner, json={"content": "noise"})
        used = await ok(c, "POST", f"/channels/{space.text}/interactions", space.member,
                        json={"command_id": cmd["id"], "options": {"text": "hello", "times": 2}})  # fmt: skip
        got = await b.wait_for("INTERACTION_CREATE")
        assert got["id"] == used["id"] and got["user_id"] == space.member.id and got["options"]["times"] == 2
        for _ in range(100):
            if b.answers:
                break
            await asyncio.sleep(0.05)
        assert b.answers[0][0] == 200
        assert b.kinds() == ["INTERACTION_CREATE"]  # its intents: no MESSAGE_CREATE for the noise
    page = await ok(c, "GET", f"/channels/{space.text}/messages", space.owner)
    answer = next(m for m in page["messages"] if m["author_id"] == bot.id)
    assert answer["content"] == "hello x2"
    assert answer["interaction"] == {"id": used["id"], "name": "echo", "user_id": space.member.id}
    status, problem = await call(
        c, "POST", f"/interactions/{used['id']}/callback", bot, json={"content": "again"}
    )
    assert (status, problem["code"]) == (410, "interaction_expired")  # answered already


async def test_an_ephemeral_answer_reaches_only_the_callers_sessions(space: Space):
    c = space.client
    bot = await added_bot(space)
    async with (
        BotClient(base(space), bot.token, intents=["INTERACTION_CREATE"]) as b,
        BotClient(base(space), space.member.token) as caller,
        BotClient(base(space), space.owner.token) as other,
    ):
        cmd = await b.register(space.community, "secret", "Only for you")
        used = await ok(c, "POST", f"/channels/{space.text}/interactions", space.member,
                        json={"command_id": cmd["id"]})  # fmt: skip
        interaction = await b.wait_for("INTERACTION_CREATE")
        status, body = await b.answer(interaction["id"], "psst", ephemeral=True)
        assert (status, body["message_id"]) == (200, None)
        got = await caller.wait_for("INTERACTION_RESPONSE")
        assert (got["content"], got["ephemeral"], got["interaction_id"]) == ("psst", True, used["id"])
        await ok(c, "POST", f"/channels/{space.text}/messages", space.owner, json={"content": "after"})
        await other.wait_for("MESSAGE_CREATE")
        assert "INTERACTION_RESPONSE" not in other.kinds() and "INTERACTION_CREATE" not in other.kinds()
    page = await ok(c, "GET", f"/channels/{space.text}/messages", space.member)
    assert all("psst" not in m["content"] for m in page["messages"])


async def test_a_silent_bot_fails_the_interaction_and_a_late_answer_is_refused(space: Space):
    c = space.client
    bot = await added_bot(space)
    async with (
        BotClient(base(space), bot.token, intents=["INTERACTION_CREATE"]) as b,
        BotClient(base(space), space.member.token) as caller,
    ):
        cmd = await b.register(space.community, "slow", "Never answers")
        used = await ok(c, "POST", f"/channels/{space.text}/interactions", space.member,
                        json={"command_id": cmd["id"]})  # fmt: skip
        failed = await caller.wait_for("INTERACTION_FAILED", timeout=5)
        assert failed["interaction_id"] == used["id"] and failed["reason"] == "the bot did not respond"
        status, problem = await b.answer(used["id"], "too late")
        assert (status, problem["code"]) == (410, "interaction_expired")


async def test_options_are_checked_against_their_types(space: Space, sc):
    c = space.client
    bot = await added_bot(space)
    cmd = await ok(c, "PUT", f"/communities/{space.community}/commands/echo", bot,
                   json={"description": "x", "options": ECHO})  # fmt: skip
    other = await make_space(sc)
    bads = {
        "options.text": {},
        "options.nope": {"text": "a", "nope": 1},
        "options.times": {"text": "a", "times": "2"},
        "options.loud": {"text": "a", "loud": 1},
        "options.who": {"text": "a", "who": (await new_user(c)).id},  # not a member
        "options.where": {"text": "a", "where": other.text},  # another community's channel
    }
    for field, options in bads.items():
        status, problem = await call(c, "POST", f"/channels/{space.text}/interactions", space.member,
                                     json={"command_id": cmd["id"], "options": options})  # fmt: skip
        assert (status, problem.get("field")) == (400, field), (field, problem)
    good = {"text": "a", "times": 3, "loud": True, "who": space.owner.id, "where": space.text}
    await ok(c, "POST", f"/channels/{space.text}/interactions", space.member,
             json={"command_id": cmd["id"], "options": good})  # fmt: skip
    outsider = await new_user(c)
    status, _ = await call(c, "POST", f"/channels/{space.text}/interactions", outsider,
                           json={"command_id": cmd["id"], "options": good})  # fmt: skip
    assert status in (403, 404)
    status, problem = await call(c, "POST", f"/channels/{other.text}/interactions", other.owner,
                                 json={"command_id": cmd["id"], "options": good})  # fmt: skip
    assert (status, problem["field"]) == (404, "command_id")  # a command of another community


async def test_an_interactions_url_gets_signed_posts_and_private_ones_are_refused(
    space: Space, aiohttp_client, tmp_path: Path
):
    c = space.client
    bot = await added_bot(space)
    receiver = Receiver()
    runner, url = await serve(receiver.app)
    try:
        endpoint = await ok(c, "PUT", "/interactions/endpoint", bot, json={"url": f"{url}/hook"})
        cmd = await ok(
            c, "PUT", f"/communities/{space.community}/commands/ping", bot, json={"description": "x"}
        )
        used = await ok(
            c, "POST", f"/channels/{space.text}/interactions", space.member, json={"command_id": cmd["id"]}
        )
        for _ in range(100):
            if receiver.got:
                break
            await asyncio.sleep(0.05)
        headers, body = receiver.got[0]
        assert verify(endpoint["secret"], headers, body) and headers["X-Cryb-Event"] == "interaction.create"
        assert used["id"].encode() in body
        await ok(c, "POST", f"/interactions/{used['id']}/callback", bot, json={"content": "pong"})
    finally:
        await runner.cleanup()
    strict = await aiohttp_client(build_app(hooks_config(tmp_path / "strict", {"allow_networks": []})))
    owner = await new_user(strict)
    made = await ok(strict, "POST", "/bots", owner, json={"username": "hookbot"})
    hookbot = User(made["id"], made["token"]["token"])
    status, problem = await call(
        strict, "PUT", "/interactions/endpoint", hookbot, json={"url": "http://127.0.0.1:9/hook"}
    )
    assert (status, problem["code"], problem["field"]) == (400, "address_refused", "url")


async def test_after_a_restart_lost_the_timers_the_sweep_fails_overdue_interactions(space: Space, clock):
    from cryb_plugins.integrations.command_routes import SLASH

    from cryb_node.appkeys import NODE

    c = space.client
    bot = await added_bot(space)
    interactions = c.app[NODE].services.require(SLASH).interactions
    async with BotClient(base(space), space.member.token) as caller:
        cmd = await ok(
            c, "PUT", f"/communities/{space.community}/commands/slow", bot, json={"description": "x"}
        )
        used = await ok(c, "POST", f"/channels/{space.text}/interactions", space.member,
                        json={"command_id": cmd["id"]})  # fmt: skip
        await interactions.stop()  # as a restart would: the deadline timer is gone
        assert await interactions.sweep() == 0  # not overdue yet
        clock.advance(max(0.0, (used["deadline_at"] - clock.time_ms()) / 1000) + 0.05)
        assert "INTERACTION_FAILED" not in caller.kinds()
        assert await interactions.sweep() == 1
        assert (await caller.wait_for("INTERACTION_FAILED"))["interaction_id"] == used["id"]
        assert await interactions.sweep() == 0  # told once


async def test_a_bot_gets_roles_like_a_member_and_its_channel_rights_bind_its_answers(space: Space):
    from cryb_node.services import Perm

    c = space.client
    bot = await added_bot(space)
    role = await ok(c, "POST", f"/communities/{space.community}/roles", space.owner,
                    json={"name": "muted bots", "perms": 0})  # fmt: skip
    await ok(c, "PUT", f"/communities/{space.community}/members/{bot.id}/roles/{role['id']}", space.owner)
    member = await ok(c, "GET", f"/communities/{space.community}/members/{bot.id}", space.owner)
    assert role["id"] in member["roles"]
    await ok(c, "PUT", f"/channels/{space.text}/overwrites/role/{role['id']}", space.owner,
             json={"deny": int(Perm.SEND_MESSAGES)})  # fmt: skip
    cmd = await ok(c, "PUT", f"/communities/{space.community}/commands/ping", bot, json={"description": "x"})
    used = await ok(
        c, "POST", f"/channels/{space.text}/interactions", space.member, json={"command_id": cmd["id"]}
    )
    status, _ = await call(c, "POST", f"/interactions/{used['id']}/callback", bot, json={"content": "pong"})
    assert status == 403  # the rule book refuses its message: it may not send here
    status, body = await call(c, "POST", f"/interactions/{used['id']}/callback", bot,
                              json={"content": "pong", "ephemeral": True})  # fmt: skip
    assert status == 200 and body["message_id"] is None  # the refused answer did not use up the interaction
