"""Authorization sweep: every operation in /api/openapi.json has a declared audience, and the node
enforces it for anonymous callers, signed-in users without any standing, and unsigned peers.

A route added without a line in ROUTES fails this test: classify it (and give it a role matrix in its
plugin's tests when it is community-scoped). The community and content suites run the full
member/moderator/owner/banned/timed-out matrices (tests/communities/test_authorization.py,
tests/content/test_authorization.py); this sweep makes sure nothing is left out of any matrix.

Audiences: public (anyone), optional (anyone; what they see depends on who they are), user (signed
in), admin (node admins), peer (signed federation calls from pinned nodes).
"""

from __future__ import annotations

import re

import pytest

from cryb_node.app import build_app
from tests.conftest import make_config
from tests.users_fixtures import FAST_HASHING, auth, register_user

ROUTES: dict[str, str] = {
    "GET /.well-known/cryb-node": "public",
    "GET /api/docs": "public",
    "GET /api/docs/static/init.js": "public",
    "GET /api/openapi.json": "public",
    "GET /api/v1/admin/applications": "admin",
    "POST /api/v1/admin/applications/{user_id}/approve": "admin",
    "POST /api/v1/admin/applications/{user_id}/reject": "admin",
    "GET /api/v1/admin/audit": "admin",
    "GET /api/v1/admin/backups": "admin",
    "GET /api/v1/admin/db/export": "admin",
    "POST /api/v1/admin/db/query": "admin",
    "GET /api/v1/admin/db/tables": "admin",
    "GET /api/v1/admin/bans": "admin",
    "POST /api/v1/admin/bans": "admin",
    "DELETE /api/v1/admin/bans/{ban_id}": "admin",
    "GET /api/v1/admin/media": "admin",
    "POST /api/v1/admin/media/takedown": "admin",
    "GET /api/v1/admin/media/blocklist": "admin",
    "POST /api/v1/admin/media/blocklist": "admin",
    "DELETE /api/v1/admin/media/blocklist/{sha256}": "admin",
    "POST /api/v1/admin/media/{media_id}/takedown": "admin",
    "GET /api/v1/admin/peers": "admin",
    "GET /api/v1/admin/users": "admin",
    "DELETE /api/v1/admin/users/{user_id}": "admin",
    "GET /api/v1/admin/users/{user_id}": "admin",
    "PATCH /api/v1/admin/users/{user_id}": "admin",
    "POST /api/v1/admin/users/{user_id}/purge-content": "admin",
    "POST /api/v1/admin/users/{user_id}/sign-out": "admin",
    "GET /api/v1/admin/reports": "admin",
    "PATCH /api/v1/admin/reports/{report_id}": "admin",
    "GET /api/v1/admin/registration-tokens": "admin",
    "POST /api/v1/admin/registration-tokens": "admin",
    "DELETE /api/v1/admin/registration-tokens/{token_id}": "admin",
    "POST /api/v1/admin/users": "admin",
    "POST /api/v1/analytics/events": "optional",
    "GET /api/v1/analytics/node": "admin",
    "GET /api/v1/analytics/node/export": "admin",
    "DELETE /api/v1/analytics/opt-out": "user",
    "GET /api/v1/analytics/opt-out": "user",
    "PUT /api/v1/analytics/opt-out": "user",
    "POST /api/v1/auth/login": "public",
    "POST /api/v1/auth/logout": "user",
    "GET /api/v1/auth/oauth": "public",
    "GET /api/v1/auth/oauth/{provider}/callback": "public",
    "GET /api/v1/auth/oauth/{provider}/login": "public",
    "POST /api/v1/auth/oauth/{provider}/start": "optional",
    "POST /api/v1/auth/password-reset": "public",
    "POST /api/v1/auth/password-reset/confirm": "public",
    "POST /api/v1/auth/refresh": "public",
    "POST /api/v1/auth/register": "public",
    "GET /api/v1/auth/registration": "public",
    "POST /api/v1/auth/setup": "public",
    "GET /api/v1/auth/verify-email": "public",
    "POST /api/v1/auth/verify-email": "public",
    "DELETE /api/v1/channels/{channel_id}": "user",
    "GET /api/v1/channels/{channel_id}": "optional",
    "PATCH /api/v1/channels/{channel_id}": "user",
    "GET /api/v1/channels/{channel_id}/messages": "optional",
    "POST /api/v1/channels/{channel_id}/messages": "user",
    "DELETE /api/v1/channels/{channel_id}/messages/{message_id}": "user",
    "GET /api/v1/channels/{channel_id}/messages/{message_id}": "optional",
    "PATCH /api/v1/channels/{channel_id}/messages/{message_id}": "user",
    "POST /api/v1/channels/{channel_id}/messages/{message_id}/ack": "user",
    "GET /api/v1/channels/{channel_id}/messages/{message_id}/history": "user",
    "DELETE /api/v1/channels/{channel_id}/overwrites/{target_type}/{target_id}": "user",
    "PUT /api/v1/channels/{channel_id}/overwrites/{target_type}/{target_id}": "user",
    "GET /api/v1/channels/{channel_id}/permissions": "optional",
    "GET /api/v1/channels/{channel_id}/pins": "optional",
    "GET /api/v1/channels/{channel_id}/threads": "optional",
    "DELETE /api/v1/channels/{channel_id}/pins/{message_id}": "user",
    "PUT /api/v1/channels/{channel_id}/pins/{message_id}": "user",
    "GET /api/v1/channels/{channel_id}/posts": "optional",
    "POST /api/v1/channels/{channel_id}/posts": "user",
    "DELETE /api/v1/comments/{comment_id}": "user",
    "GET /api/v1/comments/{comment_id}": "optional",
    "PATCH /api/v1/comments/{comment_id}": "user",
    "PUT /api/v1/comments/{comment_id}/vote": "user",
    "POST /api/v1/comments/{target_id}/moderation": "user",
    "DELETE /api/v1/comments/{target_id}/reactions/{emoji}": "user",
    "GET /api/v1/comments/{target_id}/reactions/{emoji}": "optional",
    "PUT /api/v1/comments/{target_id}/reactions/{emoji}": "user",
    "GET /api/v1/communities": "optional",
    "POST /api/v1/communities": "user",
    "DELETE /api/v1/communities/{community_id}": "user",
    "GET /api/v1/communities/{community_id}": "optional",
    "PATCH /api/v1/communities/{community_id}": "user",
    "GET /api/v1/communities/{community_id}/analytics": "user",
    "GET /api/v1/communities/{community_id}/analytics/export": "user",
    "POST /api/v1/communities/{community_id}/automod/check": "user",
    "GET /api/v1/communities/{community_id}/automod/rules": "user",
    "POST /api/v1/communities/{community_id}/automod/rules": "user",
    "DELETE /api/v1/communities/{community_id}/automod/rules/{rule_id}": "user",
    "PUT /api/v1/communities/{community_id}/automod/rules/{rule_id}": "user",
    "GET /api/v1/communities/{community_id}/bans": "user",
    "DELETE /api/v1/communities/{community_id}/bans/{user_id}": "user",
    "PUT /api/v1/communities/{community_id}/bans/{user_id}": "user",
    "GET /api/v1/communities/{community_id}/channels": "optional",
    "POST /api/v1/communities/{community_id}/channels": "user",
    "PUT /api/v1/communities/{community_id}/channels/positions": "user",
    "GET /api/v1/communities/{community_id}/emojis": "optional",
    "POST /api/v1/communities/{community_id}/emojis": "user",
    "DELETE /api/v1/communities/{community_id}/emojis/{emoji_id}": "user",
    "PATCH /api/v1/communities/{community_id}/emojis/{emoji_id}": "user",
    "GET /api/v1/communities/{community_id}/invites": "user",
    "POST /api/v1/communities/{community_id}/invites": "user",
    "GET /api/v1/communities/{community_id}/members": "user",
    "DELETE /api/v1/communities/{community_id}/members/@me": "user",
    "PUT /api/v1/communities/{community_id}/members/@me": "user",
    "PUT /api/v1/communities/{community_id}/members/@me/self-roles/{role_id}": "user",
    "DELETE /api/v1/communities/{community_id}/members/@me/self-roles/{role_id}": "user",
    "GET /api/v1/communities/{community_id}/onboarding": "optional",
    "GET /api/v1/saved": "user",
    "POST /api/v1/channels/{channel_id}/messages/{message_id}/forward": "user",
    "GET /api/v1/channels/{channel_id}/tags": "optional",
    "PUT /api/v1/channels/{channel_id}/tags": "user",
    "GET /api/v1/saved/{target_type}/{target_id}": "user",
    "PUT /api/v1/saved/{target_type}/{target_id}": "user",
    "DELETE /api/v1/saved/{target_type}/{target_id}": "user",
    "PUT /api/v1/communities/{community_id}/onboarding": "user",
    "POST /api/v1/communities/{community_id}/onboarding/accept": "user",
    "GET /api/v1/communities/{community_id}/members/{user_id}": "user",
    "POST /api/v1/communities/{community_id}/members/{user_id}/kick": "user",
    "DELETE /api/v1/communities/{community_id}/members/{user_id}/roles/{role_id}": "user",
    "PUT /api/v1/communities/{community_id}/members/{user_id}/roles/{role_id}": "user",
    "DELETE /api/v1/communities/{community_id}/members/{user_id}/timeout": "user",
    "PUT /api/v1/communities/{community_id}/members/{user_id}/timeout": "user",
    "GET /api/v1/communities/{community_id}/modlog": "optional",
    "GET /api/v1/communities/{community_id}/posts": "optional",
    "GET /api/v1/communities/{community_id}/reports": "user",
    "POST /api/v1/communities/{community_id}/reports": "user",
    "PATCH /api/v1/communities/{community_id}/reports/{report_id}": "user",
    "GET /api/v1/communities/{community_id}/roles": "optional",
    "POST /api/v1/communities/{community_id}/roles": "user",
    "DELETE /api/v1/communities/{community_id}/roles/{role_id}": "user",
    "PATCH /api/v1/communities/{community_id}/roles/{role_id}": "user",
    "POST /api/v1/communities/{community_id}/transfer": "user",
    "GET /api/v1/demo/notes": "optional",
    "POST /api/v1/demo/notes": "optional",
    "GET /api/v1/demo/notes/{note_id}": "optional",
    "GET /api/v1/dms": "user",
    "POST /api/v1/dms": "user",
    "GET /api/v1/feed/home": "user",
    "DELETE /api/v1/invites/{code}": "user",
    "GET /api/v1/invites/{code}": "optional",
    "POST /api/v1/invites/{code}": "user",
    "POST /api/v1/markdown/preview": "user",
    "POST /api/v1/media": "user",
    "DELETE /api/v1/media/{media_id}": "user",
    "GET /api/v1/media/{media_id}": "optional",
    "POST /api/v1/messages/{target_id}/moderation": "user",
    "DELETE /api/v1/messages/{target_id}/reactions/{emoji}": "user",
    "GET /api/v1/messages/{target_id}/reactions/{emoji}": "optional",
    "PUT /api/v1/messages/{target_id}/reactions/{emoji}": "user",
    "GET /api/v1/node": "optional",
    "GET /api/v1/notifications": "user",
    "GET /api/v1/notifications/preferences": "user",
    "PATCH /api/v1/notifications/preferences": "user",
    "DELETE /api/v1/notifications/preferences/channels/{channel_id}": "user",
    "GET /api/v1/notifications/preferences/channels/{channel_id}": "user",
    "PUT /api/v1/notifications/preferences/channels/{channel_id}": "user",
    "DELETE /api/v1/notifications/preferences/communities/{community_id}": "user",
    "GET /api/v1/notifications/preferences/communities/{community_id}": "user",
    "PUT /api/v1/notifications/preferences/communities/{community_id}": "user",
    "POST /api/v1/notifications/push/subscriptions": "user",
    "DELETE /api/v1/notifications/push/subscriptions/{subscription_id}": "user",
    "GET /api/v1/notifications/push/vapid-key": "public",
    "POST /api/v1/notifications/read": "user",
    "GET /api/v1/notifications/unread": "user",
    "GET /api/v1/notifications/unsubscribe": "public",
    "POST /api/v1/notifications/unsubscribe": "public",
    "DELETE /api/v1/notifications/{notification_id}": "user",
    "POST /api/v1/notifications/{notification_id}/read": "user",
    "DELETE /api/v1/posts/{post_id}": "user",
    "GET /api/v1/polls": "optional",
    "GET /api/v1/polls/{poll_id}": "optional",
    "GET /api/v1/polls/{poll_id}/voters": "optional",
    "POST /api/v1/polls/{poll_id}/end": "user",
    "PUT /api/v1/polls/{poll_id}/vote": "user",
    "GET /api/v1/posts/{post_id}": "optional",
    "PATCH /api/v1/posts/{post_id}": "user",
    "GET /api/v1/posts/{post_id}/comments": "optional",
    "POST /api/v1/posts/{post_id}/comments": "user",
    "PUT /api/v1/posts/{post_id}/vote": "user",
    "POST /api/v1/posts/{target_id}/moderation": "user",
    "DELETE /api/v1/posts/{target_id}/reactions/{emoji}": "user",
    "GET /api/v1/posts/{target_id}/reactions/{emoji}": "optional",
    "PUT /api/v1/posts/{target_id}/reactions/{emoji}": "user",
    "POST /api/v1/reports": "user",
    "GET /api/v1/search": "user",
    "POST /api/v1/search/clicks": "user",
    "GET /api/v1/search/stats": "admin",
    "DELETE /api/v1/users/@me": "user",
    "GET /api/v1/users/@me": "user",
    "PATCH /api/v1/users/@me": "user",
    "DELETE /api/v1/users/@me/blocks/{user_id}": "user",
    "PUT /api/v1/users/@me/blocks/{user_id}": "user",
    "POST /api/v1/users/@me/deactivate": "user",
    "POST /api/v1/users/@me/email": "user",
    "POST /api/v1/users/@me/email/verify": "user",
    "GET /api/v1/users/@me/export": "user",
    "POST /api/v1/users/@me/export": "user",
    "GET /api/v1/users/@me/export/{export_id}/download": "user",
    "DELETE /api/v1/users/@me/friends/{user_id}": "user",
    "PUT /api/v1/users/@me/friends/{user_id}": "user",
    "GET /api/v1/users/@me/oauth": "user",
    "DELETE /api/v1/users/@me/oauth/{provider}": "user",
    "POST /api/v1/users/@me/password": "user",
    "GET /api/v1/users/@me/relationships": "user",
    "GET /api/v1/users/@me/sessions": "user",
    "DELETE /api/v1/users/@me/sessions/{session_id}": "user",
    "POST /api/v1/users/@me/totp/confirm": "user",
    "POST /api/v1/users/@me/totp/disable": "user",
    "POST /api/v1/users/@me/totp/enrol": "user",
    "GET /api/v1/users/{user_id}": "optional",
    "GET /api/v1/users/by-name/{name}": "optional",
    "GET /api/v1/users/{user_id}/home": "optional",
    "POST /federation/v1/events": "peer",
    "POST /federation/v1/hello": "peer",
    "POST /federation/v1/media": "peer",
    "POST /federation/v1/notify": "peer",
    "POST /federation/v1/pull": "peer",
    "POST /federation/v1/push": "peer",
    "POST /federation/v1/reconcile": "peer",
    "POST /federation/v1/state": "peer",
    "GET /gateway": "public",
    "GET /healthz": "public",
    "GET /media/{media_id}/{variant}": "public",
    "GET /metrics": "public",
    "GET /readyz": "public",
    # integrations: the webhook URL's token is its credential (a wrong one is a 404, as for an
    # unknown webhook); the rest are community-scoped (tests/integrations)
    "POST /api/webhooks/{webhook_id}/{token}": "public",
    "POST /api/v1/channels/{channel_id}/webhooks": "user",
    "GET /api/v1/channels/{channel_id}/webhooks": "user",
    # voice (plugins/voice; CONNECT, MANAGE_CHANNELS and the voice moderation bits: tests/voice)
    "GET /api/v1/channels/{channel_id}/voice": "user",
    "PUT /api/v1/channels/{channel_id}/voice": "user",
    "PATCH /api/v1/channels/{channel_id}/voice/members/{user_id}": "user",
    "DELETE /api/v1/channels/{channel_id}/voice/members/{user_id}": "user",
    "POST /api/v1/voice/janus": "user",
    "POST /api/v1/voice/janus/{session}": "user",
    "POST /api/v1/voice/janus/{session}/{handle}": "user",
    "GET /api/v1/voice/janus/{session}": "user",
    "GET /api/v1/communities/{community_id}/webhooks": "user",
    "PATCH /api/v1/webhooks/{webhook_id}": "user",
    "POST /api/v1/webhooks/{webhook_id}/token": "user",
    "DELETE /api/v1/webhooks/{webhook_id}": "user",
    "POST /api/v1/event-webhooks": "user",
    "GET /api/v1/event-webhooks": "user",
    "DELETE /api/v1/event-webhooks/{subscription_id}": "user",
    "GET /api/v1/event-webhooks/{subscription_id}/deliveries": "user",
    "GET /api/v1/channels/{channel_id}/embeds": "optional",
    "PUT /api/v1/channels/{channel_id}/embeds/{target_id}/suppressed": "user",
    "DELETE /api/v1/channels/{channel_id}/embeds/{target_id}/suppressed": "user",
    "GET /api/v1/communities/{community_id}/integrations": "user",
    "PUT /api/v1/communities/{community_id}/integrations": "user",
    # scheduled events: readable as the community is (public ones by anyone); the role matrix is
    # in tests/happenings and tests/sync/test_scheduled_events.py
    "GET /api/v1/communities/{community_id}/events": "optional",
    "POST /api/v1/communities/{community_id}/events": "user",
    "GET /api/v1/communities/{community_id}/events.ics": "optional",
    "GET /api/v1/scheduled-events/{event_id}": "optional",
    "PATCH /api/v1/scheduled-events/{event_id}": "user",
    "POST /api/v1/scheduled-events/{event_id}/cancel": "user",
    "PUT /api/v1/scheduled-events/{event_id}/rsvp": "user",
    "GET /api/v1/tokens": "user",
    "POST /api/v1/tokens": "user",
    "DELETE /api/v1/tokens/{token_id}": "user",
    "GET /api/v1/bots": "user",
    "POST /api/v1/bots": "user",
    "DELETE /api/v1/bots/{bot_id}": "user",
    "GET /api/v1/bots/{bot_id}/tokens": "user",
    "POST /api/v1/bots/{bot_id}/tokens": "user",
    "PUT /api/v1/communities/{community_id}/bots/{bot_id}": "user",
    "DELETE /api/v1/communities/{community_id}/bots/{bot_id}": "user",
    "GET /api/v1/communities/{community_id}/commands": "user",
    "PUT /api/v1/communities/{community_id}/commands/{name}": "user",
    "DELETE /api/v1/communities/{community_id}/commands/{name}": "user",
    "PUT /api/v1/interactions/endpoint": "user",
    "POST /api/v1/channels/{channel_id}/interactions": "user",
    "POST /api/v1/interactions/{interaction_id}/callback": "user",
}

BODY = {"x": 1}  # never a valid body: requests must be refused before any body is believed


@pytest.fixture
async def app_client(aiohttp_client, tmp_path):
    return await aiohttp_client(
        build_app(
            make_config(tmp_path / "data", plugin={"users": FAST_HASHING}, rate_limits={"enabled": False})
        )
    )


def _url(path: str) -> str:
    return re.sub(r"{\w+}", "01m8zzzzzzzzzzzzzzzzzzzzzz", path)


async def test_every_operation_has_a_declared_audience(app_client):
    doc = await (await app_client.get("/api/openapi.json")).json()
    ops = {f"{m.upper()} {p}" for p, item in doc["paths"].items() for m in item}
    uncovered, stale = sorted(ops - set(ROUTES)), sorted(set(ROUTES) - ops)
    assert not uncovered, f"routes with no audience in ROUTES (classify them): {uncovered}"
    assert not stale, f"ROUTES lists routes that no longer exist: {stale}"


async def test_anonymous_callers_get_only_what_is_public(app_client):
    wrong = []
    for op, audience in ROUTES.items():
        method, path = op.split(" ", 1)
        if path == "/gateway":
            continue
        resp = await app_client.request(
            method, _url(path), json=BODY if method in ("POST", "PUT", "PATCH") else None
        )
        await resp.read()
        closed = audience in ("user", "admin", "peer")
        if resp.status >= 500 or (closed and resp.status != 401) or (not closed and resp.status == 401):
            wrong.append((op, resp.status))
    assert wrong == []


async def test_signed_in_users_never_reach_admin_or_peer_routes(app_client):
    _, token = await register_user(app_client)
    wrong = []
    for op, audience in ROUTES.items():
        if audience not in ("admin", "peer"):
            continue
        method, path = op.split(" ", 1)
        resp = await app_client.request(
            method, _url(path), headers=auth(token), json=BODY if method in ("POST", "PUT", "PATCH") else None
        )
        await resp.read()
        expected = (401,) if audience == "peer" else (400, 403)
        if resp.status not in expected or (audience == "admin" and method == "GET" and resp.status != 403):
            wrong.append((op, resp.status))
    assert wrong == []
