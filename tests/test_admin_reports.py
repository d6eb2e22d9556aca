"""The node admins' reports queue: POST /api/v1/reports validates every target (a DM message only by
someone in the conversation, a user that exists, a community the reporter can see, community content
they can see), GET/PATCH /api/v1/admin/reports are for node admins only, and the reporter learns
nothing about anyone else's reports. Over HTTP against a real node, checked against its database."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from cryb_node.services import Perm
from tests.conftest import make_config
from tests.content.conftest import User, call, make_space, new_user, ok
from tests.notifications.conftest import notif_config
from tests.support.waiting import eventually
from tests.users_fixtures import FAST_HASHING, PASSWORD

MISSING = "01m8zzzzzzzzzzzzzzzzzzzzzz"


@pytest.fixture
async def rc(aiohttp_client, tmp_path):
    return await aiohttp_client(build_app(notif_config(tmp_path / "data")))


async def new_admin(client: Any) -> User:
    """A node admin, made by the library call `cryb user create --admin` runs."""
    from cryb_plugins.users.service import CLI, USERS

    users = client.app[NODE].services.require(USERS)
    name = f"admin_{secrets.token_hex(4)}"
    user_id, pair = await users.create_account(name, f"{name}@example.test", PASSWORD, client=CLI, admin=True)
    return User(user_id, pair.access_token)


async def report(client: Any, user: User | None, target_type: str, target_id: str, reason: str = "abuse"):
    body = {"target_type": target_type, "target_id": target_id, "reason": reason}
    return await call(client, "POST", "/reports", user, json=body)


async def rows(client: Any) -> list[tuple]:
    return await client.app[NODE].db.fetchall(
        "SELECT reporter_id, target_type, target_id, target_user, community_id, channel_id, label, excerpt,"
        " reason, status FROM users_reports ORDER BY id"
    )


async def dm_with(client: Any, a: User, b: User, text: str) -> tuple[str, dict]:
    dm = await ok(client, "POST", "/dms", a, json={"recipients": [b.id]})
    msg = await ok(client, "POST", f"/channels/{dm['id']}/messages", b, json={"content": text})
    return dm["id"], msg


# -- direct messages -------------------------------------------------------------------------------


async def test_a_participant_reports_a_dm_message_and_gets_back_only_their_own_report(rc):
    alice, bob = await new_user(rc), await new_user(rc)
    dm_id, msg = await dm_with(rc, alice, bob, "send me your password or else")
    status, body = await report(rc, alice, "dm_message", msg["id"], "threats")
    assert status == 201, body
    assert set(body) == {"id", "target_type", "target_id", "status", "created_at"}
    assert (body["target_type"], body["target_id"], body["status"]) == ("dm_message", msg["id"], "open")
    [row] = await rows(rc)
    assert row[:6] == (alice.id, "dm_message", msg["id"], bob.id, None, dm_id)
    assert row[7:] == ("send me your password or else", "threats", "open")


async def test_someone_outside_the_conversation_cannot_report_its_message(rc):
    alice, bob, carol = await new_user(rc), await new_user(rc), await new_user(rc)
    _, msg = await dm_with(rc, alice, bob, "private words")
    status, body = await report(rc, carol, "dm_message", msg["id"])
    assert (status, body["code"], body.get("field")) == (404, "not_found", "target_id")
    assert await rows(rc) == []


async def test_a_dm_message_report_must_name_a_dm_message(rc):
    space = await make_space(rc)
    public = await ok(rc, "POST", f"/channels/{space.text}/messages", space.owner, json={"content": "hi"})
    for target in (MISSING, public["id"]):
        status, body = await report(rc, space.member, "dm_message", target)
        assert (status, body.get("field")) == (404, "target_id"), body
    assert await rows(rc) == []


async def test_your_own_message_or_profile_is_not_reportable(rc):
    alice, bob = await new_user(rc), await new_user(rc)
    dm = await ok(rc, "POST", "/dms", alice, json={"recipients": [bob.id]})
    mine = await ok(rc, "POST", f"/channels/{dm['id']}/messages", alice, json={"content": "mine"})
    for target_type, target_id in (("dm_message", mine["id"]), ("user", alice.id)):
        status, body = await report(rc, alice, target_type, target_id)
        assert (status, body["code"], body.get("field")) == (400, "invalid_target", "target_id")


# -- profiles and communities ----------------------------------------------------------------------


async def test_a_profile_report_names_the_user_as_they_were(rc):
    alice, bob = await new_user(rc), await new_user(rc)
    await ok(rc, "PATCH", "/users/@me", bob, json={"display_name": "Bobby", "bio": "buy cheap pills"})
    assert (await report(rc, alice, "user", bob.id))[0] == 201
    status, body = await report(rc, alice, "user", MISSING)
    assert (status, body.get("field")) == (404, "target_id")
    [row] = await rows(rc)
    me = await ok(rc, "GET", f"/users/{bob.id}", alice)
    assert row[3] == bob.id and row[6] == f"Bobby (@{me['username']})" and row[7] == "buy cheap pills"


async def test_a_community_must_exist_and_be_visible_to_the_reporter(rc):
    public = await make_space(rc)
    owner, insider, outsider = await new_user(rc), await new_user(rc), await new_user(rc)
    private = (await ok(rc, "POST", "/communities", owner, json={"name": "hidden", "public": False}))["id"]
    invite = await ok(rc, "POST", f"/communities/{private}/invites", owner, json={})
    await ok(rc, "POST", f"/invites/{invite['code']}", insider)
    assert (await report(rc, outsider, "community", public.community))[0] == 201
    for target in (private, MISSING):
        status, body = await report(rc, outsider, "community", target)
        assert (status, body.get("field")) == (404, "target_id"), body
    assert (await report(rc, insider, "community", private))[0] == 201
    assert [(r[0], r[2], r[3], r[4], r[6]) for r in await rows(rc)] == [
        (outsider.id, public.community, public.owner.id, public.community, "space"),
        (insider.id, private, owner.id, private, "hidden"),
    ]


# -- community content taken to the node admins ----------------------------------------------------


async def test_community_content_is_reportable_when_the_reporter_can_see_it(rc):
    space = await make_space(rc)
    c, outsider = rc, await new_user(rc)
    msg = await ok(c, "POST", f"/channels/{space.text}/messages", space.owner, json={"content": "scam link"})
    post = await ok(c, "POST", f"/channels/{space.forum}/posts", space.owner, json={"title": "a scam"})
    comment = await ok(c, "POST", f"/posts/{post['id']}/comments", space.owner, json={"body": "more scam"})
    for kind, target in (("message", msg["id"]), ("post", post["id"]), ("comment", comment["id"])):
        status, body = await report(c, outsider, kind, target)  # a public community: anyone sees it
        assert status == 201, (kind, body)
    got = [(r[1], r[3], r[4], r[7]) for r in await rows(c)]
    assert got == [
        ("message", space.owner.id, space.community, "scam link"),
        ("post", space.owner.id, space.community, "a scam"),
        ("comment", space.owner.id, space.community, "more scam"),
    ]
    _, dm_msg = await dm_with(c, space.member, space.owner, "dm")
    hidden = await ok(
        c, "POST", f"/communities/{space.community}/channels", space.owner, json={"name": "mods"}
    )
    await ok(c, "PUT", f"/channels/{hidden['id']}/overwrites/role/{space.community}", space.owner,
             json={"deny": int(Perm.VIEW_CHANNEL)})  # fmt: skip
    secret = await ok(c, "POST", f"/channels/{hidden['id']}/messages", space.owner, json={"content": "x"})
    for kind, target in (("message", dm_msg["id"]), ("message", secret["id"]), ("post", MISSING)):
        status, body = await report(c, space.member, kind, target)
        assert (status, body.get("field")) == (404, "target_id"), (kind, body)


# -- bad input, repeats -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"target_type": "user", "target_id": MISSING, "reason": ""}, "reason"),
        ({"target_type": "user", "target_id": MISSING, "reason": "   "}, "reason"),
        ({"target_type": "dm", "target_id": MISSING, "reason": "x"}, "target_type"),
        ({"target_type": "user", "target_id": "", "reason": "x"}, "target_id"),
        ({"target_type": "user", "target_id": MISSING, "reason": "x" * 1001}, "reason"),
        ({"target_type": "user", "target_id": MISSING, "reason": "x", "target_user": "y"}, "target_user"),
    ],
)
async def test_bad_report_bodies_are_400_naming_the_field(rc, body, field):
    user = await new_user(rc)
    status, problem = await call(rc, "POST", "/reports", user, json=body)
    assert (status, problem.get("field")) == (400, field), problem


async def test_reporting_the_same_thing_twice_while_open_is_409_and_others_still_may(rc):
    alice, bob, carol = await new_user(rc), await new_user(rc), await new_user(rc)
    admin = await new_admin(rc)
    first = (await report(rc, alice, "user", carol.id))[1]
    status, body = await report(rc, alice, "user", carol.id)
    assert (status, body["code"]) == (409, "already_reported")
    assert (await report(rc, bob, "user", carol.id))[0] == 201  # nothing tells bob alice reported too
    await ok(rc, "PATCH", f"/admin/reports/{first['id']}", admin, json={"status": "dismissed"})
    assert (await report(rc, alice, "user", carol.id))[0] == 201  # closed: a new report may follow
    assert len(await rows(rc)) == 3


# -- the admin side ---------------------------------------------------------------------------------


async def test_the_admin_routes_are_for_node_admins_only(rc):
    alice, bob = await new_user(rc), await new_user(rc)
    filed = (await report(rc, alice, "user", bob.id))[1]
    patch = {"status": "resolved"}
    for user, expected in ((None, 401), (alice, 403), (bob, 403)):
        assert (await call(rc, "GET", "/admin/reports", user))[0] == expected
        assert (await call(rc, "PATCH", f"/admin/reports/{filed['id']}", user, json=patch))[0] == expected
    assert (await report(rc, None, "user", bob.id))[0] == 401
    assert [r[9] for r in await rows(rc)] == ["open"]


async def test_a_demoted_admin_is_refused_at_once(rc):
    admin = await new_admin(rc)
    assert (await call(rc, "GET", "/admin/reports", admin))[0] == 200
    await rc.app[NODE].db.write(lambda conn: conn.execute("UPDATE users_accounts SET admin = 0 WHERE id = ?",
                                                          (admin.id,)))  # fmt: skip
    assert (await call(rc, "GET", "/admin/reports", admin))[0] == 403  # its token still says admin


async def test_an_admin_sees_the_queue_by_name_and_resolves_with_a_note_that_is_audited(rc):
    admin, alice, bob = await new_admin(rc), await new_user(rc), await new_user(rc)
    _, msg = await dm_with(rc, alice, bob, "you will regret this")
    filed = (await report(rc, alice, "dm_message", msg["id"], "threat"))[1]
    names = {u.id: (await ok(rc, "GET", f"/users/{u.id}", alice))["username"] for u in (alice, bob)}
    [queued] = (await ok(rc, "GET", "/admin/reports", admin))["reports"]
    assert queued["id"] == filed["id"] and queued["reporter_name"] == names[alice.id]
    assert (queued["label"], queued["target_user_name"]) == (f"@{names[bob.id]}", names[bob.id])
    assert (queued["excerpt"], queued["reason"], queued["status"]) == (
        "you will regret this",
        "threat",
        "open",
    )

    status, done = await call(rc, "PATCH", f"/admin/reports/{filed['id']}", admin,
                              json={"status": "resolved", "note": "warned bob"})  # fmt: skip
    assert status == 200 and (done["status"], done["note"], done["resolved_by"]) == (
        "resolved",
        "warned bob",
        admin.id,
    )
    assert (await ok(rc, "GET", "/admin/reports", admin))["reports"] == []
    assert [r["id"] for r in (await ok(rc, "GET", "/admin/reports?status=resolved", admin))["reports"]] == [
        filed["id"]
    ]
    again = await call(rc, "PATCH", f"/admin/reports/{filed['id']}", admin, json={"status": "dismissed"})
    assert (again[0], again[1]["code"]) == (409, "report_closed")
    assert (await call(rc, "PATCH", f"/admin/reports/{MISSING}", admin, json={"status": "resolved"}))[
        0
    ] == 404
    bad = await call(rc, "PATCH", f"/admin/reports/{filed['id']}", admin, json={"status": "open"})
    assert (bad[0], bad[1].get("field")) == (400, "status")

    audit = (await ok(rc, "GET", "/admin/audit?action=report.resolved", admin))["entries"]
    assert [(e["actor_id"], e["user_id"], e["detail"]["report_id"]) for e in audit] == [
        (admin.id, bob.id, filed["id"])
    ]

    # the reporter hears the outcome, not the admin's note
    async def told_of_it() -> list:
        inbox = (await ok(rc, "GET", "/notifications", alice))["notifications"]
        return [n for n in inbox if n["kind"] == "report_resolved"]

    told = await eventually(told_of_it, 5)
    assert len(told) == 1 and "resolved" in str(told) and "warned" not in str(told)


async def test_the_queue_pages_by_id_and_filters_by_status(rc):
    admin, alice = await new_admin(rc), await new_user(rc)
    targets = [await new_user(rc) for _ in range(5)]
    ids = [(await report(rc, alice, "user", t.id))[1]["id"] for t in targets]
    await ok(rc, "PATCH", f"/admin/reports/{ids[0]}", admin, json={"status": "dismissed"})
    page = await ok(rc, "GET", "/admin/reports?limit=2", admin)
    assert [r["id"] for r in page["reports"]] == ids[1:3] and page["next"] == ids[2]
    page = await ok(rc, "GET", f"/admin/reports?limit=2&after={page['next']}", admin)
    assert [r["id"] for r in page["reports"]] == ids[3:5] and page["next"] is None
    assert len((await ok(rc, "GET", "/admin/reports?status=all", admin))["reports"]) == 5
    assert (await call(rc, "GET", "/admin/reports?status=nope", admin))[1]["field"] == "status"


async def test_an_erased_account_leaves_no_words_in_reports(rc):
    alice, bob = await new_user(rc), await new_user(rc)
    _, msg = await dm_with(rc, alice, bob, "something vile")
    await report(rc, alice, "dm_message", msg["id"], "vile")
    await report(rc, bob, "user", alice.id, "she reported me")
    await ok(rc, "DELETE", "/users/@me", bob, json={"password": PASSWORD})
    got = {r[1]: (r[6], r[7], r[8]) for r in await rows(rc)}
    assert got["dm_message"] == ("deleted", "", "vile")  # bob's words are gone, alice's reason stays
    assert got["user"][2] == ""  # what bob wrote in his own report is gone too


async def test_reports_are_rate_limited_in_their_own_bucket(aiohttp_client, tmp_path):
    c = await aiohttp_client(build_app(make_config(tmp_path / "data", plugin={"users": FAST_HASHING})))
    alice, bob = await new_user(c), await new_user(c)
    dm = await ok(c, "POST", "/dms", alice, json={"recipients": [bob.id]})
    statuses = []
    for i in range(21):
        msg = await ok(c, "POST", f"/channels/{dm['id']}/messages", bob, json={"content": f"spam {i}"})
        body = {"target_type": "dm_message", "target_id": msg["id"], "reason": "spam"}
        resp = await c.post("/api/v1/reports", headers=alice.h, json=body)
        statuses.append(resp.status)
    assert statuses == [201] * 20 + [429]
    assert resp.headers["X-RateLimit-Bucket"] == "reports" and int(resp.headers["Retry-After"]) > 0


async def test_with_content_and_communities_disabled_their_targets_are_simply_not_found(
    aiohttp_client, tmp_path
):
    off = ["content", "communities", "search", "notifications", "analytics"]
    cfg = make_config(tmp_path / "data", plugin={"users": FAST_HASHING}, rate_limits={"enabled": False},
                      plugins={"disabled": off})  # fmt: skip
    c = await aiohttp_client(build_app(cfg))
    alice, bob = await new_user(c), await new_user(c)
    for kind in ("dm_message", "community", "message"):
        assert (await report(c, alice, kind, MISSING))[0] == 404
    assert (await report(c, alice, "user", bob.id))[0] == 201
