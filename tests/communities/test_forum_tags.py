"""Forum channels' tag sets: set by those who manage the channel, enforced on posts by the rule
book, and the feed filtered by tag."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cryb_node.services import Perm
from tests.communities.conftest import User, call, new_user, ok

README = Path(__file__).resolve().parents[2] / "README.md"


async def forum(client: Any, owner: User) -> tuple[str, str]:
    c = await ok(client, "POST", "/communities", owner, json={"name": "Makers"})
    ch = await ok(
        client, "POST", f"/communities/{c['id']}/channels", owner, json={"name": "projects", "kind": "forum"}
    )
    return c["id"], ch["id"]


async def post(client: Any, ch: str, user: User, title: str, tags: list[str]) -> tuple[int, Any]:
    return await call(client, "POST", f"/channels/{ch}/posts", user, json={"title": title, "tags": tags})


async def test_posts_take_only_tags_from_the_channels_set_and_the_feed_filters(cclient):
    owner, member = await new_user(cclient), await new_user(cclient)
    cid, ch = await forum(cclient, owner)
    await ok(cclient, "PUT", f"/communities/{cid}/members/@me", member, json={})
    assert await ok(cclient, "GET", f"/channels/{ch}/tags", member) == {"channel_id": ch, "tags": []}
    got = await ok(
        cclient, "PUT", f"/channels/{ch}/tags", owner, json={"tags": ["Woodwork", "metal", "woodwork"]}
    )
    assert got["tags"] == ["woodwork", "metal"]
    assert (await ok(cclient, "GET", f"/channels/{ch}/tags", member))["tags"] == ["woodwork", "metal"]
    status, chair = await post(cclient, ch, member, "A chair", ["WoodWork"])
    assert status == 201, chair
    assert (await post(cclient, ch, member, "A gate", ["metal"]))[0] == 201
    assert (await post(cclient, ch, member, "Untagged", []))[0] == 201
    status, body = await post(cclient, ch, member, "A quilt", ["textiles"])
    assert (status, body["code"]) == (403, "unknown_tag"), body
    feed = await ok(
        cclient, "GET", f"/channels/{ch}/posts", member, params={"tag": "woodwork", "sort": "new"}
    )
    assert [p["title"] for p in feed["posts"]] == ["A chair"]
    feed = await ok(cclient, "GET", f"/channels/{ch}/posts", member, params={"tag": "METAL"})
    assert [p["title"] for p in feed["posts"]] == ["A gate"]
    assert len((await ok(cclient, "GET", f"/channels/{ch}/posts", member))["posts"]) == 3
    # an empty set lifts the rule
    await ok(cclient, "PUT", f"/channels/{ch}/tags", owner, json={"tags": []})
    assert (await post(cclient, ch, member, "A quilt", ["textiles"]))[0] == 201


async def test_setting_a_tag_set_is_authorised_and_validated(cclient):
    owner, member, outsider = await new_user(cclient), await new_user(cclient), await new_user(cclient)
    cid, ch = await forum(cclient, owner)
    await ok(cclient, "PUT", f"/communities/{cid}/members/@me", member, json={})
    status, body = await call(cclient, "PUT", f"/channels/{ch}/tags", member, json={"tags": ["x"]})
    assert (status, body["code"]) == (403, "missing_permission"), body
    assert (await call(cclient, "PUT", f"/channels/{ch}/tags", None, json={"tags": ["x"]}))[0] == 401
    general = (await ok(cclient, "GET", f"/communities/{cid}/channels", owner))["channels"][0]["id"]
    status, body = await call(cclient, "PUT", f"/channels/{general}/tags", owner, json={"tags": ["x"]})
    assert (status, body["code"]) == (400, "wrong_channel_kind"), body
    assert (await call(cclient, "PUT", f"/channels/{ch}/tags", owner, json={"tags": ["x" * 33]}))[0] == 400
    assert (await call(cclient, "PUT", f"/channels/{ch}/tags", owner, json={"tags": ["t"] * 21}))[0] == 400
    # a channel hidden from someone has no tag set they can read
    await ok(
        cclient, "PUT", f"/channels/{ch}/overwrites/role/{cid}", owner, json={"deny": int(Perm.VIEW_CHANNEL)}
    )
    assert (await call(cclient, "GET", f"/channels/{ch}/tags", outsider))[0] == 404
    # a member who manages channels may set it
    stewards = {"name": "stewards", "perms": int(Perm.MANAGE_CHANNELS | Perm.VIEW_CHANNEL)}
    role = await ok(cclient, "POST", f"/communities/{cid}/roles", owner, json=stewards)
    await ok(cclient, "PUT", f"/communities/{cid}/members/{member.id}/roles/{role['id']}", owner)
    await ok(
        cclient,
        "PUT",
        f"/channels/{ch}/overwrites/role/{role['id']}",
        owner,
        json={"allow": int(Perm.VIEW_CHANNEL)},
    )
    assert (await ok(cclient, "PUT", f"/channels/{ch}/tags", member, json={"tags": ["ok"]}))["tags"] == ["ok"]


async def test_the_readme_calls(cclient):
    section = README.read_text().split("### Forum tag sets")[1].split("\n### ")[0]
    put = re.search(r"`PUT (/api/v1/channels/\{id\}/tags) (\{.*?\})`", section)
    get = re.search(r"`GET (/api/v1/channels/\{id\}/posts\?tag=\w+)`", section)
    assert put is not None and get is not None, "the README's forum tags section lost its calls"
    owner = await new_user(cclient)
    _, ch = await forum(cclient, owner)
    path = put[1].removeprefix("/api/v1").replace("{id}", ch)
    assert (await ok(cclient, "PUT", path, owner, json=json.loads(put[2])))["tags"] == ["help", "showcase"]
    assert (await post(cclient, ch, owner, "Wiring", ["help"]))[0] == 201
    feed = await ok(cclient, "GET", get[1].removeprefix("/api/v1").replace("{id}", ch), owner)
    assert [p["title"] for p in feed["posts"]] == ["Wiring"]
