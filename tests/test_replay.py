"""`cryb doctor --replay` rebuilds every projection from the event log alone and compares."""

from __future__ import annotations

import json

from cryb_node.app import build_app
from cryb_node.db import connect
from tests.conftest import run_cryb
from tests.content.conftest import content_config, make_space, ok


def _replay(data) -> dict:
    res = run_cryb("--data", str(data), "doctor", "--offline", "--replay", "--json", timeout=300)
    return {c["check"]: c for c in json.loads(res.stdout)}


async def test_replay_equals_the_live_projections_and_catches_a_changed_row(aiohttp_client, tmp_path):
    data = tmp_path / "data"
    client = await aiohttp_client(build_app(content_config(data)))
    space = await make_space(client)
    for i in range(5):
        await ok(
            client, "POST", f"/channels/{space.text}/messages", space.member, json={"content": f"hi {i}"}
        )
    await client.close()

    checks = _replay(data)
    assert checks["replay"]["ok"], checks["replay"]
    assert "events replayed: equal" in checks["replay"]["detail"]

    conn = connect(data / "cryb.db", busy_timeout_ms=1000)
    conn.execute("UPDATE content_messages SET content = 'not what was said' WHERE content = 'hi 3'")
    conn.close()
    checks = _replay(data)
    assert not checks["replay"]["ok"]
    assert f"{space.community}: content.messages" in checks["replay"]["detail"]
