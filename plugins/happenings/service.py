"""The rules of scheduled events: who sees them, planning, editing, cancelling and answering them,
and the reminders sent to those who answered. Every change is a signed event (events.py) that the
rule book decides the same way here and on every peer."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

import msgspec
from msgspec import UNSET

from cryb_node.db import Connection, Row
from cryb_node.events import Tx
from cryb_node.problems import Problem, not_found
from cryb_node.services import (
    COMMUNITY_DIRECTORY,
    DIRECTORY,
    MEDIA_STORE,
    NOTIFIER,
    PERMISSIONS,
    PLACES,
    CommunityRef,
    Notice,
    Perm,
)

from . import events as e
from . import queries
from . import schemas as s

if TYPE_CHECKING:
    from cryb_node.node import Node

log = logging.getLogger(__name__)

GOING_SHOWN = 100
# An event without an end counts as running this long after its start (the page's "happening now").
DEFAULT_LENGTH_MS = 3_600_000


def iso_utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_when(text: str, zone: str, field: str) -> int:
    """ISO 8601 -> UTC ms; a time without an offset is a wall time in ``zone``."""
    try:
        when = datetime.fromisoformat(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=ZoneInfo(zone))
        ms = int(when.timestamp() * 1000)
    except (ValueError, OverflowError):
        raise Problem("invalid_field", 400, f"{field} is not an ISO 8601 date-time", field=field) from None
    if not 0 <= ms <= e.MAX_START_MS + e.MAX_DURATION_MS:
        raise Problem("invalid_field", 400, f"{field} must be between 1970 and the year 9000", field=field)
    return ms


def _zone(name: str) -> str:
    if name not in e.zones():
        raise Problem("invalid_field", 400, "time_zone must be an IANA time zone name", field="time_zone")
    return name


class Happenings:
    def __init__(self, node: Node, settings: s.Settings) -> None:
        self.node = node
        self.settings = settings

    # -- reading ----------------------------------------------------------------------------------

    async def community(self, viewer: str | None, community_id: str) -> CommunityRef:
        """The community if the viewer may read it (public ones: anyone), else 404."""
        ref = await self.node.services.require(COMMUNITY_DIRECTORY).visible(viewer or "", community_id)
        if ref is None:
            raise not_found("community")
        return ref

    async def _row(self, event_id: str) -> Row:
        row = await queries.event(self.node.db, event_id)
        if row is None:
            raise not_found("scheduled event")
        return row

    async def _outs(self, viewer: str | None, rows: list[Row]) -> list[s.EventOut]:
        """Rows of queries.EVENT as the API shows them, with their answers."""
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        going: dict[str, list[str]] = {i: [] for i in ids}
        interested: dict[str, int] = dict.fromkeys(ids, 0)
        mine: dict[str, str] = {}
        for a in await queries.answers(self.node.db, ids):
            eid, user, answer = a["event_id"], a["user_id"], a["status"]
            if answer == "going":
                going[eid].append(user)
            else:
                interested[eid] += 1
            if user == viewer:
                mine[eid] = answer
        store = self.node.services.get(MEDIA_STORE)
        now = self.node.clock.time_ms()
        out = []
        for r in rows:
            eid, start, end, zone = r["id"], r["start_ms"], r["end_ms"], r["time_zone"]
            cover = r["cover_media_id"]
            finish = end if end is not None else start + DEFAULT_LENGTH_MS
            status: Literal["scheduled", "active", "completed", "cancelled"] = (
                "cancelled" if r["cancelled"] else "completed" if finish <= now else "active" if start <= now
                else "scheduled"
            )  # fmt: skip
            tz = ZoneInfo(zone)
            local = datetime.fromtimestamp(start / 1000, tz).isoformat(timespec="seconds")
            local_end = (
                datetime.fromtimestamp(end / 1000, tz).isoformat(timespec="seconds")
                if end is not None
                else None
            )
            out.append(
                s.EventOut(
                    id=eid,
                    community_id=r["community_id"],
                    creator_id=r["creator_id"],
                    title=r["title"],
                    description=r["description"],
                    start=iso_utc(start),
                    end=iso_utc(end) if end is not None else None,
                    time_zone=zone,
                    local_start=local,
                    local_end=local_end,
                    channel_id=r["channel_id"],
                    location_text=r["location_text"],
                    cover_media_id=cover,
                    cover_url=store.url(cover, "original") if cover and store is not None else None,
                    status=status,
                    going_count=len(going[eid]),
                    interested_count=interested[eid],
                    going=going[eid][:GOING_SHOWN],
                    my_rsvp=mine.get(eid, "none"),  # type: ignore[arg-type]
                )
            )
        return out

    async def upcoming(self, viewer: str | None, community_id: str, past: bool = False) -> s.EventList:
        await self.community(viewer, community_id)
        db = self.node.db
        if past:
            rows = await queries.every_event(db, community_id)
        else:
            # upcoming and running ones (an event without an end is shown for an hour after its start)
            now = self.node.clock.time_ms()
            rows = await queries.events_ending_after(db, community_id, now, DEFAULT_LENGTH_MS)
        return s.EventList(await self._outs(viewer, rows))

    async def get(self, viewer: str | None, event_id: str) -> s.EventOut:
        row = await self._row(event_id)
        await self.community(viewer, row["community_id"])
        return (await self._outs(viewer, [row]))[0]

    async def feed_rows(self, viewer: str | None, community_id: str) -> tuple[CommunityRef, list[s.EventOut]]:
        """What the iCal feed lists: every event, cancelled ones too (calendars then drop them)."""
        ref = await self.community(viewer, community_id)
        rows = await queries.every_event(self.node.db, community_id, latest_first=True)
        return ref, await self._outs(viewer, rows)

    async def channel_names(self, viewer: str | None, community_id: str) -> dict[str, str]:
        """Names of the community's channels the viewer may see (a location they may not see stays
        unnamed)."""
        perms = self.node.services.require(PERMISSIONS)
        ids = [a.channel_id for a in await perms.visible_channels(viewer, community_id)]

        places = self.node.services.get(PLACES)
        if places is None or not ids:
            return {}
        found = await places.places(ids)
        return {cid: p.channel_name for cid, p in found.items() if p.channel_name}

    # -- writing ----------------------------------------------------------------------------------

    async def _details(self, user_id: str, community_id: str, d: e.Details) -> e.Details:
        """Check what the API adds to the shared rule (events.invalid): the place and the cover."""
        if (why := e.invalid(d)) is not None:
            raise Problem("invalid_field", 400, why)
        if d.channel_id is not None:
            access = await self.node.services.require(PERMISSIONS).channel(user_id, d.channel_id)
            if access is None or access.community_id != community_id or not access.has(Perm.VIEW_CHANNEL):
                raise Problem("invalid_field", 400, "channel_id is not a channel of this community",
                              field="channel_id")  # fmt: skip
        return d

    async def _cover(self, user_id: str, media_id: str | None) -> None:
        if media_id is None:
            return
        store = self.node.services.get(MEDIA_STORE)
        # A cover is public like a community icon: everyone who sees the event sees it.
        ref = await store.attach(media_id, user_id, None) if store is not None else None
        if ref is None or ref.kind != "image":
            raise Problem("invalid_field", 400, "cover_media_id must be an image you uploaded",
                          field="cover_media_id")  # fmt: skip

    async def _append(self, kind: str, payload: msgspec.Struct, community_id: str, user_id: str,
                      target: str | None) -> str:  # fmt: skip
        def write(tx: Tx) -> str:
            ev = tx.append(kind, payload, community=community_id, author=user_id, target=target)
            return target or e.event_id(ev)

        return await self.node.events.transaction(write)

    async def create(self, user_id: str, community_id: str, body: s.EventIn) -> s.EventOut:
        await self.community(user_id, community_id)
        zone = _zone(body.time_zone)
        start = parse_when(body.start, zone, "start")
        if start <= self.node.clock.time_ms():
            raise Problem("invalid_field", 400, "start must be in the future", field="start")
        d = e.Details(
            title=body.title.strip(), description=body.description, start_ms=start,
            end_ms=parse_when(body.end, zone, "end") if body.end is not None else None, time_zone=zone,
            channel_id=body.channel_id, location_text=body.location_text, cover_media_id=body.cover_media_id,
        )  # fmt: skip
        await self._details(user_id, community_id, d)
        await self._require_manager(user_id, community_id)
        await self._cover(user_id, d.cover_media_id)
        # The rule book decides the event itself (MANAGE_EVENTS): a refusal is the 403 a peer gets.
        eid = await self._append(e.CREATE, d, community_id, user_id, None)
        return await self.get(user_id, eid)

    async def _require_manager(self, user_id: str, community_id: str) -> None:
        """Answer 403 before anything is attached; the rule book checks the event again."""
        have = await self.node.services.require(PERMISSIONS).community(user_id, community_id)
        if not have & (Perm.MANAGE_EVENTS | Perm.ADMINISTRATOR):
            raise Problem("missing_permission", 403, "scheduled events need MANAGE_EVENTS")

    async def _open(self, user_id: str, event_id: str) -> Row:
        row = await self._row(event_id)
        await self.community(user_id, row["community_id"])
        if row["cancelled"]:
            raise Problem("event_cancelled", 409, "this scheduled event was cancelled")
        return row

    async def update(self, user_id: str, event_id: str, patch: s.EventPatch) -> s.EventOut:
        row = await self._open(user_id, event_id)
        cid = row["community_id"]
        await self._require_manager(user_id, cid)
        zone = _zone(patch.time_zone) if patch.time_zone is not UNSET else row["time_zone"]
        d = e.Details(
            title=row["title"], description=row["description"], start_ms=row["start_ms"],
            end_ms=row["end_ms"], time_zone=zone, channel_id=row["channel_id"],
            location_text=row["location_text"], cover_media_id=row["cover_media_id"],
        )  # fmt: skip
        if patch.title is not UNSET:
            d.title = patch.title.strip()
        if patch.description is not UNSET:
            d.description = patch.description
        if patch.start is not UNSET:
            d.start_ms = parse_when(patch.start, zone, "start")
        if patch.end is not UNSET:
            d.end_ms = parse_when(patch.end, zone, "end") if patch.end is not None else None
        if patch.channel_id is not UNSET:
            d.channel_id = patch.channel_id
            if patch.channel_id is not None and patch.location_text is UNSET:
                d.location_text = None  # moving it into a channel leaves the old place
        if patch.location_text is not UNSET:
            d.location_text = patch.location_text
            if patch.location_text is not None and patch.channel_id is UNSET:
                d.channel_id = None
        if patch.cover_media_id is not UNSET:
            d.cover_media_id = patch.cover_media_id
            if patch.cover_media_id != row["cover_media_id"]:
                await self._cover(user_id, patch.cover_media_id)
        await self._details(user_id, cid, d)
        await self._append(e.UPDATE, d, cid, user_id, event_id)
        return await self.get(user_id, event_id)

    async def cancel(self, user_id: str, event_id: str) -> s.EventOut:
        cid = (await self._open(user_id, event_id))["community_id"]
        await self._require_manager(user_id, cid)
        await self._append(e.CANCEL, e.Cancel(), cid, user_id, event_id)
        return await self.get(user_id, event_id)

    async def rsvp(self, user_id: str, event_id: str, status: str) -> s.EventOut:
        cid = (await self._open(user_id, event_id))["community_id"]
        # Membership (and not being banned) is the rule book's: its refusal is the answer.
        await self._append(e.RSVP, e.Answer(status=status), cid, user_id, event_id)  # type: ignore[arg-type]
        return await self.get(user_id, event_id)

    # -- reminders --------------------------------------------------------------------------------

    async def remind(self) -> int:
        """Tell this node's members who answered going or interested that an event starts soon
        (once per member and start time: an event moved later reminds again). Returns how many."""
        notifier = self.node.services.get(NOTIFIER)
        directory = self.node.services.get(DIRECTORY)
        if notifier is None or directory is None:
            return 0
        now = self.node.clock.time_ms()
        rows = await queries.due_reminders(self.node.db, now, now + self.settings.remind_before_s * 1000)
        due = []
        for r in rows:
            user, start, zone = r["user_id"], r["start_ms"], r["time_zone"]
            if await directory.contact(user) is None:
                continue  # another node's member: their own node reminds them
            local = datetime.fromtimestamp(start / 1000, ZoneInfo(zone))
            text = f"{r['title']} starts at {local:%H:%M} ({zone})"
            due.append((r["id"], r["community_id"], start, user, text))

        def write(conn: Connection) -> int:
            told = 0
            for eid, cid, start, user, text in due:
                if queries.mark_reminded(conn, eid, user, start):
                    notifier.record(conn, Notice(kind="event_reminder", user_id=user,
                                                 key=f"event_reminder:{eid}:{user}:{start}",
                                                 community_id=cid, target_id=eid, text=text))  # fmt: skip
                    told += 1
            return told

        return await self.node.db.write(write) if due else 0
