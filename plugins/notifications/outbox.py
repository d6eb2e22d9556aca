"""The outbox worker: sends due mail and push rows, marks them sent, backs off on failure (a circuit
breaker stops hammering a dead SMTP server), and builds digests on schedule. The backoff and the
breaker are the core's (cryb_node.outbox), shared with the integrations plugin's webhook deliveries.

Rows are written in the transaction that created the notification, so nothing is lost across a
restart; a row is marked sent right after the server accepted it. The only duplicate possible is a
crash between the SMTP server's "250 OK" and that mark, and the mail's Message-ID is the same on
every attempt, so a receiving server or client can recognise it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
from typing import TYPE_CHECKING, Any

import aiohttp
import msgspec

from cryb_node import mentions
from cryb_node.mail import Mailer, MailError
from cryb_node.outbox import Breaker, RetryPolicy
from cryb_node.services import DIRECTORY, Directory

from . import mailing, queries, queries_outbox, webpush
from .service import TITLES

if TYPE_CHECKING:
    from .service import Notifications

log = logging.getLogger(__name__)
_unpack = msgspec.msgpack.decode
PERIODS = {"daily": 86_400_000, "weekly": 7 * 86_400_000}


class Outbox:
    def __init__(
        self, svc: Notifications, mailer: Mailer, tokens: mailing.Tokens, vapid: webpush.Vapid
    ) -> None:
        self.svc = svc
        self.s = svc.s
        self.mailer = mailer
        self.tokens = tokens
        self.vapid = vapid
        self.breaker = Breaker(self.s.breaker_threshold, int(self.s.breaker_cooldown_s * 1000))
        self.sent = {"email": 0, "push": 0}
        self._http: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.s.push_timeout_s))
        self._task = asyncio.create_task(self._run(), name="notifications:outbox")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._http:
            await self._http.close()

    async def _run(self) -> None:
        while True:
            self.svc.wake.clear()
            try:
                await self.svc.process_pending()
                await self.run_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notifications outbox pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.svc.wake.wait(), self.s.poll_s)

    # -- one pass ------------------------------------------------------------------------------

    async def run_due(self) -> int:
        rows = await queries_outbox.due(self.svc.db, self.svc.clock())
        done = 0
        for row in rows:
            row_id, channel = row["id"], row["channel"]
            if channel == "email" and not self.breaker.allows(self.svc.clock()):
                continue  # SMTP is down: leave mail queued until the breaker lets a trial through
            payload = _unpack(row["payload"])
            try:
                if channel == "email":
                    skipped = await self._mail(row["user_id"], row["dedupe"], payload)
                else:
                    skipped = await self._push(row["user_id"], payload)
            except (MailError, webpush.PushFailed) as err:
                if channel == "email":
                    self.breaker.failed(self.svc.clock())
                await self._retry(row_id, row["attempts"], str(err))
                continue
            except webpush.PushGone as err:
                await self._prune(payload["sub"], str(err))
                continue
            if channel == "email" and skipped is None:
                self.breaker.succeeded()
            await self._finish(row_id, channel, skipped)
            done += 1
        return done

    async def _finish(self, row_id: int, channel: str, skipped: str | None) -> None:
        now = self.svc.clock()
        if skipped is None:
            await self.svc.db.write(lambda conn: queries_outbox.mark_sent(conn, row_id, now))
            self.sent[channel] += 1
        else:
            await self.svc.db.write(lambda conn: queries_outbox.mark_failed(conn, row_id, now, skipped))

    async def _retry(self, row_id: int, attempts: int, error: str) -> None:
        policy = RetryPolicy(self.s.retry_base_s, self.s.retry_max_s, self.s.max_attempts)
        now = self.svc.clock()
        attempts, next_at, give_up = policy.after_failure(attempts, now)
        log.warning("notification delivery failed (attempt %d%s)", attempts, ", giving up" if give_up else "")
        failed_at = now if give_up else None
        await self.svc.db.write(
            lambda conn: queries_outbox.retry_later(conn, row_id, attempts, next_at, error[:300], failed_at)
        )

    async def _prune(self, sub_id: str, error: str) -> None:
        now = self.svc.clock()
        await self.svc.db.write(lambda conn: queries_outbox.drop_subscription(conn, sub_id, now, error))
        log.info("pruned an expired push subscription")

    # -- senders -------------------------------------------------------------------------------

    async def _push(self, user_id: str, payload: dict[str, Any]) -> str | None:
        sub = await queries.subscription(self.svc.db, payload["sub"])
        if sub is None:
            return "subscription removed"
        assert self._http is not None
        body = await self._readable_push(user_id, payload["body"])
        await webpush.send(self._http, self.vapid, sub["endpoint"], sub["p256dh"], sub["auth"], body)
        return None

    async def _readable_push(self, user_id: str, body: bytes) -> bytes:
        """The push's preview with mentions as names, resolved as it is sent (a rename made while
        it waited shows) and for its reader (a channel they cannot see stays unnamed)."""
        data = msgspec.json.decode(body)
        if isinstance(data, dict) and isinstance(data.get("body"), str):
            data["body"] = await mentions.readable(self.svc.node.services, user_id, data["body"])
            return msgspec.json.encode(data)
        return body

    async def _mail(self, user_id: str, dedupe: str, payload: dict[str, Any]) -> str | None:
        """Send one mail; returns why it was not sent (no address, mail turned off), or None."""
        directory: Directory | None = self.svc.node.services.get(DIRECTORY)
        contact = await directory.contact(user_id) if directory else None
        if contact is None or not contact.email:
            return "no verified address"
        if not (await self.svc.prefs.user(user_id)).email:
            return "mail turned off"
        if not self.mailer.configured:
            return "no smtp_host configured"
        items = await self._items(user_id, payload["ids"])
        base = self.svc.node.config.base_url
        unsubscribe = f"{base}/api/v1/notifications/unsubscribe?token={self.tokens.make(user_id)}"
        msg_id = f"<notif-{hashlib.sha256(dedupe.encode()).hexdigest()[:32]}@cryb.local>"
        if payload["type"] == "digest":
            mail = mailing.digest(contact.email, payload["period"], items, base, unsubscribe, msg_id)
        elif items:
            mail = mailing.single(contact.email, items[0], base, unsubscribe, msg_id)
        else:
            return "notification gone"
        await self.mailer.send(mail)
        return None

    async def _items(self, user_id: str, ids: list[str]) -> list[mailing.Item]:
        directory: Directory | None = self.svc.node.services.get(DIRECTORY)
        names: dict[str, str] = {}
        items = []
        for row in await queries.mail_items(self.svc.db, ids):
            actor = row["actor_id"]
            if actor and actor not in names:
                c = await directory.contact(actor) if directory else None
                names[actor] = (c.display_name or c.username) if c else "someone"
            preview = await mentions.readable(self.svc.node.services, user_id, row["preview"])
            items.append(mailing.Item(TITLES[row["kind"]], names.get(actor or "", "CRYB"), preview))
        return items

    # -- digests -------------------------------------------------------------------------------

    async def run_digests(self) -> int:
        """Queue a digest for every user whose daily/weekly digest is due; returns how many."""
        now = self.svc.clock()
        queued = 0
        for row in await queries_outbox.digest_subscribers(self.svc.db):
            period, last_at = row["period"], row["last_at"]
            if last_at is not None and now - last_at < PERIODS[period]:
                continue
            digest = functools.partial(
                queries_outbox.queue_digest, user_id=row["user_id"], period=period, now=now
            )
            if await self.svc.db.write(digest):
                queued += 1
        if queued:
            self.svc.wake.set()
        return queued
