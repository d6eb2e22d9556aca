"""No raw analytics row names anyone in clear; opting out (or Do-Not-Track) stops all tracking of
a user and deletes what was kept; erasure deletes too; the key file is private."""

from __future__ import annotations

import stat
from typing import Any

from cryb_plugins.analytics.privacy import KEY_FILE

from tests.users_fixtures import PASSWORD

from .conftest import Env, at

TABLES = (
    "analytics_events",
    "analytics_cohort_members",
    "analytics_optout",
    "analytics_salts",
    "analytics_state",
    "analytics_daily_actives",
    "analytics_daily_content",
    "analytics_daily_posts",
    "analytics_daily_hours",
    "analytics_daily_moderation",
    "analytics_daily_pages",
    "analytics_cohorts",
    "analytics_retention",
)


async def all_analytics_values(env: Env) -> list[Any]:
    values: list[Any] = []
    for table in TABLES:
        for row in await env.node.db.fetchall(f"SELECT * FROM {table}"):
            values.extend(row)
    return values


async def test_no_analytics_row_holds_a_user_id_email_ip_or_username(env: Env) -> None:
    env.clock.set(at("2025-03-03"))
    names = ["zelda_q", "yorick_q"]
    alice, bob = await env.user(names[0]), await env.user(names[1])
    community, general, forum = await env.community(alice)
    await env.join(bob, community)
    await env.say(alice, general, "hello from zelda")
    post = await env.ok("POST", f"/channels/{forum}/posts", bob, json={"title": "t"})
    await env.ok("POST", f"/posts/{post['id']}/comments", alice, json={"body": "c"})
    events = [{"type": "page_view", "name": "/home"}, {"type": "ui_action", "name": "composer.send"}]
    await env.ok(
        "POST",
        "/analytics/events",
        bob,
        json={"events": events},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    await env.ok("POST", "/analytics/events", json={"events": events})
    await env.caught_up()
    await env.svc.run_job()
    rows = await env.node.db.fetchval("SELECT count(*) FROM analytics_events WHERE actor_w IS NOT NULL")
    assert rows >= 8
    secrets = [
        alice.id,
        bob.id,
        *names,
        f"{names[0]}@example.test",
        f"{names[1]}@example.test",
        "127.0.0.1",
        "203.0.113.9",
    ]
    values = await all_analytics_values(env)
    for secret in secrets:
        leaks = [
            v
            for v in values
            if isinstance(v, str | bytes) and secret.encode() in (v if isinstance(v, bytes) else v.encode())
        ]
        assert not leaks, (secret, leaks[:3])
    # And on disk: the raw bytes of the database (and its WAL) after the tables were written.
    await env.node.db.write(lambda conn: None)
    blob = b"".join(p.read_bytes() for p in env.node.data_dir.glob("cryb.db*"))
    # The file holds other plugins' tables too (user ids are in the event log by design), so find
    # the analytics rows' own records: each raw row's bytes carry its actor hash, never an id.
    hashes = await env.node.db.fetchall("SELECT actor_w FROM analytics_events WHERE actor_w IS NOT NULL")
    for (h,) in hashes:
        at_ = blob.find(h.encode())
        assert at_ >= 0
        record = blob[max(0, at_ - 120) : at_ + 120]
        for secret in secrets:
            assert secret.encode() not in record, secret
    key = env.node.data_dir / "keys" / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


async def test_opting_out_stops_server_and_client_tracking_and_deletes_kept_rows(env: Env) -> None:
    env.clock.set(at("2025-03-03"))
    alice, bob = await env.user(), await env.user()
    community, general, _ = await env.community(alice)
    await env.join(bob, community)
    await env.say(bob, general)
    page = {"events": [{"type": "page_view", "name": "/home"}]}
    await env.ok("POST", "/analytics/events", bob, json=page)
    await env.caught_up()
    before = await env.node.db.fetchval("SELECT count(*) FROM analytics_events")

    assert await env.ok("GET", "/analytics/opt-out", bob) == {"opted_out": False}
    assert await env.ok("PUT", "/analytics/opt-out", bob) == {"opted_out": True}
    assert await env.ok("GET", "/analytics/opt-out", bob) == {"opted_out": True}
    after_optout = await env.node.db.fetchval("SELECT count(*) FROM analytics_events")
    assert after_optout == before - 4  # bob's sign-up, join, message and page view are gone
    await env.say(bob, general)  # server side: not recorded
    assert await env.ok("POST", "/analytics/events", bob, json=page) == {"accepted": 0}  # client side
    await env.say(alice, general)  # others still are
    await env.caught_up()
    assert await env.node.db.fetchval("SELECT count(*) FROM analytics_events") == after_optout + 1

    assert await env.ok("DELETE", "/analytics/opt-out", bob) == {"opted_out": False}
    assert await env.ok("POST", "/analytics/events", bob, json=page) == {"accepted": 1}


async def test_do_not_track_and_global_privacy_control_are_honoured(env: Env) -> None:
    page = {"events": [{"type": "page_view", "name": "/home"}]}
    for header in ({"DNT": "1"}, {"Sec-GPC": "1"}):
        assert await env.ok("POST", "/analytics/events", json=page, headers=header) == {"accepted": 0}
    assert await env.node.db.fetchval("SELECT count(*) FROM analytics_events") == 0


async def test_erasing_an_account_deletes_its_analytics_rows(env: Env) -> None:
    env.clock.set(at("2025-03-03"))
    alice = await env.user()
    _, general, _ = await env.community(alice)
    await env.say(alice, general)
    await env.caught_up()
    assert await env.node.db.fetchval("SELECT count(*) FROM analytics_events WHERE actor_w IS NOT NULL") == 3
    await env.ok("DELETE", "/users/@me", alice, json={"password": PASSWORD})  # appends user.erased
    await env.caught_up()
    assert await env.node.db.fetchval("SELECT count(*) FROM analytics_events WHERE actor_w IS NOT NULL") == 0
    assert await env.node.db.fetchval("SELECT count(*) FROM analytics_cohort_members") == 0
