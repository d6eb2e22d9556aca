"""docs/polls.md's JSON examples, sent as written: a message with a poll, then a vote on it."""

from __future__ import annotations

import json
import re

from cryb_node.app import build_app
from tests.conftest import ROOT, make_config
from tests.content.conftest import Space, make_space
from tests.support.api import call, ok
from tests.users_fixtures import FAST_HASHING


def examples() -> dict[str, dict]:
    text = (ROOT / "docs" / "polls.md").read_text()
    found = re.findall(r"<!-- example: (\w+) -->\n```json\n(.*?)```", text, re.S)
    return {name: json.loads(body) for name, body in found}


async def test_docs_examples_work(space: Space) -> None:
    ex = examples()
    assert set(ex) == {"message", "vote"}
    msg = await ok(space.client, "POST", f"/channels/{space.text}/messages", space.owner, json=ex["message"])
    out = await ok(space.client, "PUT", f"/polls/{msg['id']}/vote", space.member, json=ex["vote"])
    assert out["question"] == "Where shall we meet?" and [a["count"] for a in out["answers"]] == [0, 1, 0]
    assert out["answers"][0]["emoji"] == "🌳"


async def test_polls_can_be_disabled(aiohttp_client, tmp_path) -> None:
    cfg = make_config(
        tmp_path / "data",
        plugin={"users": dict(FAST_HASHING)},
        rate_limits={"enabled": False},
        plugins={"disabled": ["polls"]},
    )
    client = await aiohttp_client(build_app(cfg))
    space = await make_space(client)
    msg = await ok(
        client, "POST", f"/channels/{space.text}/messages", space.owner, json=examples()["message"]
    )
    status, _ = await call(client, "GET", f"/polls/{msg['id']}", space.owner)
    assert status == 404  # no such route: the message stays, nothing counts votes
