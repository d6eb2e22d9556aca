"""A peer's user.created and user.profile pass the same rules as a local sign-up (issue 19).

The rogue peer is a real second node that signs, with its own key, events its API would never
make (appended straight to its log); the receiving node keeps them as evidence but never projects
them, so its API shows no trace of them.
"""

from __future__ import annotations

import pytest
from cryb_plugins.users.events import ProfileSnapshot, UserCreated

from cryb_node.clock import new_id
from tests.search.conftest import indexed
from tests.sync.conftest import Fed, federation  # noqa: F401  (the fixture)
from tests.sync.rogue import Rogue
from tests.users_fixtures import register_user

BAD_CREATES = {
    "reserved": UserCreated(username="admin"),
    "bad_username": UserCreated(username="own\u202eer"),
    "long_name": UserCreated(username="longname", display_name="A" * 300),
    "markup": UserCreated(username="markup", display_name='<img src=x onerror="alert(1)">'),
    "rtl_override": UserCreated(username="rtlname", display_name="\u202etnuocca lanoitanretni"),
    "control": UserCreated(username="ctrlname", display_name="bell\x07\x00null"),
    # the report's case: a locally taken name with a 300-character display name full of markup
    "owner": UserCreated(username="owner", display_name=("<b>\u202eowner</b>" * 30)[:300]),
}


async def _rogue_create(fed: Fed, payload: UserCreated) -> tuple[str, bytes]:
    """The peer's node signs a user.created its API would refuse: (user id, event id)."""
    uid = new_id()
    eid = Rogue(fed.node.data_dir).forge("user.created", payload, community=None, author=uid, target=uid)
    return uid, bytes.fromhex(eid)


async def _no_trace(a: Fed, viewer, uid: str, name: str) -> None:
    status, _ = await a.call("GET", f"/users/{uid}", viewer)
    assert status == 404, (name, status)
    assert await a.count("SELECT count(*) FROM users_profiles WHERE user_id = ?", uid) == 0, name


async def test_a_peers_invalid_users_are_refused_and_leave_no_trace(federation) -> None:  # noqa: F811
    a, b = await federation(2)
    owner_id, _ = await register_user(a.client, "owner")
    viewer = await a.user()
    made = {case: await _rogue_create(b, p) for case, p in BAD_CREATES.items()}
    report = await a.session(b)
    assert report.rejected == 0  # refused is not rejected: the signed events are kept as evidence
    for case, (uid, eid) in made.items():
        assert await a.count("SELECT count(*) FROM events WHERE id = ?", eid) == 1, case
        await _no_trace(a, viewer, uid, case)
    # the only owner A knows is its own
    assert (await a.ok("GET", f"/users/{owner_id}", viewer))["username"] == "owner"
    assert await a.count("SELECT count(*) FROM users_profiles WHERE lower(username) = 'owner'") == 1
    await indexed(a.client)
    for q in ("owner", "admin", "longname", "markup", "rtlname", "ctrlname", "AAAAAAAA"):
        hits = (await a.ok("GET", "/search", viewer, params={"q": q}))["results"]
        ids = {h["id"] for h in hits if h["kind"] == "user"}
        assert not ids & {uid for uid, _ in made.values()}, (q, hits)


async def test_a_peers_profile_change_with_forbidden_text_is_refused(federation) -> None:  # noqa: F811
    a, b = await federation(2)
    carol_id, _ = await register_user(b.client, "carol", display_name="Carol")
    await a.session(b)
    viewer = await a.user()
    assert (await a.ok("GET", f"/users/{carol_id}", viewer))["display_name"] == "Carol"
    for bad in (
        ProfileSnapshot(display_name="\u202elorac"),
        ProfileSnapshot(display_name="Carol", bio="x" * 1001),
        ProfileSnapshot(display_name="Carol", pronouns="<script>"),
        ProfileSnapshot(display_name="Carol\x1b[31m"),
    ):
        Rogue(b.node.data_dir).forge("user.profile", bad, community=None, author=carol_id, target=carol_id)
    await a.session(b)
    got = await a.ok("GET", f"/users/{carol_id}", viewer)
    assert (got["display_name"], got["bio"], got["pronouns"]) == ("Carol", "", "")
    # a valid change still goes through
    await b.node.events.append(
        "user.profile", ProfileSnapshot(display_name="Carol B", bio="line one\nline two"),
        author=carol_id, target=carol_id,
    )  # fmt: skip
    await a.session(b)
    got = await a.ok("GET", f"/users/{carol_id}", viewer)
    assert (got["display_name"], got["bio"]) == ("Carol B", "line one\nline two")


@pytest.mark.parametrize(
    "field,value",
    [
        ("display_name", "\u202eevil"),
        ("display_name", "<b>bold</b>"),
        ("display_name", "tab\there"),
        ("pronouns", "they\u2066/them"),
        ("bio", "zero\u200bwidth"),
    ],
)
async def test_local_sign_up_and_profile_follow_the_same_rules(federation, field, value) -> None:  # noqa: F811
    (a,) = await federation(1, pin=False)
    if field == "display_name":
        resp = await a.client.post(
            "/api/v1/auth/register",
            json={"username": "newbie", "email": "n@example.test", "password": "p" * 12, field: value},
        )
        assert resp.status == 400 and (await resp.json())["field"] == field
    user = await a.user()
    status, body = await a.call("PATCH", "/users/@me", user, json={field: value})
    assert status == 400 and body["field"] == field, body
