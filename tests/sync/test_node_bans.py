"""Node bans (cryb_node/sync/bans.py): this node's own refusal of a remote user or a whole peer node,
with real nodes on loopback. What they write is refused here with the local reason node_banned (still
stored, so each origin's log stays contiguous) and what this node holds of them disappears from its
reads and search; other people's content is untouched; other nodes keep showing it (a ban is not
consensus), except in communities homed here, where replicated moderator removals hide it for all.
Removing the ban shows it again and accepts what comes next."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryb_plugins.content.events import MessageCreate

from cryb_node.clock import new_id
from cryb_node.sync import peers
from cryb_node.sync.transport import PeerCallError
from tests.communities.conftest import new_admin
from tests.conftest import run_cryb, write_config
from tests.search.conftest import found, indexed
from tests.sync.conftest import Fed, User, make_community, mesh
from tests.sync.rogue import Rogue
from tests.users_fixtures import register_user

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
WORD = "quokkaspam"  # one word, so the search index tokenises it whole


def home(f: Fed) -> str:
    """How this node's users are named elsewhere: name@<host:port of its URL>."""
    return urlsplit(f.url).netloc


async def named(f: Fed, name: str) -> User:
    return User(*await register_user(f.client, name))


async def texts(f: Fed, channel: str, reader: User) -> list[str]:
    return [m["content"] for m in (await f.ok("GET", f"/channels/{channel}/messages", reader))["messages"]]


async def cryb(tmp: Path, f: Fed, *args: str) -> Any:
    """`cryb ...` on the node's data dir beside it (in a thread: the nodes serve on this loop)."""
    cfg = write_config(tmp / f"{f.name}.toml", TOML)
    return await asyncio.to_thread(run_cryb, "--config", str(cfg), "--data", str(f.node.data_dir), *args)


async def refusals(f: Fed, code: str = "node_banned") -> int:
    return await f.count("SELECT count(*) FROM event_refusals WHERE code = ?", code)


class Scene:
    """A community homed on b, with b's users spammer and friend and a's user alice; a's admin."""

    a: Fed
    b: Fed
    admin: User
    owner: User
    spammer: User
    friend: User
    alice: User
    cid: str
    text: str
    forum: str
    post: str
    kept: str  # friend's message, which the spammer reacted to


async def scene(federation: Any, n: int = 2, **sync: Any) -> tuple[Scene, list[Fed]]:
    feds = await federation(n, **sync)
    s = Scene()
    s.a, s.b = feds[0], feds[1]
    a, b = s.a, s.b
    s.admin = await new_admin(a.client)
    s.owner = await b.user()
    s.cid, s.text = await make_community(b, s.owner)
    s.forum = (
        await b.ok("POST", f"/communities/{s.cid}/channels", s.owner, json={"name": "f", "kind": "forum"})
    )["id"]
    s.spammer, s.friend = await named(b, "spammer"), await named(b, "friend")
    for u in (s.spammer, s.friend):
        await b.ok("PUT", f"/communities/{s.cid}/members/@me", u, json={})
    await mesh(feds, rounds=1)
    s.alice = await a.user()
    await a.ok("PUT", f"/communities/{s.cid}/members/@me", s.alice, json={})
    s.kept = (await b.ok("POST", f"/channels/{s.text}/messages", s.friend, json={"content": "friendly"}))[
        "id"
    ]
    for i in range(2):
        await b.ok("POST", f"/channels/{s.text}/messages", s.spammer, json={"content": f"{WORD} {i}"})
    await b.ok("PUT", f"/messages/{s.kept}/reactions/👍", s.spammer)
    s.post = (await b.ok("POST", f"/channels/{s.forum}/posts", s.spammer, json={"title": WORD, "body": "b"}))[
        "id"
    ]
    await b.ok("POST", f"/posts/{s.post}/comments", s.friend, json={"body": "a friend's comment"})
    await b.ok("POST", f"/posts/{s.post}/comments", s.spammer, json={"body": f"more {WORD}"})
    await a.ok("POST", f"/channels/{s.text}/messages", s.alice, json={"content": "hello from a"})
    await mesh(feds, rounds=2)
    return s, feds


async def ban(f: Fed, admin: User, kind: str, target: str, reason: str = "spam") -> dict[str, Any]:
    status, body = await f.call(
        "POST", "/admin/bans", admin, json={"kind": kind, "target": target, "reason": reason}
    )
    assert status == 201, body
    return body


async def test_banning_a_remote_user_hides_what_they_wrote_here_only(federation):
    s, _ = await scene(federation)
    a, b = s.a, s.b
    assert await texts(a, s.text, s.alice) == ["friendly", f"{WORD} 0", f"{WORD} 1", "hello from a"]
    await indexed(a.client)
    assert len((await found(a.client, s.alice, WORD))["results"]) == 4  # 2 messages, the post, a comment
    assert (await found(a.client, s.alice, "spammer is:user"))["results"]

    out = await ban(a, s.admin, "user", f"spammer@{home(b)}")
    assert out["kind"] == "user" and out["target"] == s.spammer.id and out["label"] == f"spammer@{home(b)}"
    # 2 messages, the reaction, the post, its author's own upvote and the comment (community homed
    # on b: no removals from a)
    assert out["hidden"] == 6 and out["removed"] == 0 and out["reason"] == "spam"

    # gone from a's reads: messages, the reaction, the post, the comment; the others' content stays
    assert await texts(a, s.text, s.alice) == ["friendly", "hello from a"]
    msgs = (await a.ok("GET", f"/channels/{s.text}/messages", s.alice))["messages"]
    assert next(m for m in msgs if m["id"] == s.kept)["reactions"] == []
    status, _ = await a.call("GET", f"/posts/{s.post}", s.alice)
    assert status == 404
    assert await a.count("SELECT count(*) FROM content_comments WHERE community_id = ?", s.cid) == 1
    # and from search: their writing and their profile (people results)
    await indexed(a.client)
    assert (await found(a.client, s.alice, WORD))["results"] == []
    assert (await found(a.client, s.alice, "friendly"))["results"]
    assert (await found(a.client, s.alice, "spammer is:user"))["results"] == []
    assert (await found(a.client, s.alice, "friend is:user"))["results"]
    # b is not a's to decide for: it shows everything still
    assert len(await texts(b, s.text, s.friend)) == 4
    assert (await a.ok("GET", "/admin/bans", s.admin))["bans"] == [{**out, "removed": 0}]


async def test_what_a_banned_user_sends_next_is_refused_and_listed_as_evidence(federation, tmp_path):
    s, _ = await scene(federation, refused_limit=2)
    a, b = s.a, s.b
    await ban(a, s.admin, "user", s.spammer.id)  # by id works too
    for i in range(3):  # more than refused_limit: a node ban is no evidence against b
        await b.ok("POST", f"/channels/{s.text}/messages", s.spammer, json={"content": f"later {i}"})
    await b.ok("POST", f"/channels/{s.text}/messages", s.friend, json={"content": "friend later"})
    report = await a.session(b)
    assert report.rejected == 0  # stored (the log stays contiguous), refused here
    assert await texts(a, s.text, s.alice) == ["friendly", "hello from a", "friend later"]
    assert await a.count("SELECT count(*) FROM events e JOIN event_refusals r ON r.event_id = e.id"
                         " WHERE r.code = 'node_banned' AND e.kind = 'message.create'") == 5  # fmt: skip
    out = await cryb(tmp_path, a, "sync", "refused", "--json")
    assert out.returncode == 0, out.stderr
    listed = [r for r in json.loads(out.stdout) if r["code"] == "node_banned"]
    # what the spammer wrote before the ban (5 events, and the 6th: their post's own upvote) and 3 after
    assert len(listed) == 9 and {r["author"] for r in listed} == {s.spammer.id}
    assert {r["node_key"] for r in listed} == {b.key.hex()}
    later = [r for r in listed if r["kind"] == "message.create"]
    assert all(r["detail"] == "the author is banned on this node" for r in later)
    # b is not flagged: it keeps syncing
    status = await a.ok("GET", "/admin/peers", s.admin)
    entry = next(p for p in status["peers"] if p["node_key"] == b.key.hex())
    assert not entry["flagged"] and entry["refused_recent"] == 0
    await b.ok("POST", f"/channels/{s.text}/messages", s.friend, json={"content": "still syncing"})
    await a.session(b)
    assert (await texts(a, s.text, s.alice))[-1] == "still syncing"
    # the state hashes differ now, and `cryb sync verify` says why
    assert await a.state(s.cid) != await b.state(s.cid)
    out = await cryb(tmp_path, a, "sync", "verify", "b", s.cid)
    assert out.returncode == 1 and "DIFFERENT" in out.stdout
    assert "[9 events hidden here by node bans]" in out.stdout, out.stdout
    (row,) = json.loads((await cryb(tmp_path, a, "sync", "verify", "b", s.cid, "--json")).stdout)
    assert row["hidden_here"] == 9 and "content.messages" in row["differing"]
    # both hold the same events: only the projections differ, reconciliation has nothing to repair
    assert row["local_events"] == row["peer_events"]
    assert (await a.session(b, reconcile=True)).repaired == 0


async def test_removing_a_user_ban_shows_their_content_again_and_accepts_new_events(federation):
    s, _ = await scene(federation)
    a, b = s.a, s.b
    banned = await ban(a, s.admin, "user", f"spammer@{home(b)}")
    await b.ok("POST", f"/channels/{s.text}/messages", s.spammer, json={"content": f"{WORD} while banned"})
    await a.session(b)
    assert await texts(a, s.text, s.alice) == ["friendly", "hello from a"]

    status, out = await a.call("DELETE", f"/admin/bans/{banned['id']}", s.admin)
    assert status == 200 and out == {"id": banned["id"], "restored": 7}, out  # with the post's own upvote
    assert await texts(a, s.text, s.alice) == [
        "friendly", f"{WORD} 0", f"{WORD} 1", "hello from a", f"{WORD} while banned",
    ]  # fmt: skip
    msgs = (await a.ok("GET", f"/channels/{s.text}/messages", s.alice))["messages"]
    assert [r["count"] for r in next(m for m in msgs if m["id"] == s.kept)["reactions"]] == [1]
    assert (await a.ok("GET", f"/posts/{s.post}", s.alice))["title"] == WORD
    assert await refusals(a) == 0
    await indexed(a.client)
    assert len((await found(a.client, s.alice, WORD))["results"]) == 5
    assert (await found(a.client, s.alice, "spammer is:user"))["results"]
    # what they send now is accepted, and both nodes agree again
    await b.ok("POST", f"/channels/{s.text}/messages", s.spammer, json={"content": "welcome back"})
    await mesh([a, b], rounds=1)
    assert (await texts(a, s.text, s.alice))[-1] == "welcome back"
    assert await refusals(a) == 0
    assert await a.state(s.cid) == await b.state(s.cid)
    assert (await a.ok("GET", "/admin/bans", s.admin))["bans"] == []


async def test_a_ban_hides_their_content_for_everyone_in_communities_homed_here(federation):
    a, b, c = await federation(3)
    admin, owner = await new_admin(a.client), await a.user()
    cid, text = await make_community(a, owner)  # homed on a
    await mesh([a, b, c], rounds=1)
    spammer = await named(b, "spammer")
    await b.ok("PUT", f"/communities/{cid}/members/@me", spammer, json={})
    for i in range(3):
        await b.ok("POST", f"/channels/{text}/messages", spammer, json={"content": f"spam {i}"})
    await a.ok("POST", f"/channels/{text}/messages", owner, json={"content": "mine"})
    await mesh([a, b, c], rounds=2)
    viewer = await c.user()
    assert len(await texts(c, text, viewer)) == 4

    out = await ban(a, admin, "user", f"spammer@{home(b)}", reason="spam wave")
    assert out["removed"] == 3 and out["hidden"] == 3
    # node-admin removals (rank 3) replicate: c hides them too, though c banned nobody
    await mesh([a, b, c], rounds=2)
    assert await texts(c, text, viewer) == ["mine"]
    assert await c.count("SELECT count(*) FROM content_mod WHERE rank = 3 AND reason = 'spam wave'") == 3
    assert await refusals(c) == 0
    # removing the ban does not take the removals back (a moderator may approve them one by one)
    await a.ok("DELETE", f"/admin/bans/{out['id']}", admin)
    assert await texts(a, text, await a.user()) == ["mine"]
    seen = (await a.ok("GET", f"/channels/{text}/messages", owner))["messages"]
    assert sorted((m["content"], m["removed"]) for m in seen) == [("mine", False)] + [
        (f"spam {i}", True) for i in range(3)
    ]


async def test_banning_a_peer_node_cuts_it_off_and_refuses_what_it_signs_however_it_arrives(
    federation, tmp_path
):
    s, feds = await scene(federation, n=3)
    a, b, c = feds
    out = await ban(a, s.admin, "node", b.url, reason="hostile node")
    assert out["kind"] == "node" and out["target"] == b.key.hex() and out["label"] == b.url
    # everything b's users wrote: the spammer's five and the post's own upvote, friend's message and comment
    assert out["hidden"] == 8
    assert await peers.get(a.node.db, b.key) is None  # unpinned: a stops calling it
    assert b.key not in a.sync.engine.states
    # what b's users wrote is gone here, alice's stays
    assert await texts(a, s.text, s.alice) == ["hello from a"]
    # its calls to a are answered 403 node_banned
    with pytest.raises(PeerCallError, match="node_banned") as err:
        await b.session(a)
    assert err.value.status == 403
    # it cannot be pinned again until the ban is removed
    with pytest.raises(peers.PeerError, match="banned"):
        await peers.pin(a.node.db, b.key, b.url, "b", now=a.node.clock.time())
    res = await cryb(tmp_path, a, "peer", "add", b.url, "--key", b.key.hex())
    assert res.returncode != 0 and "banned" in res.stderr, (res.stdout, res.stderr)
    # what it signs still reaches a through c: stored (the log stays whole), refused here
    await b.ok("POST", f"/channels/{s.text}/messages", s.friend, json={"content": "relayed"})
    forged = Rogue(b.node.data_dir).forge(
        "message.create", MessageCreate(channel_id=s.text, content="forged but valid"),
        community=s.cid, author=s.friend.id, target=new_id(),
    )  # fmt: skip
    await c.session(b)
    assert "forged but valid" in await texts(c, s.text, await c.user())  # c has banned nobody
    await a.session(c)
    assert await a.count("SELECT count(*) FROM events WHERE id = ?", bytes.fromhex(forged)) == 1
    codes = await a.node.db.fetchall(
        "SELECT code, detail FROM event_refusals WHERE event_id = ?", (bytes.fromhex(forged),)
    )
    assert [tuple(r) for r in codes] == [("node_banned", "the node that signed it is banned on this node")]
    assert await texts(a, s.text, s.alice) == ["hello from a"]


async def test_removing_a_node_ban_lets_it_be_pinned_and_shows_its_content(federation):
    s, _ = await scene(federation)
    a, b = s.a, s.b
    out = await ban(a, s.admin, "node", b.key.hex())
    assert await texts(a, s.text, s.alice) == ["hello from a"]
    await a.ok("DELETE", f"/admin/bans/{out['id']}", s.admin)
    assert len(await texts(a, s.text, s.alice)) == 4
    await a.pin(b)  # the ban no longer stands in the way; pinning is the admin's own step
    await b.ok("POST", f"/channels/{s.text}/messages", s.friend, json={"content": "back"})
    await b.session(a)
    assert (await texts(a, s.text, s.alice))[-1] == "back"


async def test_a_local_user_cannot_be_banned(federation):
    (a,) = await federation(1)
    admin = await new_admin(a.client)
    await named(a, "localuser")
    me = await a.ok("GET", "/users/by-name/localuser")
    ours = urlsplit(a.node.config.base_url).netloc  # how this node names itself
    for target in ("localuser", me["id"], f"localuser@{ours}"):
        status, body = await a.call("POST", "/admin/bans", admin, json={"kind": "user", "target": target})
        assert status == 400 and body["code"] == "local_user" and body["field"] == "target", (target, body)
        assert "disable or erase" in body["detail"]
    assert (await a.ok("GET", "/admin/bans", admin))["bans"] == []


async def test_bans_refuse_bad_input_with_the_field(federation):
    a, b = await federation(2)
    admin = await new_admin(a.client)
    await named(b, "remote")
    await a.session(b)
    cases = [
        ({"kind": "group", "target": "x"}, 400, "invalid_field", "kind"),
        ({"kind": "user"}, 400, "invalid_field", "target"),
        ({"kind": "user", "target": ""}, 400, "invalid_field", "target"),
        ({"kind": "user", "target": "x", "reason": "r" * 501}, 400, "invalid_field", "reason"),
        ({"kind": "user", "target": "nobody@nowhere"}, 404, "not_found", "target"),
        ({"kind": "user", "target": "remote"}, 400, "name_needs_home", "target"),
        ({"kind": "node", "target": "http://127.0.0.1:9"}, 404, "not_found", "target"),
        ({"kind": "node", "target": a.key.hex()}, 400, "own_node", "target"),
    ]
    for body, status, code, field in cases:
        got, problem = await a.call("POST", "/admin/bans", admin, json=body)
        assert (got, problem["code"]) == (status, code), (body, problem)
        if field:
            assert problem["field"] == field
    await ban(a, admin, "user", f"remote@{home(b)}")
    got, problem = await a.call(
        "POST", "/admin/bans", admin, json={"kind": "user", "target": f"remote@{home(b)}"}
    )
    assert got == 409 and problem["code"] == "already_banned"
    got, problem = await a.call("DELETE", "/admin/bans/nosuchban", admin)
    assert got == 404 and problem["code"] == "not_found"


async def test_ban_routes_are_for_node_admins_only(federation):
    a, b = await federation(2)
    admin, member = await new_admin(a.client), await a.user()
    await named(b, "remote")
    await a.session(b)
    target = {"kind": "user", "target": f"remote@{home(b)}"}
    for user, status in ((None, 401), (member, 403)):
        assert (await a.call("GET", "/admin/bans", user))[0] == status
        assert (await a.call("POST", "/admin/bans", user, json=target))[0] == status
        assert (await a.call("DELETE", "/admin/bans/x", user))[0] == status
    assert (await a.ok("GET", "/admin/bans", admin))["bans"] == []  # nothing got through
    out = await ban(a, admin, "user", target["target"])
    assert (await a.call("DELETE", f"/admin/bans/{out['id']}", member))[0] == 403
    await a.ok("DELETE", f"/admin/bans/{out['id']}", admin)
    audit = (await a.ok("GET", "/admin/audit", admin, params={"limit": "10"}))["entries"]
    added = next(e for e in audit if e["action"] == "node_ban.added")
    removed = next(e for e in audit if e["action"] == "node_ban.removed")
    assert added["actor_id"] == admin.id and added["detail"]["label"] == f"remote@{home(b)}"
    assert added["detail"]["via"] == "api" and added["detail"]["ban_id"] == out["id"]
    assert removed["actor_id"] == admin.id and removed["detail"]["ban_id"] == out["id"]


async def test_cryb_ban_commands_beside_the_serving_node(federation, tmp_path):
    """The README's `cryb ban` examples, with this federation's names."""
    s, _ = await scene(federation)
    a, b = s.a, s.b
    await indexed(a.client)
    res = await cryb(tmp_path, a, "ban", "user", f"spammer@{home(b)}", "--reason", "cli ban", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    # 5 and the post's own upvote
    assert out["label"] == f"spammer@{home(b)}" and out["hidden"] == 6 and out["created_by"] is None
    assert await texts(a, s.text, s.alice) == ["friendly", "hello from a"]
    # the serving node brings its search index up to date by itself (it owns the index)
    deadline = time.monotonic() + 15
    while (await found(a.client, s.alice, WORD))["results"]:
        assert time.monotonic() < deadline, "search still finds the banned user's writing"
        await asyncio.sleep(0.2)
    res = await cryb(tmp_path, a, "ban", "node", b.url, "--reason", "whole node")
    assert res.returncode == 0 and f"banned {b.url}" in res.stdout, res.stderr
    listed = await cryb(tmp_path, a, "ban", "list", "--json")
    bans = json.loads(listed.stdout)
    assert [(x["kind"], x["label"], x["reason"]) for x in bans] == [
        ("node", b.url, "whole node"), ("user", f"spammer@{home(b)}", "cli ban"),
    ]  # fmt: skip
    text = (await cryb(tmp_path, a, "ban", "list")).stdout
    assert f"spammer@{home(b)}" in text and "hidden=" in text
    res = await cryb(tmp_path, a, "ban", "user", "nobody@nowhere")
    assert res.returncode == 1 and "not_found" in res.stderr
    for x in bans:
        res = await cryb(tmp_path, a, "ban", "remove", x["id"])
        assert res.returncode == 0 and f"removed ban {x['id']}" in res.stdout, res.stderr
    assert (await cryb(tmp_path, a, "ban", "list")).stdout.strip() == "no bans"
    assert len(await texts(a, s.text, s.alice)) == 4
    res = await cryb(tmp_path, a, "ban", "remove", bans[0]["id"])
    assert res.returncode == 1 and "no such ban" in res.stderr
    audit = await a.node.db.fetchall(
        "SELECT action, actor_id, detail FROM users_audit WHERE action LIKE 'node_ban.%'"
    )
    assert [r[0] for r in audit] == ["node_ban.added"] * 2 + ["node_ban.removed"] * 2
    assert all(r[1] is None and json.loads(r[2])["via"] == "cli" for r in audit)


async def test_governance_that_lands_late_does_not_undo_a_ban(federation):
    """A join made on c before the spam (in (hlc, id) order) but received after it makes a decide
    the spam again at its place: the rule book allows it, the ban still refuses it."""
    s, feds = await scene(federation, n=3)
    a, b, c = feds
    await ban(a, s.admin, "user", f"spammer@{home(b)}")
    carol = await c.user()
    await c.ok("PUT", f"/communities/{s.cid}/members/@me", carol, json={})  # not sent to a yet
    await b.ok("POST", f"/channels/{s.text}/messages", s.spammer, json={"content": "after the join"})
    await a.session(b)
    await a.session(c)
    members = await a.ok("GET", f"/communities/{s.cid}/members", s.alice)
    assert carol.id in {m["user_id"] for m in members["members"]}  # the join was folded in
    assert await texts(a, s.text, s.alice) == ["friendly", "hello from a"]
    assert await refusals(a) == 7  # the spammer's six (their post's own upvote included) and this one


async def test_doctor_replay_rebuilds_what_the_bans_hide(federation, tmp_path):
    """A replay of the log takes the node's bans along: it projects what the live node shows."""
    s, _ = await scene(federation)
    await ban(s.a, s.admin, "user", f"spammer@{home(s.b)}")
    await s.a.client.close()
    res = await cryb(tmp_path, s.a, "doctor", "--offline", "--replay", "--json")
    checks = {c["check"]: c for c in json.loads(res.stdout)}
    assert checks["replay"]["ok"] and "equal" in checks["replay"]["detail"], checks["replay"]


async def test_dms_a_banned_user_opens_are_refused_and_delivered_once_the_ban_is_removed(federation):
    s, _ = await scene(federation)
    a, b = s.a, s.b
    banned = await ban(a, s.admin, "user", f"spammer@{home(b)}")
    dm = await b.ok("POST", "/dms", s.spammer, json={"recipients": [s.alice.id]})
    await b.ok("POST", f"/channels/{dm['id']}/messages", s.spammer, json={"content": "buy now"})
    friendly = await b.ok("POST", "/dms", s.friend, json={"recipients": [s.alice.id]})
    await b.ok("POST", f"/channels/{friendly['id']}/messages", s.friend, json={"content": "hi alice"})
    await a.session(b)
    listed = {d["id"] for d in (await a.ok("GET", "/dms", s.alice))["channels"]}
    assert listed == {friendly["id"]}  # the banned user's DM never reaches alice; friend's does
    assert await texts(a, friendly["id"], s.alice) == ["hi alice"]
    assert await a.count(
        "SELECT count(*) FROM event_refusals WHERE code = 'node_banned' AND community IS NULL"
    ) == 2  # fmt: skip

    await a.ok("DELETE", f"/admin/bans/{banned['id']}", s.admin)
    listed = {d["id"] for d in (await a.ok("GET", "/dms", s.alice))["channels"]}
    assert listed == {friendly["id"], dm["id"]}
    assert await texts(a, dm["id"], s.alice) == ["buy now"]
