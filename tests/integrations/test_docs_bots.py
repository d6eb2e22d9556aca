"""The Bots section of docs/integrations.md, run as written: the IDENTIFY frame with intents, the
curl that registers a command, the interaction's documented shape against a real one, and the curl
that answers it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess

from .bot_client import BotClient
from .conftest import Space, ok
from .test_bots import make_bot
from .test_docs_examples import blocks


def bot_blocks() -> list[str]:
    return [text for _, text in blocks()[6:]]


async def sh(script: str, **env: str) -> None:
    done = await asyncio.to_thread(
        subprocess.run, ["bash", "-c", script], env={**os.environ, **env}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


async def test_the_documented_bot_flow_runs_as_written(space: Space):
    c = space.client
    node = str(c.make_url("")).rstrip("/")
    identify, register, interaction, callback = bot_blocks()
    bot = await make_bot(space, space.owner, "docsbot")
    await ok(c, "PUT", f"/communities/{space.community}/bots/{bot.id}", space.owner)

    frame = json.loads(identify.replace("cryb_…", bot.token))
    async with BotClient(node, bot.token, intents=frame["d"]["intents"]) as b:
        await sh(register, NODE=node, COMMUNITY=space.community, BOT_TOKEN=bot.token)
        (cmd,) = (await ok(c, "GET", f"/communities/{space.community}/commands", space.member))["commands"]
        assert cmd["name"] == "echo" and cmd["options"][0]["required"] is True
        used = await ok(c, "POST", f"/channels/{space.text}/interactions", space.member,
                        json={"command_id": cmd["id"], "options": {"text": "hello"}})  # fmt: skip
        real = await b.wait_for("INTERACTION_CREATE")
        assert set(real) == set(json.loads(interaction)) and real["options"] == {"text": "hello"}
        await sh(callback, NODE=node, INTERACTION=used["id"], BOT_TOKEN=bot.token)
        await ok(c, "POST", f"/channels/{space.text}/messages", space.owner, json={"content": "after"})
        await b.wait_for("MESSAGE_CREATE")
        assert set(b.kinds()) <= set(frame["d"]["intents"])
    page = await ok(c, "GET", f"/channels/{space.text}/messages", space.owner)
    answer = next(m for m in page["messages"] if m["author_id"] == bot.id)
    assert (answer["content"], answer["interaction"]["name"]) == ("hello", "echo")
