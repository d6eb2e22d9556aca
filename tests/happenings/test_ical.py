"""The iCal feed (RFC 5545) of a community's scheduled events, parsed back with the icalendar
package as a calendar app would; and the README's example, run as written."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar

from .conftest import call, event_body, new_user, ok

README = Path(__file__).resolve().parents[2] / "README.md"


async def fetch_ics(client, community: str, user=None) -> tuple[int, bytes, str]:
    resp = await client.get(f"/api/v1/communities/{community}/events.ics", headers=user.h if user else {})
    return resp.status, await resp.read(), resp.headers.get("Content-Type", "")


async def test_feed_parses_as_icalendar(space) -> None:
    c = space.client
    ev = await ok(c, "POST", f"/communities/{space.community}/events", space.owner, json=event_body())
    hangout = event_body(title="Voice hangout", channel_id=space.text, location_text=None,
                         start="2031-06-01T20:00", end=None, time_zone="America/Sao_Paulo")  # fmt: skip
    in_channel = await ok(c, "POST", f"/communities/{space.community}/events", space.owner, json=hangout)
    gone = await ok(
        c, "POST", f"/communities/{space.community}/events", space.owner, json=event_body(title="Off")
    )
    await ok(c, "POST", f"/scheduled-events/{gone['id']}/cancel", space.owner)
    status, raw, ctype = await fetch_ics(c, space.community)  # anonymous: the community is public
    assert status == 200 and ctype.startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(raw)
    assert str(cal["VERSION"]) == "2.0" and "CRYB" in str(cal["PRODID"])
    vevents = {str(v["SUMMARY"]): v for v in cal.walk("VEVENT")}
    assert set(vevents) == {"Game night", "Voice hangout", "Off"}
    night = vevents["Game night"]
    start = night.decoded("DTSTART")
    assert start == datetime(2031, 12, 24, 18, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert start.tzinfo is not None and str(night["DTSTART"].params["TZID"]) == "Europe/Berlin"
    assert night.decoded("DTEND") == datetime(2031, 12, 24, 21, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert str(night["UID"]).startswith(ev["id"] + "@") and str(night["LOCATION"]) == "Room 4"
    assert str(night["DESCRIPTION"]) == "Bring snacks" and str(night["STATUS"]) == "CONFIRMED"
    assert str(vevents["Voice hangout"]["LOCATION"]).startswith("#general")
    assert str(vevents["Off"]["STATUS"]) == "CANCELLED"
    zones = {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")}
    assert {"Europe/Berlin", "America/Sao_Paulo"} <= zones  # every TZID is defined in the feed
    assert in_channel["id"] in str(vevents["Voice hangout"]["UID"])


async def test_private_feed_only_for_members(hc) -> None:
    owner, outsider = await new_user(hc), await new_user(hc)
    com = await ok(hc, "POST", "/communities", owner, json={"name": "hidden", "public": False})
    await ok(hc, "POST", f"/communities/{com['id']}/events", owner, json=event_body())
    for who in (None, outsider):
        status, _, _ = await fetch_ics(hc, com["id"], who)
        assert status == 404
    status, raw, _ = await fetch_ics(hc, com["id"], owner)
    assert status == 200 and len(icalendar.Calendar.from_ical(raw).walk("VEVENT")) == 1


def readme_section() -> str:
    text = README.read_text()
    start = text.index("## Scheduled events")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


async def test_readme_example(space) -> None:
    section = readme_section()
    body = json.loads(re.search(r"```json\n(.*?)```", section, re.S).group(1))  # type: ignore[union-attr]
    status, ev = await call(
        space.client, "POST", f"/communities/{space.community}/events", space.owner, json=body
    )
    assert status == 201, ev
    assert ev["local_start"] == "2031-12-31T22:00:00+01:00" and ev["start"] == "2031-12-31T21:00:00Z"
    answer = re.search(r'"status": "(\w+)"', section).group(1)  # type: ignore[union-attr]
    got = await ok(space.client, "PUT", f"/scheduled-events/{ev['id']}/rsvp", space.member,
                   json={"status": answer})  # fmt: skip
    assert got["going_count"] == 1
    url = re.search(r"GET (/api/v1/communities/\{id\}/events\.ics)", section).group(1)  # type: ignore[union-attr]
    resp = await space.client.get(url.replace("{id}", space.community))
    assert resp.status == 200
    assert icalendar.Calendar.from_ical(await resp.read()).walk("VEVENT")[0]["SUMMARY"] == body["title"]
