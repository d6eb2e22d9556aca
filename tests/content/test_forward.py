"""Forwarding a message into another channel: checked at both ends (read at the source, send at the
target), quoting the text with mentions as plain names so nobody is pinged again."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cryb_node.services import Perm
from tests.communities.conftest import User, call, new_user, ok


async def space(client: Any, owner: User, name: str) -> tuple[str, str]:
    c = await ok(client, "POST", "/communities", owner, json={"name": name})
    chans = await ok(client, "GET", f"/communities/{c['id']}/channels", owner)
    return c["id"], chans["channels"][0]["id"]


async def say(client: Any, ch: str, user: User, text: str) -> str:
    return (await ok(client, "POST", f"/channels/{ch}/messages", user, json={"content": text}))["id"]


def fwd(ch: str, mid: str) -> str:
    return f"/channels/{ch}/messages/{mid}/forward"


async def test_forward_quotes_the_message_into_another_community(cc):
    alice, bob = await new_user(cc), await new_user(cc)
    _, src = await space(cc, alice, "Bakers")
    tid, dst = await space(cc, bob, "Cooks")
    await ok(cc, "PUT", f"/communities/{tid}/members/@me", alice, json={})
    mid = await say(cc, src, alice, f"hey <@{bob.id}> the rye is ready @everyone\nsecond line")
    out = await ok(cc, "POST", fwd(src, mid), alice, json={"channel_id": dst, "comment": "look at this"})
    assert out["channel_id"] == dst and out["author_id"] == alice.id
    lines = out["content"].split("\n")
    assert lines[0] == "look at this"
    assert lines[2].startswith("↪ Forwarded from @") and lines[2].endswith(" in #general:")
    assert lines[3].startswith("> hey @") and "<@" not in out["content"]
    assert "@\u200beveryone" in lines[3] and lines[4] == "> second line"
    listed = await ok(cc, "GET", f"/channels/{dst}/messages", bob)
    assert out["id"] in [m["id"] for m in listed["messages"]]


async def test_forward_is_checked_at_both_ends(cc):
    alice, bob, eve = await new_user(cc), await new_user(cc), await new_user(cc)
    cid, src = await space(cc, alice, "Bakers")
    _, elsewhere = await space(cc, eve, "Eve's")
    mid = await say(cc, src, alice, "members only news")
    # the source: a private channel eve cannot read
    await ok(
        cc, "PUT", f"/channels/{src}/overwrites/role/{cid}", alice, json={"deny": int(Perm.VIEW_CHANNEL)}
    )
    status, body = await call(cc, "POST", fwd(src, mid), eve, json={"channel_id": elsewhere})
    assert (status, body["code"]) == (403, "forbidden"), body  # as reading it there answers
    # the target: a channel alice may not send in (she is not a member of that community)
    _, bobs = await space(cc, bob, "Bob's")
    status, body = await call(cc, "POST", fwd(src, mid), alice, json={"channel_id": elsewhere})
    assert status == 403, body
    assert (await call(cc, "POST", fwd(src, mid), None, json={"channel_id": bobs}))[0] == 401
    status, body = await call(
        cc, "POST", fwd(src, "01m8wdx16vft88zh72ghk14an9"), alice, json={"channel_id": src}
    )
    assert status == 404, body
    status, body = await call(
        cc, "POST", fwd(src, mid), alice, json={"channel_id": src, "comment": "x" * 1001}
    )
    assert status == 400, body
    # within the same community, to a channel alice may send in: fine
    assert (await call(cc, "POST", fwd(src, mid), alice, json={"channel_id": src}))[0] == 201


async def test_forward_into_a_direct_message(cc):
    alice, bob = await new_user(cc), await new_user(cc)
    _, src = await space(cc, alice, "Bakers")
    mid = await say(cc, src, alice, "the recipe")
    dm = await ok(cc, "POST", "/dms", alice, json={"recipients": [bob.id]})
    out = await ok(cc, "POST", fwd(src, mid), alice, json={"channel_id": dm["id"]})
    assert out["content"].endswith("in #general:\n> the recipe")
    assert (await ok(cc, "GET", f"/channels/{dm['id']}/messages/{out['id']}", bob))["id"] == out["id"]


async def test_the_readme_call(cc):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### Forwarding messages")[1].split("\n### ")[0]
    found = re.search(
        r"`POST (/api/v1/channels/\{id\}/messages/\{message_id\}/forward)\s+(\{.*?\})`", section, re.S
    )
    assert found is not None, "the README's forwarding section lost its call"
    alice = await new_user(cc)
    _, src = await space(cc, alice, "Bakers")
    mid = await say(cc, src, alice, "from the README")
    body = json.loads(found[2].replace('"..."', '""'))
    body["channel_id"] = src
    path = found[1].removeprefix("/api/v1").replace("{id}", src).replace("{message_id}", mid)
    assert (await ok(cc, "POST", path, alice, json=body))["content"].endswith("> from the README")
