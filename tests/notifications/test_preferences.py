"""Issue 8, acceptance 4 and 5: quiet hours in the user's time zone with a fixed clock (push skipped,
mail held until the hours end, across a daylight-saving change), and bad preference or push input
rejected with a 400 naming the field, with nothing written."""

from __future__ import annotations

import datetime as dt

import pytest
from cryb_plugins.notifications.prefs import quiet_until
from cryb_plugins.notifications.schemas import QuietHours, UserPrefs

from cryb_node.appkeys import NODE
from tests.content.conftest import call, make_space, ok
from tests.notifications.conftest import parts, settle
from tests.notifications.test_push import Browser


def ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp() * 1000)


NIGHT = QuietHours("22:00", "07:00")


@pytest.mark.parametrize(
    "zone, now, until",
    [
        # 23:00 in Tokyo (UTC+9): quiet until 07:00 Tokyo, 22:00 UTC.
        ("Asia/Tokyo", "2026-06-01T14:00:00+00:00", "2026-06-01T22:00:00+00:00"),
        # 12:00 in Tokyo: not quiet.
        ("Asia/Tokyo", "2026-06-01T03:00:00+00:00", None),
        # 22:30 in New York the night clocks spring forward: 07:00 EDT is 11:00 UTC, not 12:00.
        ("America/New_York", "2026-03-08T03:30:00+00:00", "2026-03-08T11:00:00+00:00"),
        # 06:59 local is still quiet, 07:00 is not (the window ends exclusive).
        ("Europe/Berlin", "2026-01-10T05:59:00+00:00", "2026-01-10T06:00:00+00:00"),
        ("Europe/Berlin", "2026-01-10T06:00:00+00:00", None),
        # The same UTC instant is quiet in one zone and not in another.
        ("UTC", "2026-01-10T23:00:00+00:00", "2026-01-11T07:00:00+00:00"),
        ("America/Los_Angeles", "2026-01-10T23:00:00+00:00", None),
    ],
)
def test_quiet_hours_follow_the_users_time_zone(zone, now, until):
    prefs = UserPrefs(time_zone=zone, quiet_hours=NIGHT)
    assert quiet_until(prefs, ms(now)) == (ms(until) if until else None)


def test_a_daytime_window_and_an_empty_one():
    day = UserPrefs(time_zone="UTC", quiet_hours=QuietHours("09:00", "17:00"))
    assert quiet_until(day, ms("2026-01-10T12:00:00+00:00")) == ms("2026-01-10T17:00:00+00:00")
    assert quiet_until(day, ms("2026-01-10T18:00:00+00:00")) is None
    assert (
        quiet_until(UserPrefs(quiet_hours=QuietHours("09:00", "09:00")), ms("2026-01-10T09:00:00+00:00"))
        is None
    )


async def test_during_quiet_hours_the_inbox_fills_but_push_waits_and_mail_is_held(nc):
    space = await make_space(nc)
    alice = space.member
    svc = parts(nc).svc
    await ok(
        nc,
        "POST",
        "/notifications/push/subscriptions",
        alice,
        json=Browser().subscription("http://127.0.0.1:9/p"),
    )
    await ok(nc, "PATCH", "/notifications/preferences", alice, json={
        "time_zone": "Asia/Tokyo", "quiet_hours": {"start": "22:00", "end": "07:00"},
        "kinds": {"mention": {"email": True, "push": True}},
    })  # fmt: skip
    db = nc.app[NODE].db
    # Park the worker's view of time in the past so nothing it holds becomes due during the test.
    night, day = ms("2026-06-01T14:00:00+00:00"), ms("2026-06-02T03:00:00+00:00")
    svc.clock = lambda: night
    await ok(
        nc, "POST", f"/channels/{space.text}/messages", space.owner, json={"content": f"<@{alice.id}> late"}
    )
    await settle(nc)
    rows = await db.fetchall("SELECT channel, next_at FROM notif_outbox WHERE user_id = ?", (alice.id,))
    assert [tuple(r) for r in rows] == [("email", ms("2026-06-01T22:00:00+00:00"))]
    svc.clock = lambda: day
    await ok(
        nc, "POST", f"/channels/{space.text}/messages", space.owner, json={"content": f"<@{alice.id}> noon"}
    )
    await settle(nc)
    rows = await db.fetchall(
        "SELECT channel, next_at FROM notif_outbox WHERE user_id = ? AND created_at > 0 ORDER BY id",
        (alice.id,),
    )
    assert sorted(r[0] for r in rows) == ["email", "email", "push"]
    assert ms("2026-06-02T03:00:00+00:00") in [r[1] for r in rows]
    assert [n["preview"] for n in (await ok(nc, "GET", "/notifications", alice))["notifications"]] == [
        f"<@{alice.id}> noon", f"<@{alice.id}> late"
    ]  # fmt: skip


BAD_PREFS = [
    ({"colour": "blue"}, "colour"),
    ({"kinds": {"telepathy": {"push": True}}}, "kinds.telepathy"),
    ({"kinds": {"dm": {"fax": True}}}, "kinds.dm.fax"),
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
    ({"time_zone": "../../etc/passwd"}, "time_zone"),
    ({"time_zone": ""}, "time_zone"),
    ({"time_zone": 5}, "time_zone"),
    ({"level": "loud"}, "level"),
    ({"email_digest": "hourly"}, "email_digest"),
    ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start"),
    ({"quiet_hours": {"start": "22:00"}}, "quiet_hours.end"),
    ({"muted_until": -1}, "muted_until"),
]


async def test_bad_preferences_are_refused_naming_the_field_and_change_nothing(nc):
    space = await make_space(nc)
    alice = space.member
    await ok(
        nc,
        "PATCH",
        "/notifications/preferences",
        alice,
        json={"time_zone": "Europe/Paris", "level": "mentions"},
    )
    before = await ok(nc, "GET", "/notifications/preferences", alice)
    for body, field in BAD_PREFS:
        status, problem = await call(
            nc, "PATCH", "/notifications/preferences", alice, json={"level": "all", **body}
        )
        assert (status, problem["field"]) == (400, field), (body, problem)
    assert await ok(nc, "GET", "/notifications/preferences", alice) == before
    path = f"/notifications/preferences/channels/{space.text}"
    for body, field in [
        ({"level": "loud"}, "level"),
        ({"mute": 1}, "mute"),
        ({"muted_until": "soon"}, "muted_until"),
    ]:
        status, problem = await call(nc, "PUT", path, alice, json=body)
        assert (status, problem["field"]) == (400, field), (body, problem)
    assert await ok(nc, "GET", path, alice) == {"level": None, "muted_until": None}
    status, problem = await call(nc, "PUT", "/notifications/preferences/channels/no!such", alice, json={})
    assert (status, problem["field"]) == (400, "channel_id")
    status, problem = await call(nc, "GET", "/notifications", alice, params={"limit": "1000"})
    assert (status, problem["field"]) == (400, "limit")


async def test_bad_push_subscriptions_are_refused_naming_the_field(nc):
    space = await make_space(nc)
    alice = space.member
    good = Browser().subscription("https://push.example.test/abc")
    cases = [
        ({**good, "endpoint": "ftp://push.example.test/x"}, "endpoint"),
        ({**good, "endpoint": "not a url"}, "endpoint"),
        ({**good, "keys": {**good["keys"], "p256dh": "!!!"}}, "keys.p256dh"),
        ({**good, "keys": {**good["keys"], "p256dh": good["keys"]["auth"]}}, "keys.p256dh"),
        ({**good, "keys": {**good["keys"], "p256dh": "BA" + "A" * 85}}, "keys.p256dh"),  # not on the curve
        ({**good, "keys": {**good["keys"], "auth": "AAAA"}}, "keys.auth"),
        ({"endpoint": good["endpoint"]}, "keys"),
        ({**good, "keys": {**good["keys"], "extra": "x"}}, "keys.extra"),
        ({**good, "colour": 1}, "colour"),
    ]
    for body, field in cases:
        status, problem = await call(nc, "POST", "/notifications/push/subscriptions", alice, json=body)
        assert (status, problem["field"]) == (400, field), (body, problem)
    assert await nc.app[NODE].db.fetchval("SELECT count(*) FROM notif_push_subs") == 0
    # Plain http endpoints only where the admin allows them (this test node allows them).
    created = await ok(nc, "POST", "/notifications/push/subscriptions", alice, json=good)
    assert created["endpoint"] == good["endpoint"]
