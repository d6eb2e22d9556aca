"""Issue 20, the admin console's media part: node admins list uploads, take them down by id or by
sha256 (served 404 with every variant and signed URL, stored files deleted, the bytes and every file
made from them refused at upload with `media_blocked`), and keep a sha256 block list. Every action
is audited; every route is refused to members (403) and to anonymous callers (401)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

import pytest
from cryb_plugins.media import queries
from cryb_plugins.users.service import CLI, USERS

from cryb_node.appkeys import NODE
from tests.support.waiting import eventually
from tests.users_fixtures import PASSWORD, auth, register_user

from .conftest import jpeg_with_gps, mp3_like, path_of, service, upload, upload_ok

REASON = "copyright notice 2024-17"


async def make_admin(client, name: str = "nodeadmin") -> tuple[str, str]:
    """A node admin made the way `cryb user create --admin` does, signed in over HTTP."""
    users = client.app[NODE].services.require(USERS)
    user_id, _ = await users.create_account(
        name, f"{name}@example.test", PASSWORD, client=CLI, admin=True, session=False
    )
    resp = await client.post("/api/v1/auth/login", json={"login": name, "password": PASSWORD})
    return user_id, (await resp.json())["access_token"]


def blob_files(client) -> set[str]:
    return {p.name for p in (service(client).root / "blobs").rglob("*") if p.is_file()}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def url_of(media: dict, name: str = "original") -> str:
    return next(v["url"] for v in media["variants"] if v["name"] == name)


async def fetch(client, url: str, token: str | None = None) -> tuple[int, bytes]:
    resp = await client.get(path_of(url), headers=auth(token) if token else {})
    return resp.status, await resp.read()


async def rows(client, sql: str, *params: Any) -> list[tuple]:
    return [tuple(r) for r in await client.app[NODE].db.fetchall(sql, params)]


async def call(client, method: str, path: str, token: str | None, body: Any = None) -> tuple[int, Any]:
    resp = await client.request(method, path, headers=auth(token) if token else {}, json=body)
    text = await resp.text()
    return resp.status, (json.loads(text) if text else None)


async def refused(client, token: str, data: bytes) -> dict:
    resp = await upload(client, token, data, filename="again.jpg")
    problem = await resp.json()
    assert resp.status == 422, problem
    return problem


async def variant_shas(client, media: dict) -> set[str]:
    return {
        r[0] for r in await rows(client, "SELECT sha256 FROM media_variants WHERE media_id = ?", media["id"])
    }


@dataclass
class Scene:
    client: Any
    admin_id: str
    admin: str
    alice_id: str
    alice: str
    bob_id: str
    bob: str
    photo: bytes
    mine: dict  # alice's upload of the photo
    his: dict  # bob's upload of the same bytes, his avatar
    song: dict  # alice's other upload
    cleaned: bytes  # the photo as the node serves it (what a browser saves)
    files: set[str]  # blob files before the take-down
    variants: set[str]  # hashes of the photo's stored files


@pytest.fixture
async def scene(client) -> Scene:
    admin_id, admin = await make_admin(client)
    alice_id, alice = await register_user(client)
    bob_id, bob = await register_user(client)
    photo = jpeg_with_gps(400, 240, orientation=1)
    mine = await upload_ok(client, alice, photo, filename="holiday.jpg")
    his = await upload_ok(client, bob, photo, filename="me.jpg")
    assert (await call(client, "PATCH", "/api/v1/users/@me", bob, {"avatar": his["id"]}))[0] == 200
    song = await upload_ok(client, alice, mp3_like(3000), filename="song.mp3")
    status, cleaned = await fetch(client, url_of(mine), alice)
    assert status == 200 and sha(cleaned) != sha(photo)  # re-encoded: other bytes than uploaded
    variants = await variant_shas(client, mine)
    assert {"original", "webp", "thumb_160"} <= {v["name"] for v in mine["variants"]}
    assert variants == await variant_shas(client, his)  # the same bytes are stored once
    files = blob_files(client)
    assert files == variants | await variant_shas(client, song)
    return Scene(client, admin_id, admin, alice_id, alice, bob_id, bob, photo, mine, his, song, cleaned,
                 files, variants)  # fmt: skip


async def take_down(s: Scene, media_id: str) -> dict:
    status, out = await call(
        s.client, "POST", f"/api/v1/admin/media/{media_id}/takedown", s.admin, {"reason": REASON}
    )
    assert status == 200, out
    return out


async def test_take_down_by_id_takes_every_upload_of_the_bytes_and_deletes_their_files(scene):
    s = scene
    out = await take_down(s, s.mine["id"])
    assert out["sha256"] == sha(s.photo)
    assert sorted(out["media_ids"]) == sorted([s.mine["id"], s.his["id"]]) and out["remote_ids"] == []
    assert set(out["blocked"]) == {sha(s.photo)} | s.variants
    assert (out["blobs_deleted"], out["blobs_pending"]) == (len(s.variants), 0)
    assert blob_files(s.client) == s.files - s.variants == await variant_shas(s.client, s.song)
    assert await rows(s.client, "SELECT count(*) FROM media_blobs WHERE sha256 IN (SELECT sha256 FROM"
                      " media_blocklist)") == [(0,)]  # fmt: skip


async def test_taken_down_media_answers_404_everywhere_for_everyone(scene):
    s = scene
    await take_down(s, s.his["id"])  # by bob's copy: alice's goes too
    for v in s.mine["variants"] + s.his["variants"]:  # signed URLs (alice's is private until attached)
        assert (await fetch(s.client, v["url"], s.alice))[0] == 404, v["name"]
    for who in (s.alice, s.bob, s.admin, None):
        for m in (s.mine, s.his):
            assert (await call(s.client, "GET", f"/api/v1/media/{m['id']}", who))[0] == 404
    # Nothing attaches it again, and its owner cannot delete it (it is gone already).
    assert (await call(s.client, "PATCH", "/api/v1/users/@me", s.alice, {"avatar": s.mine["id"]}))[0] == 400
    assert (await call(s.client, "DELETE", f"/api/v1/media/{s.mine['id']}", s.alice))[0] == 404
    # The other upload is untouched.
    assert (await fetch(s.client, url_of(s.song), s.alice))[0] == 200


async def test_the_same_bytes_are_refused_at_upload_and_other_bytes_accepted(scene):
    s = scene
    await take_down(s, s.mine["id"])
    for who, data in ((s.alice, s.photo), (s.bob, s.photo), (s.alice, s.cleaned)):
        problem = await refused(s.client, who, data)
        assert problem["code"] == "media_blocked" and problem["field"] == "file"
        assert REASON not in json.dumps(problem)  # the admins' reason stays with the admins
    assert await rows(s.client, "SELECT count(*) FROM media WHERE source_sha256 = ?", sha(s.cleaned)) == [
        (0,)
    ]
    fresh = await upload_ok(s.client, s.alice, jpeg_with_gps(300, 200, orientation=1))
    assert (await fetch(s.client, url_of(fresh), s.alice))[0] == 200


async def test_a_take_down_is_recorded_blocked_and_audited(scene):
    s = scene
    await take_down(s, s.mine["id"])
    taken = await rows(s.client, "SELECT media_id, sha256, reason, actor_id, remote FROM media_takedowns")
    assert sorted(taken) == sorted(
        [(m, sha(s.photo), REASON, s.admin_id, 0) for m in (s.mine["id"], s.his["id"])]
    )
    blocked = await rows(
        s.client, "SELECT sha256, reason, actor_id, media_id, derived_from FROM media_blocklist"
    )
    assert sorted(blocked) == sorted(
        [(sha(s.photo), REASON, s.admin_id, s.mine["id"], None)]
        + [(v, REASON, s.admin_id, s.mine["id"], sha(s.photo)) for v in s.variants]
    )
    # One audit entry per owner, the admin as the actor, found through the audit API by user.
    audit = await rows(
        s.client, "SELECT user_id, actor_id, detail FROM users_audit WHERE action = 'media.takedown'"
    )
    assert sorted(a[0] for a in audit) == sorted([s.alice_id, s.bob_id]) and {a[1] for a in audit} == {
        s.admin_id
    }
    detail = json.loads(audit[0][2])
    assert (detail["reason"], detail["sha256"], detail["via"]) == (REASON, sha(s.photo), "api")
    path = f"/api/v1/admin/audit?action=media.takedown&user_id={s.bob_id}"
    status, page = await call(s.client, "GET", path, s.admin)
    assert status == 200 and [e["actor_id"] for e in page["entries"]] == [s.admin_id]
    # The admin's list still shows what it was, marked; its size no longer counts for the quota.
    status, page = await call(s.client, "GET", f"/api/v1/admin/media?user_id={s.alice_id}", s.admin)
    item = next(i for i in page["items"] if i["id"] == s.mine["id"])
    assert item["taken_down"] == {"at": item["taken_down"]["at"], "reason": REASON, "actor_id": s.admin_id,
                                  "sha256": sha(s.photo)}  # fmt: skip
    assert item["thumbnail_url"] is None and item["filename"] == "holiday.jpg"
    assert await s.client.app[NODE].db.fetchval(queries.USAGE, (s.alice_id,)) == len(mp3_like(3000))


async def test_taking_down_taken_down_media_again_is_a_conflict(scene):
    s = scene
    await take_down(s, s.mine["id"])
    status, problem = await call(s.client, "POST", f"/api/v1/admin/media/{s.his['id']}/takedown", s.admin,
                                 {"reason": "again"})  # fmt: skip
    assert status == 409 and problem["code"] == "already_taken_down"
    assert await rows(s.client, "SELECT count(*) FROM users_audit WHERE action = 'media.takedown'") == [(2,)]


async def test_unblocking_lets_the_same_bytes_be_uploaded_anew(scene):
    s = scene
    await take_down(s, s.mine["id"])
    status, _ = await call(s.client, "DELETE", f"/api/v1/admin/media/blocklist/{sha(s.photo)}", s.admin)
    assert status == 204
    assert await rows(s.client, "SELECT sha256 FROM media_blocklist") == []  # the derived hashes too
    back = await upload_ok(s.client, s.alice, s.photo)
    assert back["id"] != s.mine["id"]
    for v in back["variants"]:
        assert (await fetch(s.client, v["url"], s.alice))[0] == 200, v["name"]
    assert await upload_ok(s.client, s.bob, s.cleaned)
    # What was taken down stays taken down.
    assert (await fetch(s.client, url_of(s.mine), s.alice))[0] == 404
    assert (await call(s.client, "GET", f"/api/v1/media/{s.his['id']}", s.bob))[0] == 404
    unblocked = await rows(
        s.client, "SELECT actor_id, detail FROM users_audit WHERE action = 'media.unblock'"
    )
    assert unblocked[0][0] == s.admin_id and json.loads(unblocked[0][1])["sha256"] == sha(s.photo)
    status, problem = await call(s.client, "DELETE", f"/api/v1/admin/media/blocklist/{sha(s.photo)}", s.admin)
    assert status == 404 and problem["code"] == "not_found"


async def test_take_down_by_sha256_takes_every_upload_and_a_deleted_uploads_leftover_file(client):
    admin_id, admin = await make_admin(client)
    alice_id, alice = await register_user(client)
    _, bob = await register_user(client)
    song = mp3_like(4000)  # audio is stored as uploaded: its one file has the upload's hash
    a = await upload_ok(client, alice, song)
    b = await upload_ok(client, bob, song)
    gone = await upload_ok(client, alice, mp3_like(4100))
    assert (await call(client, "DELETE", f"/api/v1/media/{gone['id']}", alice))[0] == 204
    assert sha(mp3_like(4100)) in blob_files(client)  # left for the cleanup job's grace period
    await upload_ok(client, alice, mp3_like(4200))

    status, out = await call(client, "POST", "/api/v1/admin/media/takedown", admin,
                             {"sha256": sha(song), "reason": REASON})  # fmt: skip
    assert status == 200, out
    assert sorted(out["media_ids"]) == sorted([a["id"], b["id"]]) and out["blocked"] == [sha(song)]
    assert out["blobs_deleted"] == 1 and blob_files(client) == {sha(mp3_like(4100)), sha(mp3_like(4200))}
    assert (await fetch(client, url_of(a), alice))[0] == 404
    assert (await refused(client, bob, song))["code"] == "media_blocked"

    # The leftover of a deleted upload goes at once when its bytes are taken down.
    status, out = await call(client, "POST", "/api/v1/admin/media/takedown", admin,
                             {"sha256": sha(mp3_like(4100)), "reason": "spam"})  # fmt: skip
    assert status == 200 and (out["media_ids"], out["blobs_deleted"]) == ([], 1)
    assert blob_files(client) == {sha(mp3_like(4200))}
    # Bytes never seen here are just blocked.
    never = mp3_like(4300)
    status, out = await call(client, "POST", "/api/v1/admin/media/takedown", admin,
                             {"sha256": sha(never), "reason": "known abuse file"})  # fmt: skip
    assert status == 200 and (out["media_ids"], out["blocked"], out["blobs_deleted"]) == ([], [sha(never)], 0)
    assert (await refused(client, alice, never))["code"] == "media_blocked"
    audited = await rows(client, "SELECT user_id, actor_id FROM users_audit WHERE action = 'media.takedown'")
    assert len(audited) == 4 and {r[1] for r in audited} == {admin_id}  # alice, bob; then two with no owner
    assert sorted(r[0] or "" for r in audited) == sorted(["", "", alice_id, (await me(client, bob))])


async def me(client, token: str) -> str:
    return (await call(client, "GET", "/api/v1/users/@me", token))[1]["id"]


async def test_a_block_refuses_new_uploads_and_names_the_uploads_that_have_the_bytes(client):
    admin_id, admin = await make_admin(client)
    _, alice = await register_user(client)
    song = mp3_like(5000)
    had = await upload_ok(client, alice, song)
    status, out = await call(client, "POST", "/api/v1/admin/media/blocklist", admin,
                             {"sha256": sha(song), "reason": "reported"})  # fmt: skip
    assert status == 201, out
    assert out["matches"] == [had["id"]]
    entry = {"sha256": sha(song), "reason": "reported", "actor_id": admin_id, "media_id": None, "derived": 0}
    assert out["entry"] == entry | {"created_at": out["entry"]["created_at"]}
    assert (await refused(client, alice, song))["code"] == "media_blocked"
    assert (await fetch(client, url_of(had), alice))[0] == 200  # until taken down
    status, problem = await call(client, "POST", "/api/v1/admin/media/blocklist", admin,
                                 {"sha256": sha(song), "reason": "again"})  # fmt: skip
    assert status == 409 and problem["code"] == "already_blocked"
    status, page = await call(client, "GET", "/api/v1/admin/media/blocklist", admin)
    assert (
        status == 200 and [e["sha256"] for e in page["entries"]] == [sha(song)] and page["next_after"] is None
    )
    assert await rows(client, "SELECT actor_id, detail FROM users_audit WHERE action = 'media.block'") == [
        (
            admin_id,
            json.dumps({"sha256": sha(song), "reason": "reported", "via": "api"}, separators=(",", ":")),
        )
    ]


async def test_the_block_list_pages_newest_first_and_shows_derived_counts(scene):
    s = scene
    await take_down(s, s.mine["id"])
    for i in range(3):
        data = mp3_like(6000 + i)
        assert (await call(s.client, "POST", "/api/v1/admin/media/blocklist", s.admin,
                           {"sha256": sha(data), "reason": f"r{i}"}))[0] == 201  # fmt: skip
    _, first = await call(s.client, "GET", "/api/v1/admin/media/blocklist?limit=2", s.admin)
    assert [e["reason"] for e in first["entries"]] == ["r2", "r1"] and first["next_after"]
    after = first["next_after"]
    _, rest = await call(s.client, "GET", f"/api/v1/admin/media/blocklist?limit=2&after={after}", s.admin)
    assert [e["reason"] for e in rest["entries"]] == ["r0", REASON]
    assert rest["entries"][1]["derived"] == len(s.variants) and rest["entries"][1]["media_id"] == s.mine["id"]


async def test_the_admin_list_is_newest_first_by_user_with_where_each_is_attached(scene):
    s = scene
    await s.client.app[NODE].bus.consumers["media.attached"].caught_up()
    status, page = await call(s.client, "GET", "/api/v1/admin/media", s.admin)
    assert status == 200 and [i["id"] for i in page["items"]] == [s.song["id"], s.his["id"], s.mine["id"]]
    song = page["items"][0]
    assert song | {"created_at": 0, "thumbnail_url": None} == {
        "id": s.song["id"], "owner_id": s.alice_id, "kind": "audio", "mime": "audio/mpeg", "size": 3000,
        "filename": "song.mp3", "sha256": sha(mp3_like(3000)), "created_at": 0, "channel_id": None,
        "channel_name": None, "community_name": None, "attached": False, "attached_to": [],
        "thumbnail_url": None, "taken_down": None,
    }  # fmt: skip
    assert song["created_at"] == s.song["created_at"] and song["thumbnail_url"] is None  # audio: no preview
    avatar = page["items"][1]
    assert (avatar["attached"], avatar["attached_to"], avatar["channel_id"]) == (True, [s.bob_id], None)
    # The preview is a short-lived signed URL of the smallest thumbnail, fetchable by the admin's page.
    preview = page["items"][2]["thumbnail_url"]
    assert "/thumb_160?exp=" in preview and (await fetch(s.client, preview))[0] == 200
    # By user, and in pages.
    status, page = await call(s.client, "GET", f"/api/v1/admin/media?user_id={s.alice_id}&limit=1", s.admin)
    assert [i["id"] for i in page["items"]] == [s.song["id"]] and page["next_after"] == s.song["id"]
    status, page = await call(s.client, "GET", f"/api/v1/admin/media?user_id={s.alice_id}&limit=1"
                              f"&after={page['next_after']}", s.admin)  # fmt: skip
    assert [i["id"] for i in page["items"]] == [s.mine["id"]]
    # By bytes: the uploaded ones, or those of any stored file made from them.
    for h in (sha(s.photo), sha(s.cleaned)):
        status, page = await call(s.client, "GET", f"/api/v1/admin/media?sha256={h}", s.admin)
        assert [i["id"] for i in page["items"]] == [s.his["id"], s.mine["id"]]


ROUTES = [
    ("GET", "/api/v1/admin/media", None),
    ("POST", "/api/v1/admin/media/{id}/takedown", {"reason": "r"}),
    ("POST", "/api/v1/admin/media/takedown", {"sha256": "a" * 64, "reason": "r"}),
    ("GET", "/api/v1/admin/media/blocklist", None),
    ("POST", "/api/v1/admin/media/blocklist", {"sha256": "a" * 64, "reason": "r"}),
    ("DELETE", "/api/v1/admin/media/blocklist/" + "a" * 64, None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_every_admin_media_route_refuses_members_and_anonymous_callers(client, method, path, body):
    _, member = await register_user(client)
    media = await upload_ok(client, member, mp3_like(2000))
    path = path.replace("{id}", media["id"])
    assert (await call(client, method, path, member, body))[0] == 403
    assert (await call(client, method, path, None, body))[0] == 401
    # A demoted admin's token still claims admin until it expires; the account is re-read.
    admin_id, admin = await make_admin(client)
    await client.app[NODE].db.write(lambda c: c.execute("UPDATE users_accounts SET admin = 0 WHERE id = ?",
                                                        (admin_id,)))  # fmt: skip
    assert (await call(client, method, path, admin, body))[0] == 403
    # Nothing happened.
    assert (await fetch(client, url_of(media), member))[0] == 200
    assert await rows(client, "SELECT count(*) FROM media_blocklist") == [(0,)]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("GET", "/api/v1/admin/media?sha256=XYZ", None, 400, "sha256"),
        ("GET", "/api/v1/admin/media?limit=0", None, 400, "limit"),
        ("GET", "/api/v1/admin/media?limit=201", None, 400, "limit"),
        ("GET", "/api/v1/admin/media?colour=red", None, 400, "colour"),
        ("POST", "/api/v1/admin/media/{id}/takedown", {}, 400, "reason"),
        ("POST", "/api/v1/admin/media/{id}/takedown", {"reason": ""}, 400, "reason"),
        ("POST", "/api/v1/admin/media/{id}/takedown", {"reason": "x" * 501}, 400, "reason"),
        ("POST", "/api/v1/admin/media/01m8zzzzzzzzzzzzzzzzzzzzzz/takedown", {"reason": "r"}, 404, None),
        ("POST", "/api/v1/admin/media/takedown", {"reason": "r"}, 400, "sha256"),
        ("POST", "/api/v1/admin/media/takedown", {"sha256": "A" * 64, "reason": "r"}, 400, "sha256"),
        ("POST", "/api/v1/admin/media/takedown", {"sha256": "a" * 63, "reason": "r"}, 400, "sha256"),
        ("POST", "/api/v1/admin/media/blocklist", {"sha256": "a" * 64}, 400, "reason"),
        ("GET", "/api/v1/admin/media/blocklist?after=nope", None, 400, "after"),
        ("DELETE", "/api/v1/admin/media/blocklist/nothex", None, 400, "sha256"),
        ("DELETE", "/api/v1/admin/media/blocklist/" + "b" * 64, None, 404, None),
    ],
)
async def test_bad_input_is_refused_with_the_field_and_unknown_targets_are_404(
    client, method, path, body, status, field
):
    _, admin = await make_admin(client)
    _, member = await register_user(client)
    media = await upload_ok(client, member, mp3_like(2000))
    got, problem = await call(client, method, path.replace("{id}", media["id"]), admin, body)
    assert (got, problem.get("field")) == (status, field), problem
    assert await rows(client, "SELECT count(*) FROM media_takedowns") == [(0,)]
    assert (await fetch(client, url_of(media), member))[0] == 200


async def test_the_members_data_export_lists_a_taken_down_upload_without_its_file(scene):
    s = scene
    await take_down(s, s.mine["id"])
    status, job = await call(s.client, "POST", "/api/v1/users/@me/export", s.alice, {})
    assert status in (200, 201, 202), job

    async def finished() -> dict | None:
        _, job = await call(s.client, "GET", "/api/v1/users/@me/export", s.alice)
        return job if job["state"] in ("ready", "failed") else None

    job = await eventually(finished, 30, what="the export to finish")
    assert job["state"] == "ready", job
    resp = await s.client.get(job["download_url"], headers=auth(s.alice))
    zf = zipfile.ZipFile(io.BytesIO(await resp.read()))
    records = {r["id"]: r for r in json.loads(zf.read("media.json"))}
    assert (records[s.mine["id"]]["taken_down"], records[s.mine["id"]]["file"]) == (True, None)
    song = records[s.song["id"]]
    assert song["taken_down"] is False and zf.read(song["file"]) == mp3_like(3000)
    assert [n for n in zf.namelist() if n.startswith("uploads/")] == [song["file"]]
