"""Scheduled events over the HTTP API: who may plan and answer them, what is validated, what the
lists and counts show, and reminders sent through notifications at the node clock's time."""

from __future__ import annotations

import pytest

from cryb_node.appkeys import NODE
from cryb_node.services import Perm
from tests.integrations.conftest import grant
from tests.support.clock import SteppedClock
from tests.users_fixtures import renewed

from .conftest import Space, call, event_body, make_space, new_user, ok


async def plan(space: Space, **over: object) -> dict:
    return await ok(space.client, "POST", f"/communities/{space.community}/events", space.owner,
                    json=event_body(**over))  # fmt: skip


async def test_owner_plans_an_event_in_its_time_zone(space) -> None:
    ev = await plan(space)
    assert ev["start"] == "2031-12-24T17:00:00Z" and ev["end"] == "2031-12-24T20:30:00Z"
    assert ev["local_start"] == "2031-12-24T18:00:00+01:00" and ev["time_zone"] == "Europe/Berlin"
    assert ev["local_end"] == "2031-12-24T21:30:00+01:00"
    assert ev["status"] == "scheduled" and ev["creator_id"] == space.owner.id
    listed = await ok(space.client, "GET", f"/communities/{space.community}/events", space.member)
    assert [e["id"] for e in listed["events"]] == [ev["id"]]
    # an offset given with the time wins over the zone's
    other = await plan(space, start="2031-07-01T09:00:00-04:00", end=None)
    assert other["start"] == "2031-07-01T13:00:00Z" and other["local_start"] == "2031-07-01T15:00:00+02:00"


async def test_planning_needs_manage_events(space) -> None:
    c, url = space.client, f"/communities/{space.community}/events"
    status, body = await call(c, "POST", url, space.member, json=event_body())
    assert (status, body["code"]) == (403, "missing_permission")
    await grant(space, space.member, Perm.MANAGE_EVENTS)
    ev = await ok(c, "POST", url, space.member, json=event_body())
    assert ev["creator_id"] == space.member.id


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone"),
        ({"start": "next tuesday"}, "start"),
        ({"start": "2001-01-01T10:00"}, "start"),
        ({"start": "0001-01-01T00:00+05:00"}, "start"),
        ({"start": "9999-12-31T23:59-05:00"}, "start"),
        ({"end": "9999-12-31T23:59"}, "end"),
        ({"end": "2031-12-24T17:00"}, None),
        ({"channel_id": "01hzzzzzzzzzzzzzzzzzzzzzzz", "location_text": None}, "channel_id"),
    ],
)
async def test_bad_details_are_refused(space, over, field) -> None:
    status, body = await call(space.client, "POST", f"/communities/{space.community}/events", space.owner,
                              json=event_body(**over))  # fmt: skip
    assert status == 400 and body["code"] in ("invalid_field", "invalid_body"), body
    if field is not None:
        assert body.get("field") == field


async def test_a_channel_of_another_community_is_not_a_location(space) -> None:
    other = await make_space(space.client)
    status, body = await call(space.client, "POST", f"/communities/{space.community}/events", space.owner,
                              json=event_body(channel_id=other.text, location_text=None))  # fmt: skip
    assert (status, body["field"]) == (400, "channel_id")
    ev = await plan(space, channel_id=space.text, location_text=None)
    assert ev["channel_id"] == space.text and ev["location_text"] is None


async def test_rsvp_counts_and_who_is_going(space) -> None:
    c = space.client
    ev = await plan(space)
    url = f"/scheduled-events/{ev['id']}/rsvp"
    third = await space.join()
    got = await ok(c, "PUT", url, space.member, json={"status": "going"})
    assert (got["going_count"], got["my_rsvp"], got["going"]) == (1, "going", [space.member.id])
    got = await ok(c, "PUT", url, third, json={"status": "interested"})
    assert (got["going_count"], got["interested_count"], got["my_rsvp"]) == (1, 1, "interested")
    seen = await ok(c, "GET", f"/scheduled-events/{ev['id']}", space.owner)
    assert (seen["going_count"], seen["interested_count"], seen["my_rsvp"]) == (1, 1, "none")
    got = await ok(c, "PUT", url, space.member, json={"status": "none"})
    assert (got["going_count"], got["going"]) == (0, [])
    status, _ = await call(c, "PUT", url, space.member, json={"status": "maybe"})
    assert status == 400


async def test_only_members_answer(space) -> None:
    ev = await plan(space)
    stranger = await new_user(space.client)
    status, body = await call(space.client, "PUT", f"/scheduled-events/{ev['id']}/rsvp", stranger,
                              json={"status": "going"})  # fmt: skip
    assert (status, body["code"]) == (403, "not_member")
    status, _ = await call(space.client, "PUT", f"/scheduled-events/{ev['id']}/rsvp", None,
                           json={"status": "going"})  # fmt: skip
    assert status == 401


async def test_edit_and_cancel(space) -> None:
    c = space.client
    ev = await plan(space)
    status, body = await call(c, "PATCH", f"/scheduled-events/{ev['id']}", space.member, json={"title": "x"})
    assert (status, body["code"]) == (403, "missing_permission")
    got = await ok(c, "PATCH", f"/scheduled-events/{ev['id']}", space.owner,
                   json={"title": "Board games", "time_zone": "America/New_York"})  # fmt: skip
    # the same UTC instant, shown in the new zone
    assert got["title"] == "Board games" and got["local_start"] == "2031-12-24T12:00:00-05:00"
    got = await ok(c, "PATCH", f"/scheduled-events/{ev['id']}", space.owner, json={"channel_id": space.text})
    assert got["channel_id"] == space.text and got["location_text"] is None
    status, body = await call(c, "POST", f"/scheduled-events/{ev['id']}/cancel", space.member)
    assert (status, body["code"]) == (403, "missing_permission")
    got = await ok(c, "POST", f"/scheduled-events/{ev['id']}/cancel", space.owner)
    assert got["status"] == "cancelled"
    status, body = await call(
        c, "PUT", f"/scheduled-events/{ev['id']}/rsvp", space.member, json={"status": "going"}
    )
    assert (status, body["code"]) == (409, "event_cancelled")


async def test_who_may_read_events(hc) -> None:
    public = await make_space(hc)
    await plan(public)
    owner = await new_user(hc)
    com = await ok(hc, "POST", "/communities", owner, json={"name": "hidden", "public": False})
    ev = await ok(hc, "POST", f"/communities/{com['id']}/events", owner, json=event_body())
    listed = await ok(hc, "GET", f"/communities/{public.community}/events")  # anonymous
    assert len(listed["events"]) == 1
    outsider = await new_user(hc)
    for who in (None, outsider):
        status, _ = await call(hc, "GET", f"/communities/{com['id']}/events", who)
        assert status == 404
        status, _ = await call(hc, "GET", f"/scheduled-events/{ev['id']}", who)
        assert status == 404
    assert len((await ok(hc, "GET", f"/communities/{com['id']}/events", owner))["events"]) == 1


async def test_past_events_leave_the_list(space, clock: SteppedClock) -> None:
    ev = await plan(space, start="2031-01-01T10:00", end="2031-01-01T11:00", time_zone="UTC")
    clock.advance(ev_seconds_until("2031-01-01T11:00:01Z", clock))
    space.member.token = renewed(space.client, space.member.token)  # it expired on the way
    listed = await ok(space.client, "GET", f"/communities/{space.community}/events", space.member)
    assert listed["events"] == []
    listed = await ok(space.client, "GET", f"/communities/{space.community}/events?past=true", space.member)
    assert [(e["id"], e["status"]) for e in listed["events"]] == [(ev["id"], "completed")]


def ev_seconds_until(iso: str, clock: SteppedClock) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp() - clock.time()


async def test_reminder_reaches_those_who_answered(space, clock: SteppedClock) -> None:
    c = space.client
    ev = await plan(space, start="2031-03-01T12:00", end=None, time_zone="Europe/Paris")
    third = await space.join()
    await ok(c, "PUT", f"/scheduled-events/{ev['id']}/rsvp", space.member, json={"status": "going"})
    await ok(c, "PUT", f"/scheduled-events/{ev['id']}/rsvp", third, json={"status": "interested"})
    svc = c.app[NODE].services.require(happenings_key())
    assert await svc.remind() == 0  # years early
    clock.advance(ev_seconds_until("2031-03-01T10:50:00Z", clock))  # 10 minutes before (UTC+1)
    for user in (space.member, third, space.owner):  # their access tokens expired on the way
        user.token = renewed(c, user.token)
    assert await svc.remind() == 2
    assert await svc.remind() == 0  # once per member and start time
    for user in (space.member, third):
        notes = await wait_notes(c, user)
        assert notes[0]["kind"] == "event_reminder" and notes[0]["target_id"] == ev["id"]
        assert notes[0]["preview"] == "Game night starts at 12:00 (Europe/Paris)"
    assert await wait_notes(c, space.owner, want=0) == []


def happenings_key():
    from cryb_plugins.happenings import HAPPENINGS

    return HAPPENINGS


async def wait_notes(c, user, want: int = 1) -> list:
    import asyncio

    for _ in range(100):
        got = (await ok(c, "GET", "/notifications", user))["notifications"]
        if len(got) >= want and (want or _ > 5):
            return got
        await asyncio.sleep(0.05)
    raise AssertionError("no notification arrived")


async def test_moved_events_remind_again_and_cancelled_ones_never(space, clock: SteppedClock) -> None:
    c = space.client
    svc = c.app[NODE].services.require(happenings_key())
    (job,) = [j for j in c.app[NODE].scheduler._jobs if j.name == "happenings.reminders"]
    kept = await plan(space, start="2031-03-01T12:00", end=None, time_zone="UTC")
    dropped = await plan(space, title="Dropped", start="2031-03-01T12:05", end=None, time_zone="UTC")
    for ev in (kept, dropped):
        await ok(c, "PUT", f"/scheduled-events/{ev['id']}/rsvp", space.member, json={"status": "going"})
    await ok(c, "POST", f"/scheduled-events/{dropped['id']}/cancel", space.owner)
    clock.advance(ev_seconds_until("2031-03-01T11:50:00Z", clock))
    for user in (space.member, space.owner):  # their access tokens expired on the way
        user.token = renewed(c, user.token)
    assert await svc.remind() == 1  # only the one still on
    await ok(c, "PATCH", f"/scheduled-events/{kept['id']}", space.owner, json={"start": "2031-03-01T12:10"})
    assert await svc.remind() == 0  # 20 minutes away now
    clock.advance(5 * 60)
    await job.func()  # what APScheduler runs every remind_every_s: the new start is reminded of too
    notes = await wait_notes(c, space.member, want=2)
    assert [n["target_id"] for n in notes] == [kept["id"], kept["id"]]


async def test_cover_is_an_image_the_planner_uploaded(space) -> None:
    from tests.content.test_emoji_icon_media import attached, upload

    c, url = space.client, f"/communities/{space.community}/events"
    theirs = await upload(c, space.member)
    status, body = await call(c, "POST", url, space.owner, json=event_body(cover_media_id=theirs))
    assert (status, body["field"]) == (400, "cover_media_id")
    mine = await upload(c, space.owner)
    ev = await ok(c, "POST", url, space.owner, json=event_body(cover_media_id=mine))
    assert ev["cover_media_id"] == mine and ev["cover_url"].endswith(f"/media/{mine}/original")
    assert await attached(c, mine)  # public like a community icon: anyone who sees the event sees it


async def test_answers_of_members_who_left_or_were_banned_stop_counting(space) -> None:
    c = space.client
    ev = await plan(space)
    url = f"/scheduled-events/{ev['id']}"
    banned = await space.join()
    for who in (space.member, banned):
        await ok(c, "PUT", f"{url}/rsvp", who, json={"status": "going"})
    assert (await ok(c, "GET", url, space.owner))["going_count"] == 2
    await ok(c, "DELETE", f"/communities/{space.community}/members/@me", space.member)
    await ok(c, "PUT", f"/communities/{space.community}/bans/{banned.id}", space.owner, json={})
    got = await ok(c, "GET", url, space.owner)
    assert (got["going_count"], got["going"]) == (0, [])
    # back again, an answer counts from then on
    await ok(c, "PUT", f"/communities/{space.community}/members/@me", space.member, json={})
    assert (await ok(c, "GET", url, space.member))["my_rsvp"] == "none"
    got = await ok(c, "PUT", f"{url}/rsvp", space.member, json={"status": "going"})
    assert (got["going_count"], got["going"]) == (1, [space.member.id])
