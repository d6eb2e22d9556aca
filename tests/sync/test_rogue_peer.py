"""A hostile peer: a real `cryb serve` process whose operator signs hand-built events with the node's
real key (tests/sync/rogue.py). Every event passes the signature, pin and replay checks; the rule
book (plugins/communities/verdicts.py and each governance rule) must refuse what the same user could
never do through the API. Refused events are stored as evidence, listed by `cryb sync refused`, and
the receiving node's API shows no trace of them."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from cryb_plugins.communities.events import InviteCreate, MemberBan, MemberJoin, invite_id
from cryb_plugins.content.events import MessageCreate, Moderate, VoteSet

from cryb_node import identity
from cryb_node.clock import new_id
from cryb_node.node import Node
from cryb_node.sync import peers
from cryb_node.sync.transport import PeerCallError
from tests.communities.conftest import new_admin
from tests.conftest import NodeProcess, cryb_env, run_cryb, write_config
from tests.sync.conftest import Fed, User, fed_config, make_community, mesh
from tests.sync.rogue import Rogue

TOML = """[log]
level = "WARNING"
[rate_limits]
enabled = false
[plugin.users]
argon2_opslimit = 1
argon2_memlimit = 8192
[plugin.sync]
auto = false
"""


class Scene:
    """Node a (in this process, with its API) and the rogue r (a `cryb serve` child)."""

    def __init__(self, a: Fed, r: NodeProcess, r_key: bytes, tmp: Path) -> None:
        self.a, self.r, self.r_key, self.tmp = a, r, r_key, tmp
        self.rogue = Rogue(r.data_dir)

    async def pull(self) -> Any:
        peer = await peers.get(self.a.node.db, self.r_key)
        assert peer is not None
        return await self.a.sync.engine.session(peer)

    async def rogue_user(self, name: str) -> str:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                self.r.url + "/api/v1/auth/register",
                json={"username": name, "email": f"{name}@r.test", "password": "pw-" * 4},
            ) as resp,
        ):
            body = await resp.json()
            assert resp.status == 201, body
            return body["user"]["id"]

    def refused(self, *args: str) -> list[dict[str, Any]]:
        cfg = write_config(self.tmp / "a.toml", TOML)
        out = run_cryb(
            "--config", str(cfg), "--data", str(self.a.node.data_dir), "sync", "refused", "--json", *args
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)


@pytest.fixture
async def scene(federation, tmp_path: Path) -> Any:
    (a,) = await federation(1, pin=False)
    r = NodeProcess(tmp_path / "rogue", write_config(tmp_path / "r.toml", TOML), cryb_env())
    r_key = identity.load_or_create(r.data_dir)[0].node_public
    node = Node(fed_config(r.data_dir))
    async with node.running(background=False):
        await peers.pin(node.db, a.key, a.url, "a", now=node.clock.time())
    await peers.pin(a.node.db, r_key, r.url, "rogue", now=a.node.clock.time())
    await a.sync.engine.refresh_peers()
    r.start()
    try:
        yield Scene(a, r, r_key, tmp_path)
    finally:
        r.terminate()


async def test_forged_joins_content_moderation_and_votes_are_refused_and_leave_no_trace(scene: Scene):
    a = scene.a
    owner = await a.user()
    local = await a.user()
    pub, general = await make_community(a, owner)
    priv, secret = await make_community(a, owner, public=False)
    forum = (await a.ok("POST", f"/communities/{pub}/channels", owner, json={"name": "f", "kind": "forum"}))[
        "id"
    ]
    post = (await a.ok("POST", f"/channels/{forum}/posts", owner, json={"title": "t", "body": "b"}))["id"]
    kept = (await a.ok("POST", f"/channels/{general}/messages", owner, json={"content": "keep"}))["id"]
    # a used-up invite: one use, taken by a local user
    used = await a.ok("POST", f"/communities/{priv}/invites", owner, json={"max_uses": 1})
    await a.ok("POST", f"/invites/{used['code']}", local)

    mallory = await scene.rogue_user("mallory")
    eve = await scene.rogue_user("eve")

    def by(author: str):
        def forge(kind: str, payload: Any, community: str, target: str | None = None) -> str:
            return scene.rogue.forge(
                kind, payload, community=community, author=author, target=target or new_id()
            )

        return forge

    m, e = by(mallory), by(eve)
    hide = Moderate(target_type="message", channel_id=general, field="hidden", value=True, rank=1)
    forged = {
        # private community: no invite, a made-up code, a used-up one
        "join_no_invite": m("member.join", MemberJoin(invited_by=owner.id), priv, mallory),
        "join_fake_code": m("member.join", MemberJoin(invite="not-a-real-code"), priv, mallory),
        "join_used_up": m("member.join", MemberJoin(invite=used["code"]), priv, mallory),
        # an invite minted by a non-member for themselves
        "invite_by_outsider": m("invite.create", InviteCreate(), priv, invite_id("mallorys-own")),
        # content from a non-member: a private channel, the public #general, a vote, a moderation
        "private_message": m("message.create", MessageCreate(channel_id=secret, content="in"), priv),
        "public_message": m("message.create", MessageCreate(channel_id=general, content="hi"), pub),
        "vote": m("vote.set", VoteSet(target_type="post", channel_id=forum, value=1), pub, post),
        "hide": m("content.moderate", hide, pub, kept),
    }
    # eve joins the public community properly (any user may), then oversteps
    e("member.join", MemberJoin(), pub, eve)
    everyone = MessageCreate(channel_id=general, content="@everyone", mention_everyone=True)
    forged |= {
        "everyone": e("message.create", everyone, pub),
        "member_hide": e(
            "content.moderate", Moderate(**{**msgspec.structs.asdict(hide), "rank": 2}), pub, kept
        ),
        "ban_owner_ally": e("member.ban", MemberBan(), pub, local.id),
    }
    report = await scene.pull()
    assert report.rejected == 0  # stored: refused by the rule book, not by the transport

    # the API shows no trace
    members = await a.ok("GET", f"/communities/{priv}/members", owner)
    assert mallory not in {m["user_id"] for m in members["members"]}
    msgs = await a.ok("GET", f"/channels/{general}/messages", owner)
    assert [m["content"] for m in msgs["messages"]] == ["keep"]
    assert not (await a.ok("GET", f"/channels/{secret}/messages", owner))["messages"]
    assert (await a.ok("GET", f"/posts/{post}", owner))["score"] == 1  # its author's own upvote only
    assert await a.count("SELECT hidden FROM content_messages WHERE id = ?", kept) == 0
    assert not await a.count("SELECT count(*) FROM community_bans WHERE community_id = ?", pub)

    # every forged event is evidence, with its reason, signed by the rogue's node
    listed = {r["event_id"]: r for r in scene.refused()}
    for name, eid in forged.items():
        assert eid in listed, (name, listed.keys())
        assert listed[eid]["node_key"] == scene.r_key.hex() and listed[eid]["peer"] == "rogue", name
    assert {r["event_id"] for r in scene.refused("--peer", "rogue")} == set(listed)
    codes = {name: listed[eid]["code"] for name, eid in forged.items()}
    assert codes == {
        "join_no_invite": "invite_required",
        "join_fake_code": "invite_not_found",
        "join_used_up": "invite_used_up",
        "invite_by_outsider": "not_member",
        "private_message": "not_member",
        "public_message": "not_member",
        "vote": "not_member",
        "hide": "not_member",
        "everyone": "missing_permission",
        "member_hide": "missing_permission",
        "ban_owner_ally": "missing_permission",
    }


async def test_a_join_with_a_real_invite_from_a_peer_is_accepted(scene: Scene):
    a = scene.a
    owner = await a.user()
    priv, _ = await make_community(a, owner, public=False)
    inv = await a.ok("POST", f"/communities/{priv}/invites", owner, json={"max_uses": 2})
    mallory = await scene.rogue_user("mallory2")
    scene.rogue.forge(
        "member.join", MemberJoin(invite=inv["code"]), community=priv, author=mallory, target=mallory
    )
    await scene.pull()
    members = await a.ok("GET", f"/communities/{priv}/members", owner)
    assert mallory in {m["user_id"] for m in members["members"]}
    assert (await a.ok("GET", f"/invites/{inv['code']}", owner))["uses"] == 1
    assert scene.refused() == []


async def test_a_peer_that_keeps_forging_is_flagged_and_turned_away(federation, tmp_path: Path):
    a, b = await federation(2, refused_limit=3)
    owner = await a.user()
    pub, general = await make_community(a, owner)
    await b.session(a)
    intruder = await b.user()
    rogue = Rogue(b.node.data_dir)
    for i in range(4):
        rogue.forge("message.create", MessageCreate(channel_id=general, content=f"x{i}"), community=pub,
                    author=intruder.id, target=new_id())  # fmt: skip
    await a.session(b)
    assert await a.count("SELECT count(*) FROM event_refusals") == 4
    status = await a.ok("GET", "/admin/peers", await admin(a))
    entry = next(p for p in status["peers"] if p["node_key"] == b.key.hex())
    assert entry["flagged"] and entry["state"] == "flagged" and entry["refused_recent"] == 4
    # what the flagged peer sends next is turned away whole (and not stored)
    rogue.forge("message.create", MessageCreate(channel_id=general, content="more"), community=pub,
                author=intruder.id, target=new_id())  # fmt: skip
    before = await a.count("SELECT count(*) FROM events")
    # a session with it fails like any failed call (the worker backs off, then its breaker opens)
    with pytest.raises(PeerCallError, match="flagged"):
        await a.session(b)
    assert await a.count("SELECT count(*) FROM events") == before
    assert "flagged" in (await peers.get(a.node.db, b.key)).last_error
    line = f'cryb_sync_events_refused_total{{peer="{b.key.hex()[:16]}",reason="not_member"}} 4.0'
    deadline = time.monotonic() + 15  # the counters are refreshed by the node's 5 s peers job
    while line not in await metrics_text(a):
        assert time.monotonic() < deadline, await metrics_text(a)
        await asyncio.sleep(0.2)


async def admin(fed: Fed) -> User:
    return await new_admin(fed.client)


async def metrics_text(fed: Fed) -> str:
    return await (await fed.client.get("/metrics")).text()


async def test_peer_remove_purge_hides_what_its_users_wrote_and_the_removal_replicates(federation, tmp_path):
    a, b, c = await federation(3)
    owner = await a.user()
    pub, general = await make_community(a, owner)
    await mesh([a, b, c])
    spammer = await b.user()
    await b.ok("PUT", f"/communities/{pub}/members/@me", spammer, json={})
    for i in range(3):
        await b.ok("POST", f"/channels/{general}/messages", spammer, json={"content": f"spam{i}"})
    await a.ok("POST", f"/channels/{general}/messages", owner, json={"content": "mine"})
    await mesh([a, b, c])
    assert len((await a.ok("GET", f"/channels/{general}/messages", owner))["messages"]) == 4
    cfg = write_config(tmp_path / "a.toml", TOML)
    out = run_cryb("--config", str(cfg), "--data", str(a.node.data_dir), "peer", "remove", "b", "--purge")
    assert out.returncode == 0 and "hid 3 messages" in out.stdout, (out.stdout, out.stderr)
    # a moderator still sees them, marked removed (and may approve them again); members do not
    seen = (await a.ok("GET", f"/channels/{general}/messages", owner))["messages"]
    assert sorted((m["content"], m["removed"]) for m in seen) == [("mine", False)] + [
        (f"spam{i}", True) for i in range(3)
    ]
    member = await a.user()
    shown = (await a.ok("GET", f"/channels/{general}/messages", member))["messages"]
    assert [m["content"] for m in shown] == ["mine"]
    assert await peers.get(a.node.db, b.key) is None
    # the removals are node-admin moderation of the community's home: c takes them too
    await c.session(a)
    viewer = await c.user()
    assert [
        m["content"] for m in (await c.ok("GET", f"/channels/{general}/messages", viewer))["messages"]
    ] == ["mine"]
