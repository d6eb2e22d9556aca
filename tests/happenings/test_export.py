"""A member's data export holds the events they planned and their answers (scheduled_events.json)."""

from __future__ import annotations

from tests.users.test_export import EXPORT, download, read_json, wait_done

from .conftest import event_body, ok


async def test_export_lists_planned_events_and_answers(space) -> None:
    c = space.client
    url = f"/communities/{space.community}/events"
    mine = await ok(c, "POST", url, space.owner, json=event_body(title="Mine"))
    other = await ok(c, "POST", url, space.owner, json=event_body(title="Other"))
    await ok(c, "PUT", f"/scheduled-events/{other['id']}/rsvp", space.member, json={"status": "interested"})
    await ok(c, "PUT", f"/scheduled-events/{mine['id']}/rsvp", space.owner, json={"status": "going"})
    for user, planned, answers in (
        (space.owner, ["Mine", "Other"], [(mine["id"], "Mine", "going")]),
        (space.member, [], [(other["id"], "Other", "interested")]),
    ):
        await ok(c, "POST", EXPORT, user)
        zf = await download(c, user, await wait_done(c, user))
        got = read_json(zf, "scheduled_events.json")
        assert sorted(p["title"] for p in got["planned"]) == planned  # same start: any order
        assert [(a["event_id"], a["title"], a["status"]) for a in got["answers"]] == answers
        assert "scheduled_events.json" in zf.read("README.txt").decode()
