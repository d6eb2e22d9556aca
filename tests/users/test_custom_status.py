"""Custom status text: part of the public profile, shown until it expires, kept by other profile
edits, held to the same text rules for a peer's event, and shown by a peer node too."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.communities.conftest import cclient, new_user, ok  # noqa: F401 (cclient: the fixture)
from tests.support.api import call
from tests.sync.conftest import federation  # noqa: F401 (the fixture)
from tests.users_fixtures import renewed


async def profile(client: Any, viewer: Any, user_id: str) -> dict[str, Any]:
    return await ok(client, "GET", f"/users/{user_id}", viewer)


async def test_status_shows_until_it_expires_and_survives_profile_edits(cclient, clock):  # noqa: F811
    alice, bob = await new_user(cclient), await new_user(cclient)
    until = clock.time_ms() + 3600_000
    await ok(
        cclient, "PATCH", "/users/@me", alice, json={"status_text": "On holiday 🌴", "status_until": until}
    )
    seen = await profile(cclient, bob, alice.id)
    assert (seen["status_text"], seen["status_until"]) == ("On holiday 🌴", until)
    await ok(cclient, "PATCH", "/users/@me", alice, json={"display_name": "Alice B."})
    assert (await profile(cclient, bob, alice.id))["status_text"] == "On holiday 🌴"
    clock.advance(3601)
    for user in (alice, bob):  # their access tokens expired on the way (the node's clock too)
        user.token = renewed(cclient, user.token)
    seen = await profile(cclient, bob, alice.id)
    assert "status_text" not in seen and "status_until" not in seen
    # without an end it stays; "" clears it
    await ok(cclient, "PATCH", "/users/@me", alice, json={"status_text": "Baking", "status_until": None})
    clock.advance(10 * 24 * 3600)
    for user in (alice, bob):
        user.token = renewed(cclient, user.token)
    assert (await profile(cclient, bob, alice.id))["status_text"] == "Baking"
    await ok(cclient, "PATCH", "/users/@me", alice, json={"status_text": ""})
    assert "status_text" not in await profile(cclient, bob, alice.id)


async def test_status_text_is_validated(cclient):  # noqa: F811
    alice = await new_user(cclient)
    for bad in ("x" * 129, "line\nbreak", "bidi \u202e trick"):
        status, body = await call(cclient, "PATCH", "/users/@me", alice, json={"status_text": bad})
        assert status == 400 and body["field"] == "status_text", (bad, body)
    status, body = await call(cclient, "PATCH", "/users/@me", alice, json={"status_until": -5})
    assert status == 400, body


async def test_a_peer_shows_the_status_too(federation):  # noqa: F811
    a, b = await federation(2)
    alice = await a.user()
    await a.ok("PATCH", "/users/@me", alice, json={"status_text": "Reading"})
    await b.session(a)
    viewer = await b.user()
    assert (await b.ok("GET", f"/users/{alice.id}", viewer))["status_text"] == "Reading"


async def test_the_readme_call(cclient, clock):  # noqa: F811
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### Custom status")[1].split("\n### ")[0]
    found = re.search(r"`PATCH (/api/v1/users/@me) (\{.*?\})`", section)
    assert found is not None, "the README's custom status section lost its call"
    body = json.loads(found[2])
    clock.advance(max(0, (body["status_until"] - clock.time_ms()) / 1000 - 60))  # a minute before it ends
    alice, bob = await new_user(cclient), await new_user(cclient)  # signed in then: their tokens last
    await ok(cclient, "PATCH", found[1].removeprefix("/api/v1"), alice, json=body)
    assert (await profile(cclient, bob, alice.id))["status_text"] == "On holiday"
    clock.advance(120)
    assert "status_text" not in await profile(cclient, bob, alice.id)
