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
import time
from typing import TYPE_CHECKING, Any

import msgspec

from cryb_node.clock import new_id
from cryb_node.config import RateLimitSection, RateRule
from cryb_node.db import Connection
from cryb_node.events import Tx
from cryb_node.http.ratelimit import RateLimiter
from cryb_node.http.ratestore import ExpiringStore
from cryb_node.problems import Problem, forbidden, not_found
from cryb_node.services import MEDIA_STORE, PERMISSIONS, Perm, Permissions

from . import bodies
from . import schemas as s

if TYPE_CHECKING:
    from cryb_node.node import Node

COLUMNS = "id, community_id, channel_id, name, avatar, owner_id, created_at, last_used_at"
MAX_CONTENT = 4000
POSTS = Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES | Perm.MANAGE_WEBHOOKS


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _out(r: Any, token: str | None = None, base: str = "") -> s.WebhookOut:
    return s.WebhookOut(
        id=r[0], community_id=r[1], channel_id=r[2], name=r[3], avatar=r[4], owner_id=r[5],
        created_at=r[6], last_used_at=r[7], token=token,
        url=f"{base}/api/webhooks/{r[0]}/{token}" if token else None,
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
        row = await self.node.db.fetchone(f"SELECT {COLUMNS} FROM integ_webhooks WHERE id = ?", (webhook_id,))
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
        row = (
            new_id(),
            community_id,
            channel_id,
            body.name,
            body.avatar,
            user_id,
            int(time.time() * 1000),
            None,
        )
        await self.node.db.write(
            lambda conn: conn.execute(
                f"INSERT INTO integ_webhooks ({COLUMNS}, token_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, _hash(token)),
            )
        )
        return _out(row, token, self.node.config.base_url)

    async def list_channel(self, user_id: str, channel_id: str) -> s.WebhookList:
        await self._manage(user_id, channel_id)
        rows = await self.node.db.fetchall(
            f"SELECT {COLUMNS} FROM integ_webhooks WHERE channel_id = ? ORDER BY id", (channel_id,)
        )
        return s.WebhookList([_out(r) for r in rows])

    async def list_community(self, user_id: str, community_id: str) -> s.WebhookList:
        """The community's webhooks in the channels where ``user_id`` may manage them."""
        rows = await self.node.db.fetchall(
            f"SELECT {COLUMNS} FROM integ_webhooks WHERE community_id = ? ORDER BY channel_id, id",
            (community_id,),
        )
        perms = self._perms()
        out = []
        for r in rows:
            access = await perms.channel(user_id, r[2])
            if access is not None and access.member and access.has(Perm.MANAGE_WEBHOOKS):
                out.append(_out(r))
        if not out and not await perms.is_member(user_id, community_id):
            raise not_found("community")
        return s.WebhookList(out)

    async def patch(self, user_id: str, webhook_id: str, body: s.WebhookPatch) -> s.WebhookOut:
        row = await self._row(webhook_id)
        await self._manage(user_id, row[2])
        await self._avatar(user_id, body.avatar)
        name = body.name if body.name is not None else row[3]
        avatar = body.avatar if body.avatar is not None else row[4]
        await self.node.db.write(
            lambda conn: conn.execute(
                "UPDATE integ_webhooks SET name = ?, avatar = ? WHERE id = ?", (name, avatar, webhook_id)
            )
        )
        return _out((*row[:3], name, avatar, *row[5:]))

    async def rotate(self, user_id: str, webhook_id: str) -> s.WebhookOut:
        """A new token; the old one is refused from now on."""
        row = await self._row(webhook_id)
        await self._manage(user_id, row[2])
        token = secrets.token_urlsafe(32)
        await self.node.db.write(
            lambda conn: conn.execute(
                "UPDATE integ_webhooks SET token_hash = ? WHERE id = ?", (_hash(token), webhook_id)
            )
        )
        return _out(row, token, self.node.config.base_url)

    async def delete(self, user_id: str, webhook_id: str) -> None:
        row = await self._row(webhook_id)
        await self._manage(user_id, row[2])
        await self.node.db.write(
            lambda conn: conn.execute("DELETE FROM integ_webhooks WHERE id = ?", (webhook_id,))
        )

    # -- posting ----------------------------------------------------------------------------------

    async def execute(self, webhook_id: str, token: str, raw: bytes, content_type: str) -> s.WebhookMessage:
        """Post one message through the webhook (any of the accepted body formats)."""
        row = await self.node.db.fetchone(
            "SELECT id, community_id, channel_id, name, avatar, owner_id, token_hash FROM integ_webhooks"
            " WHERE id = ?",
            (webhook_id,),
        )
        # An unknown id and a wrong token get the same answer: the URL is the secret.
        if row is None or not hmac.compare_digest(bytes(row[6]), _hash(token)):
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
        _, community_id, channel_id, name, avatar, owner_id, _ = row
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
        now = int(time.time() * 1000)

        def write(tx: Tx) -> None:
            tx.append("message.create", payload, community=community_id, author=owner_id, target=mid)
            _touch(tx.conn, webhook_id, now)

        await self.node.events.transaction(write)
        return s.WebhookMessage(
            id=mid, channel_id=channel_id, community_id=community_id, content=text,
            webhook_id=webhook_id, name=parsed.name or name, format=parsed.format,
        )  # fmt: skip


def _touch(conn: Connection, webhook_id: str, now: int) -> None:
    conn.execute("UPDATE integ_webhooks SET last_used_at = ? WHERE id = ?", (now, webhook_id))
