"""Who may read analytics: node admins everything, those who manage a community theirs only;
members and anonymous callers nothing. Bad client batches and bad ranges are refused naming the field."""

from __future__ import annotations

import pytest

from cryb_node.app import build_app
from cryb_node.services import Perm

from .conftest import Env, analytics_config


async def test_a_community_owner_reads_their_community_but_not_another(env: Env) -> None:
    alice, bob = await env.user(), await env.user()
    mine, _, _ = await env.community(alice, "mine")
    theirs, _, _ = await env.community(bob, "theirs")
    await env.join(alice, theirs)  # even as a member there
    assert (await env.call("GET", f"/communities/{mine}/analytics", alice))[0] == 200
    status, body = await env.call("GET", f"/communities/{theirs}/analytics", alice)
    assert (status, body["code"]) == (403, "forbidden")
    status, _ = await env.call(
        "GET", f"/communities/{theirs}/analytics/export", alice, params={"table": "daily"}
    )
    assert status == 403
    assert (await env.call("GET", "/analytics/node", alice))[0] == 403  # node figures: admins only


async def test_members_and_anonymous_callers_are_refused(env: Env) -> None:
    owner, member = await env.user(), await env.user()
    cid, _, _ = await env.community(owner)
    await env.join(member, cid)
    assert (await env.call("GET", f"/communities/{cid}/analytics", member))[0] == 403
    assert (await env.call("GET", f"/communities/{cid}/analytics"))[0] == 401
    assert (await env.call("GET", "/analytics/node"))[0] == 401
    assert (await env.call("GET", "/analytics/node/export"))[0] == 401


async def test_a_member_with_manage_community_may_read_and_a_node_admin_reads_everything(env: Env) -> None:
    owner, manager = await env.user(), await env.user()
    cid, _, _ = await env.community(owner)
    await env.join(manager, cid)
    role = await env.ok(
        "POST", f"/communities/{cid}/roles", owner, json={"name": "mgr", "perms": int(Perm.MANAGE_COMMUNITY)}
    )
    await env.ok("PUT", f"/communities/{cid}/members/{manager.id}/roles/{role['id']}", owner)
    assert (await env.call("GET", f"/communities/{cid}/analytics", manager))[0] == 200
    admin = await env.admin()
    assert (await env.call("GET", f"/communities/{cid}/analytics", admin))[0] == 200
    status, body = await env.call("GET", "/analytics/node", admin)
    assert status == 200 and body["scope"] == "node"
    resp = await env.client.get("/api/v1/analytics/node/export", headers=admin.h, params={"table": "hours"})
    assert resp.status == 200 and resp.content_type == "text/csv"
    assert (await resp.text()).splitlines()[0] == "weekday," + ",".join(map(str, range(24)))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "events"),
        ({"events": []}, "events"),
        ({"events": [{"type": "page_view", "name": "/x"}] * 51}, "events"),
        ({"events": [{"type": "scroll", "name": "/x"}]}, "events[0].type"),
        ({"events": [{"type": "page_view"}]}, "events[0].name"),
        ({"events": [{"type": "page_view", "name": "mail alice@example.test"}]}, "events[0].name"),
        ({"events": [{"type": "page_view", "name": "x" * 101}]}, "events[0].name"),
        ({"events": [{"type": "page_view", "name": "/x", "ip": "10.0.0.1"}]}, "events[0].ip"),
        ({"events": [{"type": "page_view", "name": "/x", "community_id": "a b"}]}, "events[0].community_id"),
        ({"events": [{"type": "page_view", "name": "/x"}], "user": "u"}, "user"),
    ],
)
async def test_bad_client_batches_are_refused_naming_the_field_and_store_nothing(
    env: Env, body, field
) -> None:
    status, problem = await env.call("POST", "/analytics/events", json=body)
    assert (status, problem["field"]) == (400, field), problem
    assert await env.node.db.fetchval("SELECT count(*) FROM analytics_events") == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2025-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2025-03-02", "to": "2025-03-01"}, "from"),
        ({"from": "2023-01-01", "to": "2025-01-01"}, "from"),
        ({"table": "users"}, "table"),
    ],
)
async def test_bad_report_ranges_are_refused_naming_the_field(env: Env, params, field) -> None:
    admin = await env.admin()
    status, problem = await env.call("GET", "/analytics/node/export", admin, params=params)
    assert (status, problem["field"]) == (400, field), problem


async def test_client_batches_have_their_own_rate_limit_bucket(aiohttp_client, tmp_path) -> None:
    limits = {"enabled": True, "buckets": {"analytics": {"limit": 2, "window_s": 60}}}
    client = await aiohttp_client(build_app(analytics_config(tmp_path / "d", rate_limits=limits)))
    batch = {"events": [{"type": "page_view", "name": "/home"}]}
    for _ in range(2):
        resp = await client.post("/api/v1/analytics/events", json=batch)
        assert resp.status == 202 and resp.headers["X-RateLimit-Bucket"] == "analytics"
    resp = await client.post("/api/v1/analytics/events", json=batch)
    assert resp.status == 429 and "Retry-After" in resp.headers
    assert (await client.get("/api/v1/node")).status == 200  # other buckets are untouched
