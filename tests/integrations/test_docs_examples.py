"""Every example in docs/integrations.md, run as written: the curl command and the Discord and Slack
bodies post through a real webhook, the delivery example has the keys a real delivery has, the
receiver's verify() accepts a real delivery (and not a tampered one), and the settings block is a
valid [plugin.integrations]. A code block added to the page must be handled here, or this fails."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

import msgspec

from cryb_node import plugins
from tests.conftest import make_config
from tests.integrations.conftest import ok, serve
from tests.integrations.test_outgoing import Receiver, subscribe, until

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"


def blocks() -> list[tuple[str, str]]:
    return re.findall(r"^```(\w+)\n(.*?)^```", DOC.read_text(), re.S | re.M)


def test_every_block_is_one_this_test_runs():
    # The last four are the Bots section's (tests/integrations/test_docs_bots.py runs them).
    bots = ["json", "sh", "json", "sh"]
    assert [lang for lang, _ in blocks()] == ["sh", "json", "json", "json", "python", "toml", *bots]


async def test_the_curl_command_and_the_discord_and_slack_bodies_post_messages(space):
    hook = await ok(
        space.client, "POST", f"/channels/{space.text}/webhooks", space.owner, json={"name": "Docs"}
    )
    path = f"/api/webhooks/{hook['id']}/{hook['token']}"
    url = str(space.client.make_url(path))
    (_, sh), (_, discord), (_, slack) = blocks()[:3]
    env = {**os.environ, "WEBHOOK_URL": url}
    done = await asyncio.to_thread(
        subprocess.run, ["bash", "-c", sh], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    for body in (discord, slack):
        resp = await space.client.post(path, json=json.loads(body))
        assert resp.status in (200, 204)
    got = await ok(space.client, "GET", f"/channels/{space.text}/messages", space.owner)
    shown = [(m["integration"]["name"], m["content"]) for m in got["messages"]]
    assert shown == [
        ("Docs", "build 41 passed"),
        ("CI", "deploy started\n\n**Release 2.1**\nthree fixes"),
        ("Docs", "*disk* at 91% on db1"),
    ]


async def test_the_receivers_verify_accepts_a_real_delivery_with_the_documented_shape(space):
    _, example = blocks()[3]
    _, code = blocks()[4]
    scope: dict = {}
    exec(compile(code, str(DOC), "exec"), scope)
    verify = scope["verify"]
    rx = Receiver()
    runner, base = await serve(rx.app)
    try:
        sub = await subscribe(space, f"{base}/hook")
        await ok(
            space.client, "POST", f"/channels/{space.text}/messages", space.member, json={"content": "hi"}
        )
        await until(lambda: asyncio.sleep(0, bool(rx.got)))
        headers, body = rx.got[0]
        assert verify(sub["secret"], headers, body)
        assert not verify(sub["secret"], headers, body.replace(b"hi", b"ho"))
        real = json.loads(body)
        documented = json.loads(example)
        assert set(real) == set(documented) and set(documented["data"]) <= set(real["data"])
        assert {h for h in headers if h.startswith("X-Cryb-")} == {
            "X-Cryb-Event", "X-Cryb-Delivery", "X-Cryb-Timestamp", "X-Cryb-Signature",
        }  # fmt: skip
    finally:
        await runner.cleanup()


def test_the_settings_block_is_a_valid_plugin_section(tmp_path: Path):
    _, toml = blocks()[5]
    section = tomllib.loads(toml)["plugin"]["integrations"]
    loaded = plugins.load(make_config(tmp_path, plugin={"integrations": section}))
    (settings,) = [x.settings for x in loaded if x.plugin.name == "integrations"]
    assert msgspec.structs.asdict(settings) == {**msgspec.structs.asdict(type(settings)()), **section}
