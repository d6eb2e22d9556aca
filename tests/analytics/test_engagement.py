"""Engagement figures from a generated history under a fixed clock, against hand-computed values;
rollups that are idempotent and rebuildable."""

from __future__ import annotations

from typing import Any

from cryb_plugins.analytics import rollup

from .conftest import Env, at

# Who is active (message/post/comment/reaction/vote/page view) on which day of the history:
#   W0 (Mon 2025-02-24): Feb 26 alice, bob (both sign up, alice creates the community, bob joins)
#                        Feb 27 bob
#   W1 (Mon 2025-03-03): Mar 3 carol (signs up, joins), alice;  Mar 4 carol, alice (post), bob (comment)
#   W2 (Mon 2025-03-10): Mar 10 dave (signs up, joins), bob;    Mar 12 carol (+ page views)
#   W3 (Mon 2025-03-17): Mar 17 carol; alice kicks dave


async def build_history(env: Env) -> dict[str, Any]:
    c = env.clock
    c.set(at("2025-02-26"))
    alice, bob = await env.user("alice"), await env.user("bob")
    community, general, forum = await env.community(alice)
    await env.say(alice, general)
    await env.join(bob, community)
    await env.say(bob, general)
    c.set(at("2025-02-27"))
    await env.say(bob, general)
    c.set(at("2025-03-03", 9))
    carol = await env.user("carol")
    await env.join(carol, community)
    await env.say(carol, general)
    c.set(at("2025-03-03", 14))
    await env.say(alice, general)
    c.set(at("2025-03-04"))
    await env.say(carol, general)
    await env.say(carol, general)
    post = await env.ok("POST", f"/channels/{forum}/posts", alice, json={"title": "welcome"})
    await env.ok("POST", f"/posts/{post['id']}/comments", bob, json={"body": "hi"})
    await env.ok("PUT", f"/posts/{post['id']}/vote", carol, json={"value": 1})
    await env.ok("PUT", f"/posts/{post['id']}/reactions/👍", bob)
    c.set(at("2025-03-10"))
    dave = await env.user("dave")
    await env.join(dave, community)
    await env.say(dave, general)
    await env.say(bob, general)
    c.set(at("2025-03-12"))
    await env.say(carol, general)
    c.set(at("2025-03-12", 15))
    page = {"type": "page_view", "name": "/c/{community}", "community_id": community}
    assert (await env.ok("POST", "/analytics/events", carol, json={"events": [page]}))["accepted"] == 1
    assert (await env.ok("POST", "/analytics/events", json={"events": [page]}))["accepted"] == 1
    c.set(at("2025-03-17"))
    await env.say(carol, general)
    await env.ok("POST", f"/communities/{community}/members/{dave.id}/kick", alice, json={})
    await env.caught_up()
    c.set(at("2025-03-24", 0))
    return {"alice": alice, "community": community, "general": general, "forum": forum, "post": post["id"]}


def days_of(report: dict[str, Any]) -> dict[str, tuple[int, int, int, int]]:
    return {d["day"]: (d["dau"], d["wau"], d["mau"], d["new_members"]) for d in report["days"]}


async def test_dau_wau_mau_and_retention_cohorts_equal_hand_computed_values(env: Env) -> None:
    h = await build_history(env)
    await env.svc.run_job()
    admin = await env.admin()
    rng = {"from": "2025-02-24", "to": "2025-03-23"}
    node = await env.ok("GET", "/analytics/node", admin, params=rng)
    days = days_of(node)
    # (DAU, WAU = ISO week to date, MAU = calendar month to date, accounts created)
    assert days["2025-02-26"] == (2, 2, 2, 2)
    assert days["2025-02-27"] == (1, 2, 2, 0)
    assert days["2025-03-03"] == (2, 2, 2, 1)
    assert days["2025-03-04"] == (3, 3, 3, 0)
    assert days["2025-03-05"] == (0, 3, 3, 0)  # a quiet day keeps its week's and month's figures
    assert days["2025-03-10"] == (2, 2, 4, 1)
    assert days["2025-03-12"] == (1, 3, 4, 0)
    assert days["2025-03-17"] == (1, 1, 4, 0)
    assert days["2025-03-23"] == (0, 1, 4, 0)
    assert [(w["start"], w["actives"]) for w in node["weeks"]] == [
        ("2025-02-24", 2),
        ("2025-03-03", 3),
        ("2025-03-10", 3),
        ("2025-03-17", 1),
    ]
    assert [(m["start"], m["actives"]) for m in node["months"]] == [("2025-02-01", 2), ("2025-03-01", 4)]
    # Sign-up cohorts: alice+bob (W0), carol (W1), dave (W2); actives in each following week.
    assert [(r["week"], r["size"], r["active"]) for r in node["retention"]] == [
        ("2025-02-24", 2, [2, 2, 1, 0]),
        ("2025-03-03", 1, [1, 1, 1]),
        ("2025-03-10", 1, [1, 0]),
    ]

    owner = h["alice"]
    com = await env.ok("GET", f"/communities/{h['community']}/analytics", owner, params=rng)
    joined = {
        d["day"]: (d["new_members"], d["left_members"])
        for d in com["days"]
        if d["new_members"] or d["left_members"]
    }
    assert joined == {"2025-02-26": (2, 0), "2025-03-03": (1, 0), "2025-03-10": (1, 0), "2025-03-17": (0, 1)}
    assert {d: v[:3] for d, v in days_of(com).items()} == {d: v[:3] for d, v in days.items()}
    # Join cohorts: the owner counts as joining when she created the community.
    assert [(r["week"], r["size"], r["active"]) for r in com["retention"]] == [
        ("2025-02-24", 2, [2, 2, 1, 0]),
        ("2025-03-03", 1, [1, 1, 1]),
        ("2025-03-10", 1, [1, 0]),
    ]
    per_day = {
        d["day"]: (d["messages"], d["posts"], d["comments"], d["reactions"], d["votes"]) for d in com["days"]
    }
    # Two votes that day: the post's author's own upvote (every post starts with one) and carol's.
    assert per_day["2025-03-04"] == (2, 1, 1, 1, 2)
    assert sum(v[0] for v in per_day.values()) == 11
    assert [(c["channel_id"], c["messages"], c["total"]) for c in com["top_channels"]] == [
        (h["general"], 11, 11),
        (h["forum"], 0, 5),
    ]
    assert [(p["post_id"], p["comments"], p["reactions"], p["votes"]) for p in com["top_posts"]] == [
        (h["post"], 1, 1, 2)
    ]
    assert com["moderation"] == [{"action": "kick", "count": 1}]
    assert com["pages"] == [{"kind": "page_view", "name": "/c/{community}", "count": 2}]
    heat = com["heatmap"]  # [weekday][UTC hour], Monday = 0
    assert (heat[0][9], heat[0][10], heat[0][14], heat[1][10], heat[2][10], heat[2][15], heat[3][10]) == (
        1, 3, 1, 7, 3, 2, 1,
    )  # fmt: skip
    assert sum(map(sum, heat)) == 18

    csv = await env.client.get(
        f"/api/v1/communities/{h['community']}/analytics/export",
        headers=owner.h,
        params={**rng, "table": "retention"},
    )
    assert csv.status == 200 and csv.content_type == "text/csv"
    assert (await csv.text()).splitlines() == [
        "cohort,size,week_0,week_1,week_2,week_3",
        "2025-02-24,2,2,2,1,0",
        "2025-03-03,1,1,1,1",
        "2025-03-10,1,1,0",
    ]


async def dump(env: Env) -> dict[str, list[tuple]]:
    return await env.node.db.write(rollup.dump)


async def test_rollups_are_idempotent_and_rebuild_to_identical_tables(env: Env) -> None:
    await build_history(env)
    raw = await env.node.db.fetchval("SELECT count(*) FROM analytics_events")
    await env.svc.run_job()
    first = await dump(env)
    assert len(first["analytics_daily_actives"]) > 20 and first["analytics_retention"]
    await env.svc.run_job()  # the job again: replaces, never adds
    assert await dump(env) == first
    # The job started at the first day with raw rows; rebuild the same span (what the CLI calls).
    since, until, days = await env.svc.rollup(at("2025-02-26").date())
    assert (str(since), str(until), days) == ("2025-02-26", "2025-03-24", 27)
    assert await dump(env) == first

    def wipe(conn: Any) -> None:
        for table in rollup.ALL_TABLES:
            conn.execute(f"DELETE FROM {table}")

    await env.node.db.write(wipe)
    await env.svc.rollup(at("2025-02-26").date())
    assert await dump(env) == first
    # Rebuilding one day in the middle of a week leaves that week's retention figures whole.
    await env.svc.rollup(at("2025-03-05").date(), at("2025-03-05").date())
    assert await dump(env) == first
    assert await env.node.db.fetchval("SELECT count(*) FROM analytics_events") == raw


async def test_a_user_active_in_two_weeks_counts_once_in_the_month(env: Env) -> None:
    env.clock.set(at("2025-03-07"))  # Friday of one ISO week ...
    owner = await env.user("owner1")
    _, general, _ = await env.community(owner)
    await env.say(owner, general)
    env.clock.set(at("2025-03-11"))  # ... and Tuesday of the next: another weekly salt
    await env.say(owner, general)
    await env.caught_up()
    env.clock.set(at("2025-03-12"))
    await env.svc.rollup(at("2025-03-07").date())
    rows = await env.node.db.fetchall(
        "SELECT day, dau, wau, mau FROM analytics_daily_actives WHERE community_id = '' ORDER BY day"
    )
    assert [tuple(r) for r in rows] == [
        ("2025-03-07", 1, 1, 1),
        ("2025-03-08", 0, 1, 1),
        ("2025-03-09", 0, 1, 1),
        ("2025-03-10", 0, 0, 1),
        ("2025-03-11", 1, 1, 1),
        ("2025-03-12", 0, 1, 1),
    ]
    # The two weeks' hashes of the same person differ (rotating salt); the month's is one.
    hashes = await env.node.db.fetchall(
        "SELECT DISTINCT actor_w, actor_m FROM analytics_events WHERE kind = 'message'"
    )
    assert len({r[0] for r in hashes}) == 2 and len({r[1] for r in hashes}) == 1
