"""Scheduled events across nodes: an event planned on one node and answered from another converges
(same rows, same state hash), and a peer's validly signed events that the same user could not make
through the API are refused by the rule book exactly as the API refuses them."""

from __future__ import annotations

from cryb_plugins.happenings.events import Answer, Cancel, Details

from tests.sync.conftest import federation as federation
from tests.sync.conftest import make_community, mesh
from tests.sync.rogue import Rogue

BODY = {
    "title": "Launch party",
    "start": "2031-05-05T19:00",
    "time_zone": "Asia/Tokyo",
    "location_text": "Roof",
}


async def test_event_planned_on_a_and_answered_from_b_converges(federation) -> None:
    a, b = await federation(2)
    owner = await a.user()
    cid, _ = await make_community(a, owner)
    ev = await a.ok("POST", f"/communities/{cid}/events", owner, json=BODY)
    await b.session(a)
    guest = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", guest, json={})
    seen = await b.ok("GET", f"/scheduled-events/{ev['id']}", guest)
    assert seen["title"] == "Launch party" and seen["local_start"] == "2031-05-05T19:00:00+09:00"
    got = await b.ok("PUT", f"/scheduled-events/{ev['id']}/rsvp", guest, json={"status": "going"})
    assert got["going"] == [guest.id]
    # meanwhile the owner moves it on a
    await a.ok("PATCH", f"/scheduled-events/{ev['id']}", owner, json={"title": "Launch party!"})
    await mesh([a, b])
    for node, user in ((a, owner), (b, guest)):
        out = await node.ok("GET", f"/scheduled-events/{ev['id']}", user)
        assert (out["title"], out["going_count"], out["going"]) == ("Launch party!", 1, [guest.id])
    assert await a.state(cid) == await b.state(cid)
    assert await a.count("SELECT count(*) FROM event_refusals") == 0


async def test_forged_peer_events_are_refused_like_the_api(federation) -> None:
    a, b = await federation(2)
    owner = await a.user()
    cid, _ = await make_community(a, owner)
    ev = await a.ok("POST", f"/communities/{cid}/events", owner, json=BODY)
    await b.session(a)
    member, outsider = await b.user(), await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", member, json={})
    # through the API, b refuses what the member may not do
    status, body = await b.call("POST", f"/communities/{cid}/events", member, json=BODY)
    assert (status, body["code"]) == (403, "missing_permission")
    status, body = await b.call(
        "PUT", f"/scheduled-events/{ev['id']}/rsvp", outsider, json={"status": "going"}
    )
    assert (status, body["code"]) == (403, "not_member")
    # b's operator signs the same things by hand, past every check of its own
    rogue = Rogue(b.node.config.data_path)
    d = Details(title="Free crypto", start_ms=1_999_999_999_000, time_zone="UTC")
    rogue.forge("scheduled_event.create", d, community=cid, author=member.id, target=None)
    rogue.forge("scheduled_event.update", d, community=cid, author=member.id, target=ev["id"])
    rogue.forge("scheduled_event.cancel", Cancel(), community=cid, author=member.id, target=ev["id"])
    rogue.forge(
        "scheduled_event.rsvp", Answer(status="going"), community=cid, author=outsider.id, target=ev["id"]
    )
    bad_zone = Details(title="x", start_ms=1_999_999_999_000, time_zone="Nowhere/Special")
    rogue.forge("scheduled_event.create", bad_zone, community=cid, author=member.id, target=None)
    await a.session(b)
    rows = await a.node.db.fetchall("SELECT kind, code FROM event_refusals ORDER BY hlc")
    assert [tuple(r) for r in rows] == [
        ("scheduled_event.create", "missing_permission"),
        ("scheduled_event.update", "missing_permission"),
        ("scheduled_event.cancel", "missing_permission"),
        ("scheduled_event.rsvp", "not_member"),
        ("scheduled_event.create", "invalid_event"),
    ]
    listed = await a.ok("GET", f"/communities/{cid}/events", owner)
    assert [(e["id"], e["title"], e["status"], e["going_count"]) for e in listed["events"]] == [
        (ev["id"], "Launch party", "scheduled", 0)
    ]


async def test_a_manager_elsewhere_cannot_edit_or_answer_across_communities(federation) -> None:
    a, b = await federation(2)
    owner = await a.user()
    cid, _ = await make_community(a, owner)
    ev = await a.ok("POST", f"/communities/{cid}/events", owner, json=BODY)
    await b.session(a)
    # b's user owns a community of their own (every right there) and is a member of a's
    rogue_user = await b.user()
    own, _ = await make_community(b, rogue_user)
    await b.ok("PUT", f"/communities/{cid}/members/@me", rogue_user, json={})
    await b.ok("PUT", f"/scheduled-events/{ev['id']}/rsvp", rogue_user, json={"status": "going"})
    # signed as events of their own community, aimed at a's event
    rogue = Rogue(b.node.config.data_path)
    d = Details(title="Hijacked", start_ms=1_999_999_999_000, time_zone="UTC")
    rogue.forge("scheduled_event.update", d, community=own, author=rogue_user.id, target=ev["id"])
    rogue.forge("scheduled_event.cancel", Cancel(), community=own, author=rogue_user.id, target=ev["id"])
    await a.session(b)
    assert await a.count("SELECT count(*) FROM event_refusals") == 0  # allowed in their community ...
    out = await a.ok("GET", f"/scheduled-events/{ev['id']}", owner)
    # ... but they change nothing of another community's event
    assert (out["title"], out["status"], out["going"]) == ("Launch party", "scheduled", [rogue_user.id])
    assert (await a.ok("GET", f"/communities/{own}/events", owner))["events"] == []


async def test_an_answer_sent_before_hearing_of_the_cancel_does_not_count(federation) -> None:
    a, b = await federation(2)
    owner = await a.user()
    cid, _ = await make_community(a, owner)
    ev = await a.ok("POST", f"/communities/{cid}/events", owner, json=BODY)
    await b.session(a)
    guest = await b.user()
    await b.ok("PUT", f"/communities/{cid}/members/@me", guest, json={})
    await a.session(b)
    await a.ok("POST", f"/scheduled-events/{ev['id']}/cancel", owner)
    # b has not heard of the cancel: its member's answer is fine there
    got = await b.ok("PUT", f"/scheduled-events/{ev['id']}/rsvp", guest, json={"status": "going"})
    assert (got["status"], got["going_count"]) == ("scheduled", 1)
    await mesh([a, b])
    for node, user in ((a, owner), (b, guest)):
        out = await node.ok("GET", f"/scheduled-events/{ev['id']}", user)
        assert (out["status"], out["going_count"]) == ("cancelled", 0)
    assert await a.state(cid) == await b.state(cid)
    status, body = await b.call("PUT", f"/scheduled-events/{ev['id']}/rsvp", guest, json={"status": "none"})
    assert (status, body["code"]) == (409, "event_cancelled")
