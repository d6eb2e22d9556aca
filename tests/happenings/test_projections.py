"""The projections of scheduled events are order-independent: whatever order a node applies a
community's events in (a peer's arrive in any order; a late verdict rebuilds from scratch), it ends
with the same rows."""

from __future__ import annotations

import random

from cryb_plugins.happenings.events import DEPARTURES, KINDS, apply_departure, clear_community

from cryb_node.appkeys import NODE
from cryb_node.events import decode_row

from .conftest import event_body, ok

ROWS = (
    "SELECT id, community_id, creator_id, title, description, start_ms, end_ms, time_zone, channel_id,"
    " location_text, cover_media_id, cancelled, cancelled_hlc, created FROM hap_events ORDER BY id"
)
ANSWERS = "SELECT event_id, user_id, status FROM hap_rsvps ORDER BY event_id, user_id"
LEFT = "SELECT community_id, user_id, hlc FROM hap_departures ORDER BY user_id"


async def test_any_order_gives_the_same_rows(space) -> None:
    c, url = space.client, f"/communities/{space.community}/events"
    a = await ok(c, "POST", url, space.owner, json=event_body(title="A"))
    b = await ok(c, "POST", url, space.owner, json=event_body(title="B"))
    third = await space.join()
    for title in ("A2", "A3", "A4"):
        await ok(c, "PATCH", f"/scheduled-events/{a['id']}", space.owner, json={"title": title})
    for status in ("going", "interested", "none", "going"):
        await ok(c, "PUT", f"/scheduled-events/{a['id']}/rsvp", space.member, json={"status": status})
    await ok(c, "PUT", f"/scheduled-events/{b['id']}/rsvp", third, json={"status": "interested"})
    await ok(c, "PATCH", f"/scheduled-events/{b['id']}", space.owner, json={"title": "B2"})
    await ok(c, "POST", f"/scheduled-events/{b['id']}/cancel", space.owner)
    # third leaves, comes back and answers again: the answer before the leave stays out
    await ok(c, "DELETE", f"/communities/{space.community}/members/@me", third)
    await ok(c, "PUT", f"/communities/{space.community}/members/@me", third, json={})
    await ok(c, "PUT", f"/scheduled-events/{a['id']}/rsvp", third, json={"status": "going"})
    node = c.app[NODE]
    want = (await node.db.fetchall(ROWS), await node.db.fetchall(ANSWERS), await node.db.fetchall(LEFT))
    kinds = (*KINDS, *DEPARTURES)
    marks = ",".join("?" * len(kinds))
    rows = await node.db.fetchall(
        "SELECT e.pos, e.id, e.body, c.content FROM events e LEFT JOIN event_content c ON c.event_id = e.id"
        f" WHERE e.kind IN ({marks}) ORDER BY e.pos",
        kinds,
    )
    events = [decode_row(node.registry, r) for r in rows]
    assert len(events) == 14
    shuffle = random.Random(26)
    for attempt in range(20):
        order = events[::-1] if attempt == 0 else shuffle.sample(events, len(events))

        def replay(conn, order=order):
            clear_community(conn, space.community)
            for ev in order:
                if ev.kind in DEPARTURES:
                    apply_departure(conn, ev)  # only this plugin's projection of it
                else:
                    node.registry.get(ev.kind).apply(conn, ev)

        await node.db.write(replay)
        got = (await node.db.fetchall(ROWS), await node.db.fetchall(ANSWERS), await node.db.fetchall(LEFT))
        assert got == want, f"order {[ev.kind for ev in order]}"
