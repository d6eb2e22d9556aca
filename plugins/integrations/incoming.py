"""Incoming webhooks: a channel's secret URLs that post messages as a named integration, managed by
members with MANAGE_WEBHOOKS. A webhook message is a ``message.create`` event like any other,
authored by the webhook's owner (the rule book requires MANAGE_WEBHOOKS of them for a message that
names an integration) and carrying the integration's name and avatar, so it replicates and renders
the same on every node.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, Any

import msgspec

from cryb_node.clock import new_id
from cryb_node.config import RateLimitSection, RateRule
from cryb_node.events import Tx
from cryb_node.http.ratelimit import RateLimiter
from cryb_node.http.ratestore import ExpiringStore
from cryb_node.problems import Problem, forbidden, not_found
from cryb_node.services import MEDIA_STORE, PERMISSIONS, Perm, Permissions

from . import bodies, queries
from . import schemas as s

if TYPE_CHECKING:
    from cryb_node.node import Node

MAX_CONTENT = 4000
POSTS = Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES | Perm.MANAGE_WEBHOOKS


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _out(r: Any, token: str | None = None, base: str = "") -> s.WebhookOut:
    """``r``: a row of queries.WEBHOOK (or a dict of its columns)."""
    return s.WebhookOut(
        id=r["id"], community_id=r["community_id"], channel_id=r["channel_id"], name=r["name"],
        avatar=r["avatar"], owner_id=r["owner_id"], created_at=r["created_at"],
        last_used_at=r["last_used_at"], token=token,
        url=f"{base}/api/webhooks/{r['id']}/{token}" if token else None,
    )  # fmt: skip


class Incoming:
    def __init__(self, node: Node, settings: s.Settings) -> None:
        self.node = node
        self.s = settings
        # The node's own rate limiter, with one bucket keyed by webhook id (not by caller: a CI
        # system posts from many addresses, a leaked URL from anywhere).
        rule = RateRule(limit=settings.webhook_rate_limit, window_s=settings.webhook_rate_window_s)
        self.limiter = RateLimiter(
            RateLimitSection(enabled=node.config.rate_limits.enabled, default=rule, buckets={"webhook": rule})
        )

    async def attach(self) -> None:
        await self.limiter.attach(ExpiringStore(self.node.db, "integrations.webhooks"))

    async def detach(self) -> None:
        await self.limiter.detach()

    def _perms(self) -> Permissions:
        perms = self.node.services.get(PERMISSIONS)
        if perms is None:
            raise not_found("channel")
        return perms

    async def _manage(self, user_id: str, channel_id: str) -> str:
        """The channel's community, if ``user_id`` may manage its webhooks (404 / 403 otherwise)."""
        access = await self._perms().channel(user_id, channel_id)
        if access is None or not access.has(Perm.VIEW_CHANNEL):
            raise not_found("channel")
        if access.kind not in ("text", "announcement"):
            raise Problem("wrong_channel_kind", 400, "webhooks post in text and announcement channels")
        if not access.member or not access.has(Perm.MANAGE_WEBHOOKS):
            raise forbidden("managing webhooks needs MANAGE_WEBHOOKS")
        return access.community_id

    async def _row(self, webhook_id: str) -> Any:
        row = await self.node.db.fetchone(queries.WEBHOOK, (webhook_id,))
        if row is None:
            raise not_found("webhook")
        return row

    async def _avatar(self, user_id: str, media_id: str | None) -> None:
        if media_id is None:
            return
        store = self.node.services.get(MEDIA_STORE)
        ref = await store.attach(media_id, user_id, None) if store else None
        if ref is None or ref.kind != "image":
            raise Problem("invalid_field", 400, "avatar must be an image you uploaded", field="avatar")

    # -- management -------------------------------------------------------------------------------

    async def create(self, user_id: str, channel_id: str, body: s.WebhookIn) -> s.WebhookOut:
        community_id = await self._manage(user_id, channel_id)
        await self._avatar(user_id, body.avatar)
        token = secrets.token_urlsafe(32)
        row = {
            "id": new_id(),
            "community_id": community_id,
            "channel_id": channel_id,
            "name": body.name,
            "avatar": body.avatar,
            "owner_id": user_id,
            "created_at": self.node.clock.time_ms(),
            "last_used_at": None,
        }
        await self.node.db.write(lambda conn: queries.insert_webhook(conn, row, _hash(token)))
        return _out(row, token, self.node.config.base_url)

    async def list_channel(self, user_id: str, channel_id: str) -> s.WebhookList:
        await self._manage(user_id, channel_id)
        rows = await self.node.db.fetchall(queries.CHANNEL_WEBHOOKS, (channel_id,))
        return s.WebhookList([_out(r) for r in rows])

    async def list_community(self, user_id: str, community_id: str) -> s.WebhookList:
        """The community's webhooks in the channels where ``user_id`` may manage them."""
        rows = await self.node.db.fetchall(queries.COMMUNITY_WEBHOOKS, (community_id,))
        perms = self._perms()
        out = []
        for r in rows:
            access = await perms.channel(user_id, r["channel_id"])
            if access is not None and access.member and access.has(Perm.MANAGE_WEBHOOKS):
                out.append(_out(r))
        if not out and not await perms.is_member(user_id, community_id):
            raise not_found("community")
        return s.WebhookList(out)

    async def patch(self, user_id: str, webhook_id: str, body: s.WebhookPatch) -> s.WebhookOut:
        row = await self._row(webhook_id)
        await self._manage(user_id, row["channel_id"])
        await self._avatar(user_id, body.avatar)
        name = body.name if body.name is not None else row["name"]
        avatar = body.avatar if body.avatar is not None else row["avatar"]
        await self.node.db.write(lambda conn: queries.rename_webhook(conn, webhook_id, name, avatar))
        return _out({**dict(row), "name": name, "avatar": avatar})

    async def rotate(self, user_id: str, webhook_id: str) -> s.WebhookOut:
        """A new token; the old one is refused from now on."""
        row = await self._row(webhook_id)
        await self._manage(user_id, row["channel_id"])
        token = secrets.token_urlsafe(32)
        await self.node.db.write(lambda conn: queries.set_webhook_token(conn, webhook_id, _hash(token)))
        return _out(row, token, self.node.config.base_url)

    async def delete(self, user_id: str, webhook_id: str) -> None:
        row = await self._row(webhook_id)
        await self._manage(user_id, row["channel_id"])
        await self.node.db.write(lambda conn: queries.delete_webhook(conn, webhook_id))

    # -- posting ----------------------------------------------------------------------------------

    async def execute(self, webhook_id: str, token: str, raw: bytes, content_type: str) -> s.WebhookMessage:
        """Post one message through the webhook (any of the accepted body formats)."""
        row = await self.node.db.fetchone(queries.WEBHOOK_SECRET, (webhook_id,))
        # An unknown id and a wrong token get the same answer: the URL is the secret.
        if row is None or not hmac.compare_digest(bytes(row["token_hash"]), _hash(token)):
            raise Problem("webhook_token_invalid", 404, "no webhook has this id and token")
        if self.limiter.config.enabled:
            verdict = self.limiter.hit("webhook", webhook_id)
            if not verdict.allowed:
                raise verdict.problem()
        parsed = bodies.parse(raw, content_type)
        text = parsed.content.strip()
        if not text:
            raise Problem("invalid_field", 400, "the message has no text", field="content")
        if len(text) > MAX_CONTENT:
            raise Problem("invalid_field", 400, f"the text is longer than {MAX_CONTENT}", field="content")
        community_id, channel_id, owner_id = row["community_id"], row["channel_id"], row["owner_id"]
        name, avatar = row["name"], row["avatar"]
        access = await self._perms().channel(owner_id, channel_id)
        if access is None:
            raise Problem("webhook_token_invalid", 404, "the webhook's channel is gone")
        if not access.member or not all(access.has(p) for p in POSTS):
            raise Problem(
                "webhook_owner_not_allowed", 403,
                "the webhook's owner may no longer post in its channel: a manager can make a new one",
            )  # fmt: skip
        et = self.node.registry.get("message.create")
        if et is None:
            raise Problem("unavailable", 503, "this node does not serve chat")
        mid = new_id()
        payload = msgspec.convert(
            {
                "channel_id": channel_id,
                "content": text,
                "integration": {"webhook_id": webhook_id, "name": parsed.name or name, "avatar": avatar},
            },
            et.payload,
        )
        now = self.node.clock.time_ms()

        def write(tx: Tx) -> None:
            tx.append("message.create", payload, community=community_id, author=owner_id, target=mid)
            queries.touch_webhook(tx.conn, webhook_id, now)

        await self.node.events.transaction(write)
        return s.WebhookMessage(
            id=mid, channel_id=channel_id, community_id=community_id, content=text,
            webhook_id=webhook_id, name=parsed.name or name, format=parsed.format,
        )  # fmt: skip
