"""A member's own data export (GET/POST /api/v1/users/@me/export): a background job whose ZIP holds
everything they wrote (checked against the database rows), their DMs, and the bytes of their uploads;
only they may download it; it expires, survives a restart, and goes with an erased account."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import sqlite3
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryb_plugins.users import accounts
from cryb_plugins.users.exports import EXPORTER, Exporter
from cryb_plugins.users.service import CLI, USERS

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from cryb_node.clock import Clock
from cryb_node.export import ExportSink
from cryb_node.node import Node
from cryb_node.plugins import Loaded, Plugin
from cryb_node.plugins import load as load_plugins
from tests.conftest import make_config
from tests.content.conftest import API, User, call, new_user, ok
from tests.media.conftest import png_with_alpha, upload_ok
from tests.support.waiting import eventually
from tests.users_fixtures import FAST_HASHING, PASSWORD

EXPORT = "/users/@me/export"


class Gate(Plugin):
    """A plugin whose part of an export waits until the test opens the gate: an export that is
    certainly still running, through the same hook every plugin uses."""

    name = "exportgate"

    def __init__(self, closed: bool = True) -> None:
        self.entered = asyncio.Event()
        self.opened = asyncio.Event()
        if not closed:
            self.opened.set()

    async def export_user(self, node: Node, user_id: str, sink: ExportSink) -> None:
        self.entered.set()
        await self.opened.wait()
        await sink.write_json("gate.json", {"passed": True})


def app_with(data: Path, gate: Gate | None = None, clock: Clock | None = None, **users: Any):
    cfg = make_config(data, plugin={"users": {**FAST_HASHING, **users}}, rate_limits={"enabled": False})
    plugins = load_plugins(cfg)
    if gate is not None:
        plugins.append(Loaded(gate, None, "tests:gate"))
    return build_app(cfg, plugins, clock=clock)


def node_of(client: Any) -> Node:
    return client.app[NODE]


def exporter_of(client: Any) -> Exporter:
    got = node_of(client).services.require(EXPORTER)
    assert got is not None
    return got


async def wait_done(client: Any, user: User) -> dict[str, Any]:
    """The export's status once it is ready or failed."""

    async def finished() -> dict[str, Any] | None:
        status = await ok(client, "GET", EXPORT, user)
        return status if status["state"] in ("ready", "failed") else None

    return await eventually(finished, 30, what="the export to finish")


async def download(client: Any, user: User, status: dict[str, Any]) -> zipfile.ZipFile:
    resp = await client.get(status["download_url"], headers=user.h)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"] == "application/zip"
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="cryb-')
    assert int(resp.headers["Content-Length"]) == status["size"]
    return zipfile.ZipFile(io.BytesIO(await resp.read()))


def read_json(zf: zipfile.ZipFile, name: str) -> Any:
    return json.loads(zf.read(name))


@dataclass
class World:
    client: Any
    member: User
    other: User
    home: str  # community ids
    second: str
    dm: str
    media_id: str
    deleted_message: str
    others_message: str


async def community(c: Any, owner: User, name: str) -> tuple[str, str, str]:
    com = await ok(c, "POST", "/communities", owner, json={"name": name, "public": True})
    chans = await ok(c, "GET", f"/communities/{com['id']}/channels", owner)
    text = next(ch["id"] for ch in chans["channels"] if ch["kind"] == "text")
    forum = await ok(
        c, "POST", f"/communities/{com['id']}/channels", owner, json={"name": "forum", "kind": "forum"}
    )
    return com["id"], text, forum["id"]


async def build_world(c: Any) -> World:
    member, other = await new_user(c), await new_user(c)
    home, home_text, home_forum = await community(c, other, "home base")
    second, second_text, _ = await community(c, other, "second place")
    for cid in (home, second):
        await ok(c, "PUT", f"/communities/{cid}/members/@me", member, json={})
    media = await upload_ok(c, member.token, png_with_alpha(40, 30), filename="me.png")
    send = "/channels/{}/messages"
    await ok(
        c,
        "POST",
        send.format(home_text),
        member,
        json={"content": "hello home", "attachments": [media["id"]]},
    )
    await ok(c, "POST", send.format(second_text), member, json={"content": "hello second"})
    edited = await ok(c, "POST", send.format(second_text), member, json={"content": "first words"})
    await ok(
        c,
        "PATCH",
        f"/channels/{second_text}/messages/{edited['id']}",
        member,
        json={"content": "better words"},
    )
    gone = await ok(c, "POST", send.format(home_text), member, json={"content": "regret this"})
    await ok(c, "DELETE", f"/channels/{home_text}/messages/{gone['id']}", member)
    theirs = await ok(c, "POST", send.format(home_text), other, json={"content": "not yours"})
    await ok(c, "PUT", f"/messages/{theirs['id']}/reactions/👍", member)
    post = await ok(
        c, "POST", f"/channels/{home_forum}/posts", member, json={"title": "my post", "body": "words"}
    )
    their_post = await ok(c, "POST", f"/channels/{home_forum}/posts", other, json={"title": "their post"})
    top = await ok(c, "POST", f"/posts/{their_post['id']}/comments", member, json={"body": "nice"})
    await ok(c, "POST", f"/posts/{post['id']}/comments", other, json={"body": "thanks for posting"})
    await ok(
        c,
        "POST",
        f"/posts/{their_post['id']}/comments",
        member,
        json={"body": "me again", "parent_id": top["id"]},
    )
    await ok(c, "PATCH", "/notifications/preferences", member, json={"email_digest": "daily"})
    await ok(c, "PUT", f"/notifications/preferences/communities/{second}", member, json={"level": "mentions"})
    dm = await ok(c, "POST", "/dms", member, json={"recipients": [other.id]})
    await ok(c, "POST", send.format(dm["id"]), member, json={"content": "psst"})
    await ok(c, "POST", send.format(dm["id"]), other, json={"content": "what?"})
    await ok(c, "POST", send.format(dm["id"]), member, json={"content": "never mind"})
    return World(c, member, other, home, second, dm["id"], media["id"], gone["id"], theirs["id"])


@pytest.fixture
async def world(aiohttp_client, tmp_path, clock) -> World:
    return await build_world(await aiohttp_client(app_with(tmp_path / "data", clock=clock)))


async def rows(client: Any, sql: str, *params: Any) -> list[Any]:
    return await node_of(client).db.fetchall(sql, params)


async def test_the_export_holds_every_message_post_comment_dm_and_upload_checked_against_the_database(world):
    c, me = world.client, world.member
    status, body = await call(c, "GET", EXPORT, me)
    assert status == 404 and body["code"] == "not_found"

    resp = await c.post(API + EXPORT, headers=me.h)
    started = await resp.json()
    assert (
        resp.status == 202 and started["state"] in ("queued", "running") and started["download_url"] is None
    )
    done = await wait_done(c, me)
    assert done["state"] == "ready" and done["id"] == started["id"] and done["progress"] == 1.0
    assert done["download_url"] == f"/api/v1/users/@me/export/{done['id']}/download"
    assert done["expires_at"] - done["finished_at"] == 7 * 86_400
    zf = await download(c, me, done)
    names = set(zf.namelist())
    expected = {"README.txt", "account.json", "relationships.json", "people.json", "communities.json"}
    expected |= {"messages.json", "posts.json", "comments.json", "dms.json", "reactions.json", "media.json"}
    expected |= {"notification_settings.json"}
    assert expected <= names, names

    # Channel messages: exactly the member's undeleted rows, with their text and places' names.
    messages = read_json(zf, "messages.json")
    db_messages = await rows(
        c,
        "SELECT id, content FROM content_messages WHERE author_id = ? AND community_id IS NOT NULL"
        " AND deleted = 0",
        me.id,
    )
    assert {(m["id"], m["content"]) for m in messages} == {(r[0], r[1]) for r in db_messages}
    assert sorted(m["content"] for m in messages) == ["better words", "hello home", "hello second"]
    assert {m["community_name"] for m in messages} == {"home base", "second place"}
    assert {m["channel_name"] for m in messages} == {"general"}
    edited = next(m for m in messages if m["content"] == "better words")
    assert edited["original_content"] == "first words" and edited["edited_at"] is not None
    with_file = next(m for m in messages if m["content"] == "hello home")
    assert with_file["attachments"] == [world.media_id]
    # Erased: the deleted message and its text are nowhere in the ZIP; others' messages are not theirs.
    everything = b"".join(zf.read(n) for n in names)
    assert world.deleted_message.encode() not in everything and b"regret this" not in everything
    assert world.others_message not in {m["id"] for m in messages}

    posts = read_json(zf, "posts.json")
    db_posts = await rows(c, "SELECT id, title, body FROM content_posts WHERE author_id = ?", me.id)
    assert [(p["id"], p["title"], p["body"]) for p in posts] == [tuple(r) for r in db_posts]
    assert posts[0]["community_name"] == "home base" and posts[0]["channel_name"] == "forum"

    comments = read_json(zf, "comments.json")
    db_comments = await rows(
        c, "SELECT id, body, post_id, parent_id FROM content_comments WHERE author_id = ?", me.id
    )
    assert {(x["id"], x["body"], x["post_id"], x["parent_id"]) for x in comments} == {
        tuple(r) for r in db_comments
    }
    assert len(comments) == 2 and "thanks for posting" not in {x["body"] for x in comments}

    # DMs: the conversation with both sides' messages, in order.
    dms = read_json(zf, "dms.json")
    assert [d["id"] for d in dms] == [world.dm]
    assert dms[0]["participants"] == sorted([me.id, world.other.id])
    db_dm = await rows(
        c, "SELECT id, author_id, content FROM content_messages WHERE channel_id = ? ORDER BY hlc", world.dm
    )
    assert [(m["id"], m["author_id"], m["content"]) for m in dms[0]["messages"]] == [tuple(r) for r in db_dm]
    assert [m["content"] for m in dms[0]["messages"]] == ["psst", "what?", "never mind"]

    reactions = read_json(zf, "reactions.json")
    assert [(r["target_type"], r["target_id"], r["emoji"]) for r in reactions] == [
        ("message", world.others_message, "👍")
    ]

    # Uploads: the stored original's bytes, byte for byte.
    media = read_json(zf, "media.json")
    db_media = await rows(
        c,
        "SELECT m.id, v.sha256 FROM media m JOIN media_variants v ON v.media_id = m.id"
        " AND v.name = 'original' WHERE m.owner_id = ?",
        me.id,
    )
    assert [(x["id"], x["sha256"]) for x in media] == [tuple(r) for r in db_media]
    entry = media[0]
    assert entry["filename"] == "me.png" and entry["file"] == f"uploads/{world.media_id}.png"
    data = zf.read(entry["file"])
    sha = db_media[0][1]
    stored = node_of(c).data_dir / "media" / "blobs" / sha[:2] / sha[2:4] / sha
    assert hashlib.sha256(data).hexdigest() == sha == hashlib.sha256(stored.read_bytes()).hexdigest()

    account = read_json(zf, "account.json")
    email = (await rows(c, "SELECT username FROM users_accounts WHERE id = ?", me.id))[0][0] + "@example.test"
    assert account["account"]["id"] == me.id and account["account"]["email"] == email
    assert account["sessions"] and "export.requested" in {e["action"] for e in account["security_log"]}
    people = read_json(zf, "people.json")
    other_name = (await rows(c, "SELECT username FROM users_accounts WHERE id = ?", world.other.id))[0][0]
    assert [(p["id"], p["username"]) for p in people] == [(world.other.id, other_name)]
    memberships = read_json(zf, "communities.json")["memberships"]
    assert {m["community_id"] for m in memberships} == {world.home, world.second}
    settings = read_json(zf, "notification_settings.json")
    assert settings["account"]["email_digest"] == "daily"
    assert settings["overrides"] == [
        {
            "scope": "community",
            "scope_id": world.second,
            "settings": {"level": "mentions", "muted_until": None},
        }
    ]
    readme = zf.read("README.txt").decode()
    assert "dms.json" in readme and "your own correspondence" in readme and "uploads/" in readme


async def test_only_the_owner_may_download_and_anonymous_callers_are_refused(world):
    c, me = world.client, world.member
    await ok(c, "POST", EXPORT, me)
    done = await wait_done(c, me)
    url = done["download_url"]
    assert (await c.get(url, headers=world.other.h)).status == 404
    # A node admin gets the same 404: the ZIP holds the member's DMs.
    admin = await new_user(c)
    await accounts.promote(node_of(c).services.require(USERS), admin.id, CLI)
    resp = await c.get(url, headers=admin.h)
    assert resp.status == 404 and (await resp.json())["code"] == "not_found"
    for method, path in (("POST", API + EXPORT), ("GET", API + EXPORT), ("GET", url)):
        assert (await c.request(method, path)).status == 401, (method, path)
    # The other user's own status is theirs alone: they have none.
    assert (await call(c, "GET", EXPORT, world.other))[0] == 404
    unknown = url.replace(done["id"], "01m8zzzzzzzzzzzzzzzzzzzzzz")
    assert (await c.get(unknown, headers=me.h)).status == 404
    downloads = "SELECT count(*) FROM users_audit WHERE user_id = ? AND action = 'export.downloaded'"
    assert (await rows(c, downloads, me.id))[0][0] == 0  # the refused attempts downloaded nothing
    assert (await c.get(url, headers=me.h)).status == 200
    assert (await rows(c, downloads, me.id))[0][0] == 1


async def test_a_second_request_while_one_runs_returns_it_and_progress_shows(aiohttp_client, tmp_path):
    gate = Gate()
    c = await aiohttp_client(app_with(tmp_path / "data", gate))
    world = await build_world(c)
    me = world.member
    first = await ok(c, "POST", EXPORT, me)
    await asyncio.wait_for(gate.entered.wait(), 10)
    resp = await c.post(API + EXPORT, headers=me.h)
    again = await resp.json()
    assert resp.status == 200 and again["id"] == first["id"] and again["state"] == "running"

    # Every built-in part is written before the gate (the last plugin): progress says so.
    async def at_the_gate() -> dict | None:
        status = await ok(c, "GET", EXPORT, me)
        return status if status["step"] == "exportgate" else None

    status = await eventually(at_the_gate, 5)
    assert status["state"] == "running" and status["step"] == "exportgate"
    assert 0.5 < status["progress"] < 1 and status["items"] >= 12 and status["download_url"] is None
    # Its download is not there yet.
    resp = await c.get(f"{API}/users/@me/export/{first['id']}/download", headers=me.h)
    assert resp.status == 409 and (await resp.json())["code"] == "export_not_ready"
    gate.opened.set()
    done = await wait_done(c, me)
    zf = await download(c, me, done)
    assert read_json(zf, "gate.json") == {"passed": True}


async def test_asking_again_soon_after_an_export_is_refused_with_retry_after(world, clock):
    c, me = world.client, world.member
    await ok(c, "POST", EXPORT, me)
    await wait_done(c, me)
    resp = await c.post(API + EXPORT, headers=me.h)
    body = await resp.json()
    assert resp.status == 429 and body["code"] == "export_too_soon"
    assert 0 < int(resp.headers["Retry-After"]) <= 600
    # Later (the node's clock moved on) a new one is prepared.
    clock.advance(601)
    resp = await c.post(API + EXPORT, headers=me.h)
    assert resp.status == 202
    assert (await wait_done(c, me))["state"] == "ready"


async def test_the_scheduled_job_deletes_expired_exports(aiohttp_client, tmp_path, clock):
    # Kept an hour, and access tokens that outlive it: the node's clock is moved past that hour.
    app = app_with(tmp_path / "data", clock=clock, export_ttl_s=3600, access_ttl_s=86_400)
    world = await build_world(await aiohttp_client(app))
    c, me = world.client, world.member
    exporter = exporter_of(c)
    await ok(c, "POST", EXPORT, me)
    done = await wait_done(c, me)
    path = exporter.path(done["id"])
    assert path.is_file()
    job = next(j for j in node_of(c).plugins[0].plugin.jobs(node_of(c)) if j.name == "users.exports-expire")
    await job.func()  # not yet due: nothing goes
    assert path.is_file() and (await c.get(done["download_url"], headers=me.h)).status == 200
    clock.advance(3601)
    await job.func()
    assert not path.exists()
    status = await ok(c, "GET", EXPORT, me)
    assert status["state"] == "expired" and status["download_url"] is None
    resp = await c.get(done["download_url"], headers=me.h)
    assert resp.status == 410 and (await resp.json())["code"] == "export_expired"
    # A stray file (a build cut short) is swept too.
    stray = exporter.dir / "01m8zzzzzzzzzzzzzzzzzzzzzz.zip.part"
    stray.write_bytes(b"half")
    await job.func()
    assert not stray.exists()


async def test_an_export_cut_short_by_a_restart_runs_again_and_gives_up_after_three_tries(
    aiohttp_client, tmp_path
):
    data = tmp_path / "data"
    gate = Gate()
    c = await aiohttp_client(app_with(data, gate))
    world = await build_world(c)
    me, other = world.member, world.other
    first = await ok(c, "POST", EXPORT, me)
    await asyncio.wait_for(gate.entered.wait(), 10)
    await c.close()  # the node stops while the export runs: it goes back to the queue
    db = sqlite3.connect(data / "cryb.db")
    assert db.execute("SELECT state, attempts FROM users_exports").fetchall() == [("queued", 0)]
    assert list((data / "exports").iterdir()) == []
    # A crash mid-run (state left 'running', a partial file) and an export that crashed three times.
    stuck = "01m8zzzzzzzzzzzzzzzzzzzzzy"
    with db:
        db.execute("UPDATE users_exports SET state = 'running', attempts = 1")
        db.execute(
            "INSERT INTO users_exports (id, user_id, state, attempts, created_at)"
            " VALUES (?, ?, 'running', 3, ?)",
            (stuck, other.id, int(time.time())),
        )
    db.close()
    (data / "exports" / f"{first['id']}.zip.part").write_bytes(b"half a zip")

    c2 = await aiohttp_client(app_with(data, Gate(closed=False)))
    done = await wait_done(c2, me)
    assert done["id"] == first["id"] and done["state"] == "ready"
    zf = await download(c2, me, done)
    assert zf.testzip() is None and "messages.json" in zf.namelist()
    failed = await ok(c2, "GET", EXPORT, other)
    assert failed["id"] == stuck and failed["state"] == "failed" and "stopped" in failed["error"]
    # Failed is not "too soon": they may ask again at once.
    assert (await c2.post(API + EXPORT, headers=other.h)).status == 202


async def test_erasing_the_account_deletes_its_exports(world):
    c, me = world.client, world.member
    await ok(c, "POST", EXPORT, me)
    done = await wait_done(c, me)
    path = exporter_of(c).path(done["id"])
    assert path.is_file()
    assert (await c.delete(API + "/users/@me", json={"password": PASSWORD}, headers=me.h)).status == 204

    async def erased() -> bool:  # the file, then the row
        assert not path.exists()
        assert await rows(c, "SELECT id FROM users_exports WHERE user_id = ?", me.id) == []
        return True

    await eventually(erased, 10)


async def test_erasing_the_account_while_its_export_runs_stops_it_and_leaves_nothing(
    aiohttp_client, tmp_path
):
    gate = Gate()
    c = await aiohttp_client(app_with(tmp_path / "data", gate))
    world = await build_world(c)
    me = world.member
    await ok(c, "POST", EXPORT, me)
    await asyncio.wait_for(gate.entered.wait(), 10)
    exporter = exporter_of(c)
    assert [p.name.endswith(".zip.part") for p in exporter.dir.iterdir()] == [True]
    assert (await c.delete(API + "/users/@me", json={"password": PASSWORD}, headers=me.h)).status == 204

    async def nothing_left() -> bool:  # the runner stops the export, then removes file and row
        assert list(exporter.dir.iterdir()) == []
        assert await rows(c, "SELECT id FROM users_exports WHERE user_id = ?", me.id) == []
        return True

    await eventually(nothing_left, 10)
    # The runner goes on with the next member's export.
    gate.opened.set()
    await ok(c, "POST", EXPORT, world.other)
    assert (await wait_done(c, world.other))["state"] == "ready"
