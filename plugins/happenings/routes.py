"""HTTP routes of scheduled events: list, plan, edit, cancel, answer, and the iCal feed."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from cryb_node.http.api import Api, Call
from cryb_node.node import Node

from . import schemas as s
from .ical import feed


def routes(api: Api, node: Node) -> None:
    from . import happenings

    C = "/api/v1/communities/{community_id}"
    E = "/api/v1/scheduled-events/{event_id}"

    @api.route("GET", f"{C}/events", query=s.EventsQuery, response=s.EventList)
    async def list_events(call: Call) -> s.EventList:
        """A community's upcoming and running scheduled events (``past=true``: every one), for whoever
        may read the community (a public one: anyone)."""
        return await happenings(node).upcoming(call.viewer_id, call.path("community_id"), call.query.past)

    @api.route("POST", f"{C}/events", body=s.EventIn, response=s.EventOut, status=201, auth="required",
               bucket="write")  # fmt: skip
    async def create_event(call: Call) -> s.EventOut:
        """Plan an event (MANAGE_EVENTS): title, start/end in an IANA time zone, a channel of the
        community or a place as text, an optional cover image."""
        return await happenings(node).create(call.user_id, call.path("community_id"), call.body)

    @api.route("GET", f"{C}/events.ics", auth="optional", produces="text/calendar")
    async def events_ics(call: Call) -> web.Response:
        """The community's events as an iCalendar feed (RFC 5545), for calendar apps."""
        svc = happenings(node)
        cid = call.path("community_id")
        ref, events = await svc.feed_rows(call.viewer_id, cid)
        names = await svc.channel_names(call.viewer_id, cid)
        base = node.config.base_url or f"{call.request.scheme}://{call.request.host}"
        host = urlsplit(base).hostname or "cryb"
        body = feed(ref, events, host, base.rstrip("/"), names, node.clock.time_ms())
        return web.Response(
            body=body,
            content_type="text/calendar",
            charset="utf-8",
            headers={"Content-Disposition": f'inline; filename="{cid}.ics"'},
        )

    @api.route("GET", E, response=s.EventOut)
    async def get_event(call: Call) -> s.EventOut:
        """One scheduled event, with its counts and your answer."""
        return await happenings(node).get(call.viewer_id, call.path("event_id"))

    @api.route("PATCH", E, body=s.EventPatch, response=s.EventOut, auth="required", bucket="write")
    async def edit_event(call: Call) -> s.EventOut:
        """Change an event (MANAGE_EVENTS); fields left out stay as they are."""
        return await happenings(node).update(call.user_id, call.path("event_id"), call.body)

    @api.route("POST", f"{E}/cancel", response=s.EventOut, auth="required", bucket="write")
    async def cancel_event(call: Call) -> s.EventOut:
        """Cancel an event (MANAGE_EVENTS). Final: it stays listed as cancelled, and the feed says so."""
        return await happenings(node).cancel(call.user_id, call.path("event_id"))

    @api.route("PUT", f"{E}/rsvp", body=s.RsvpIn, response=s.EventOut, auth="required", bucket="write")
    async def rsvp(call: Call) -> s.EventOut:
        """Answer going, interested or none (members only)."""
        return await happenings(node).rsvp(call.user_id, call.path("event_id"), call.body.status)
