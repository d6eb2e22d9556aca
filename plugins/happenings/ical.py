"""A community's scheduled events as an iCalendar feed (RFC 5545), made with the icalendar package:
one VEVENT per event in its own time zone (with the VTIMEZONE it needs), cancelled ones marked so
subscribed calendars drop them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import icalendar

from cryb_node.services import CommunityRef

from .schemas import EventOut

PRODID = "-//CRYB//Scheduled events//EN"


def _at(iso_utc: str, zone: str) -> datetime:
    return datetime.fromisoformat(iso_utc).astimezone(ZoneInfo(zone))


def feed(community: CommunityRef, events: list[EventOut], host: str, base_url: str,
         channels: dict[str, str], now_ms: int) -> bytes:  # fmt: skip
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{community.name} events")
    stamp = datetime.fromtimestamp(now_ms / 1000, UTC)
    for out in events:
        vev = icalendar.Event()
        vev.add("uid", f"{out.id}@{host}")
        vev.add("dtstamp", stamp)
        vev.add("dtstart", _at(out.start, out.time_zone))
        if out.end is not None:
            vev.add("dtend", _at(out.end, out.time_zone))
        vev.add("summary", out.title)
        if out.description:
            vev.add("description", out.description)
        if out.location_text:
            vev.add("location", out.location_text)
        elif out.channel_id and out.channel_id in channels:
            vev.add("location", f"#{channels[out.channel_id]} ({community.name})")
        vev.add("status", "CANCELLED" if out.status == "cancelled" else "CONFIRMED")
        vev.add("url", f"{base_url}/c/{community.id}/events#{out.id}")
        cal.add_component(vev)
    cal.add_missing_timezones()
    return cal.to_ical()
