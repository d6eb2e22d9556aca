"""Scheduled events as replicated events: their kinds, payloads and projections.

The rule book (plugins/communities/verdicts.py RULES) decides who may append them (MANAGE_EVENTS to
plan, membership to answer); ``authorize`` here holds a peer's payload to the limits the API checks.
Projections are order-independent: the newest (hlc, event id) version of an event and of each
member's answer wins, whatever order a node receives them in.
"""

from __future__ import annotations

from functools import cache
from typing import Literal
from zoneinfo import available_timezones

import msgspec

from cryb_node.db import Connection, Row
from cryb_node.events import Event, EventType
from cryb_node.refusals import Refusal, refused

CREATE = "scheduled_event.create"
UPDATE = "scheduled_event.update"
CANCEL = "scheduled_event.cancel"
RSVP = "scheduled_event.rsvp"
KINDS = (CREATE, UPDATE, CANCEL, RSVP)

TITLE_MAX = 100
DESCRIPTION_MAX = 2000
LOCATION_MAX = 200
# Longest an event may last (Discord's limit is far shorter; this only keeps feeds sane).
MAX_DURATION_MS = 31 * 86_400_000
# Starts from 1970 to the year 9000: any time zone can show them (near year 1 or 9999 a zone's
# offset leaves the calendar datetime can represent).
MAX_START_MS = 221_845_392_000_000

Status = Literal["going", "interested", "none"]


class Details(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Everything about an event; a create and every edit carry all of it."""

    title: str
    description: str = ""
    start_ms: int  # UTC, ms since the epoch
    end_ms: int | None = None
    time_zone: str  # IANA name the event is planned in (its wall times are shown in it)
    channel_id: str | None = None  # where: a channel of the community ...
    location_text: str | None = None  # ... or free text
    cover_media_id: str | None = None


class Cancel(msgspec.Struct, kw_only=True):
    reason: str = ""


class Answer(msgspec.Struct, kw_only=True):
    status: Status


def event_id(ev: Event) -> str:
    """A scheduled event's id: the start of its create event's id (unforgeable, unique)."""
    return ev.id.hex()[:32]


@cache
def zones() -> frozenset[str]:
    return frozenset(available_timezones())


def invalid(d: Details) -> str | None:
    """Why these details are not acceptable (None: they are). One rule for the API and peers."""
    if not d.title.strip() or len(d.title) > TITLE_MAX:
        return f"title must have 1 to {TITLE_MAX} characters"
    if len(d.description) > DESCRIPTION_MAX:
        return f"description must have at most {DESCRIPTION_MAX} characters"
    if not 0 <= d.start_ms <= MAX_START_MS:
        return "the start must be between 1970 and the year 9000"
    if d.time_zone not in zones():
        return "time_zone must be an IANA time zone name (e.g. Europe/Berlin)"
    if d.end_ms is not None and not d.start_ms < d.end_ms <= d.start_ms + MAX_DURATION_MS:
        return "the end must come after the start, at most 31 days later"
    if d.channel_id is not None and d.location_text is not None:
        return "an event is in a channel or at a place, not both"
    if d.location_text is not None and not 0 < len(d.location_text) <= LOCATION_MAX:
        return f"location_text must have 1 to {LOCATION_MAX} characters"
    return None


def authorize(conn: Connection, ev: Event) -> Refusal | None:
    if ev.payload is None:
        return None  # erased content: nothing to check, the projection skips it
    if ev.kind in (UPDATE, CANCEL, RSVP) and not ev.body.target:
        return Refusal("invalid_event", f"{ev.kind} names the scheduled event it is about")
    if isinstance(ev.payload, Details) and (why := invalid(ev.payload)) is not None:
        return Refusal("invalid_event", why)
    return None


# -- projections ------------------------------------------------------------------------------

_FIELDS = "title, description, start_ms, end_ms, time_zone, channel_id, location_text, cover_media_id"


def _values(d: Details) -> tuple:
    return (d.title, d.description, d.start_ms, d.end_ms, d.time_zone, d.channel_id, d.location_text,
            d.cover_media_id)  # fmt: skip


def _row(conn: Connection, eid: str) -> Row | None:
    return conn.execute(
        "SELECT community_id, created, rev_hlc, rev_id FROM hap_events WHERE id = ?", (eid,)
    ).fetchone()


def _write_fields(conn: Connection, eid: str, ev: Event, d: Details) -> None:
    conn.execute(
        "UPDATE hap_events SET title = ?, description = ?, start_ms = ?, end_ms = ?, time_zone = ?,"
        " channel_id = ?, location_text = ?, cover_media_id = ?, rev_hlc = ?, rev_id = ? WHERE id = ?",
        (*_values(d), ev.body.hlc, ev.id, eid),
    )


def _newer(ev: Event, row: Row) -> bool:
    """Whether the event is a later version than the row's (the newest (hlc, event id) wins)."""
    return (ev.body.hlc, ev.id) > (row["rev_hlc"], bytes(row["rev_id"]))


def apply_create(conn: Connection, ev: Event) -> None:
    d: Details | None = ev.payload
    if d is None or ev.body.community is None:
        return
    eid = event_id(ev)
    row = _row(conn, eid)
    if row is not None and row["community_id"] != ev.body.community:
        # Only an edit of another community can have claimed this id first: the create decides.
        conn.execute("DELETE FROM hap_events WHERE id = ?", (eid,))
        row = None
    if row is None:
        conn.execute(
            f"INSERT INTO hap_events (id, community_id, creator_id, {_FIELDS}, created, created_hlc,"
            " rev_hlc, rev_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
            (eid, ev.body.community, ev.body.author, *_values(d), ev.body.hlc, ev.body.hlc, ev.id),
        )
        return
    conn.execute(
        "UPDATE hap_events SET created = 1, creator_id = ?, created_hlc = ? WHERE id = ?",
        (ev.body.author, ev.body.hlc, eid),
    )
    if _newer(ev, row):
        _write_fields(conn, eid, ev, d)


def _placeholder(conn: Connection, eid: str, ev: Event, d: Details | None) -> None:
    """An edit or cancel that arrived before its create: kept, not listed, until the create lands."""
    d = d or Details(title="", start_ms=0, time_zone="UTC")
    hlc, rev = (ev.body.hlc, ev.id) if ev.kind == UPDATE else (0, b"")
    conn.execute(
        f"INSERT INTO hap_events (id, community_id, {_FIELDS}, created, rev_hlc, rev_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
        (eid, ev.body.community, *_values(d), hlc, rev),
    )


def apply_update(conn: Connection, ev: Event) -> None:
    d: Details | None = ev.payload
    eid = ev.body.target
    if d is None or eid is None or ev.body.community is None:
        return
    row = _row(conn, eid)
    if row is None:
        _placeholder(conn, eid, ev, d)
    elif row["community_id"] == ev.body.community and _newer(ev, row):
        _write_fields(conn, eid, ev, d)


def apply_cancel(conn: Connection, ev: Event) -> None:
    eid = ev.body.target
    if eid is None or ev.body.community is None:
        return
    if _row(conn, eid) is None:
        _placeholder(conn, eid, ev, None)
    # Cancelling is final: no order of edits brings an event back. Answers given after the earliest
    # cancel do not count (a peer's, sent before it heard of the cancel), whatever order they land in.
    conn.execute(
        "UPDATE hap_events SET cancelled = 1, cancelled_hlc = min(coalesce(cancelled_hlc, ?), ?)"
        " WHERE id = ? AND community_id = ?",
        (ev.body.hlc, ev.body.hlc, eid, ev.body.community),
    )


def apply_rsvp(conn: Connection, ev: Event) -> None:
    a: Answer | None = ev.payload
    eid, user, cid = ev.body.target, ev.body.author, ev.body.community
    if a is None or eid is None or user is None or cid is None:
        return
    conn.execute(
        "INSERT INTO hap_rsvps (event_id, user_id, community_id, status, hlc, rev_id)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id, user_id) DO UPDATE SET"
        " community_id = excluded.community_id, status = excluded.status, hlc = excluded.hlc,"
        " rev_id = excluded.rev_id WHERE (excluded.hlc, excluded.rev_id) > (hap_rsvps.hlc, hap_rsvps.rev_id)",
        (eid, user, cid, a.status, ev.body.hlc, ev.id),
    )


# The communities plugin's kinds that end a membership (Plugin.projections).
DEPARTURES = ("member.leave", "member.kick", "member.ban")
# An answer counts unless its member left the community after giving it.
# (r: hap_rsvps, v: its hap_events row.)
STANDING = (
    "NOT EXISTS (SELECT 1 FROM hap_departures d WHERE d.community_id = r.community_id"
    " AND d.user_id = r.user_id AND d.hlc > r.hlc) AND (v.cancelled_hlc IS NULL OR r.hlc < v.cancelled_hlc)"
)


def apply_departure(conn: Connection, ev: Event) -> None:
    cid, user = ev.body.community, ev.body.target
    if cid is None or user is None or refused(conn, ev.id):
        return
    conn.execute(
        "INSERT INTO hap_departures (community_id, user_id, hlc) VALUES (?, ?, ?) ON CONFLICT"
        " (community_id, user_id) DO UPDATE SET hlc = max(hlc, excluded.hlc)",
        (cid, user, ev.body.hlc),
    )


def clear_community(conn: Connection, community_id: str) -> None:
    conn.execute("DELETE FROM hap_events WHERE community_id = ?", (community_id,))
    conn.execute("DELETE FROM hap_rsvps WHERE community_id = ?", (community_id,))
    conn.execute("DELETE FROM hap_departures WHERE community_id = ?", (community_id,))


def event_types() -> list[EventType]:
    return [
        EventType(CREATE, Details, apply_create, authorize=authorize),
        EventType(UPDATE, Details, apply_update, authorize=authorize),
        EventType(CANCEL, Cancel, apply_cancel, authorize=authorize),
        EventType(RSVP, Answer, apply_rsvp, authorize=authorize),
    ]


# The federation state hash: rows that are a pure function of the community's events.
STATE_QUERIES = {
    "scheduled_events": f"SELECT id, creator_id, {_FIELDS}, cancelled, cancelled_hlc, created FROM hap_events"
    " WHERE community_id = :community ORDER BY id",
    "scheduled_event_rsvps": "SELECT event_id, user_id, status FROM hap_rsvps"
    " WHERE community_id = :community ORDER BY event_id, user_id",
    "scheduled_event_departures": "SELECT user_id, hlc FROM hap_departures"
    " WHERE community_id = :community ORDER BY user_id",
}
