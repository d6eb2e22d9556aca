"""The scheduled events API's typed boundaries: settings, request bodies and answers."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from .events import DESCRIPTION_MAX, LOCATION_MAX, TITLE_MAX

Title = Annotated[str, Meta(min_length=1, max_length=TITLE_MAX)]
Description = Annotated[str, Meta(max_length=DESCRIPTION_MAX)]
Location = Annotated[str, Meta(min_length=1, max_length=LOCATION_MAX)]
When = Annotated[
    str,
    Meta(
        min_length=10,
        max_length=40,
        description="ISO 8601 date-time: with an offset (2026-12-24T18:00:00+01:00, ...Z), or without"
        " one (2026-12-24T18:00) for a wall time in the event's time_zone",
    ),
]
Zone = Annotated[str, Meta(min_length=1, max_length=64, description="IANA time zone, e.g. Europe/Berlin")]
AnyId = Annotated[str, Meta(min_length=1, max_length=64)]
MediaId = Annotated[str, Meta(pattern=r"^[0-9a-hjkmnp-tv-z]{26}$", description="a media id")]


class Settings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[plugin.happenings]``."""

    # Members who answered going or interested are reminded this long before the start.
    remind_before_s: Annotated[int, Meta(ge=60, le=7 * 86400)] = 15 * 60
    # How often the reminder job looks for events starting soon.
    remind_every_s: Annotated[int, Meta(ge=1)] = 30


class EventIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    title: Title
    description: Description = ""
    start: When
    end: When | None = None
    time_zone: Zone
    channel_id: AnyId | None = None  # where: a channel of the community, or
    location_text: Location | None = None  # a place, as text
    cover_media_id: MediaId | None = None


class EventPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    title: Title | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    start: When | UnsetType = UNSET
    end: When | UnsetType | None = UNSET
    time_zone: Zone | UnsetType = UNSET
    channel_id: AnyId | UnsetType | None = UNSET
    location_text: Location | UnsetType | None = UNSET
    cover_media_id: MediaId | UnsetType | None = UNSET


class RsvpIn(msgspec.Struct, forbid_unknown_fields=True):
    status: Literal["going", "interested", "none"]


class EventsQuery(msgspec.Struct, forbid_unknown_fields=True):
    past: bool = False  # also events that ended (or started, without an end) before now


class EventOut(msgspec.Struct, kw_only=True):
    id: str
    community_id: str
    creator_id: str | None
    title: str
    description: str
    start: str  # UTC, ISO 8601 (…Z)
    end: str | None
    time_zone: str
    local_start: str  # the start as a wall time in time_zone, with its offset
    local_end: str | None
    channel_id: str | None
    location_text: str | None
    cover_media_id: str | None
    cover_url: str | None
    status: Literal["scheduled", "active", "completed", "cancelled"]
    going_count: int
    interested_count: int
    going: list[str]  # user ids of members going (the first 100 to answer)
    my_rsvp: Literal["going", "interested", "none"]


class EventList(msgspec.Struct):
    events: list[EventOut]
