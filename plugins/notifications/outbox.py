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
from cryb_node.db import Connection
from cryb_node.mail import Mailer, MailError
from cryb_node.outbox import Breaker, RetryPolicy
from cryb_node.services import DIRECTORY, Directory

from . import mailing, webpush
from .prefs import load_user
from .service import TITLES, enqueue

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
        now = self.svc.clock()
        rows = await self.svc.db.fetchall(
            "SELECT id, channel, user_id, dedupe, payload, attempts FROM notif_outbox"
            " WHERE sent_at IS NULL AND failed_at IS NULL AND next_at <= ? ORDER BY next_at, id LIMIT 100",
            (now,),
        )
        done = 0
        for row_id, channel, user_id, dedupe, payload, attempts in rows:
            if channel == "email" and not self.breaker.allows(self.svc.clock()):
                continue  # SMTP is down: leave mail queued until the breaker lets a trial through
            try:
                if channel == "email":
                    skipped = await self._mail(user_id, dedupe, _unpack(payload))
                else:
                    skipped = await self._push(user_id, _unpack(payload))
            except (MailError, webpush.PushFailed) as err:
                if channel == "email":
                    self.breaker.failed(self.svc.clock())
                await self._retry(row_id, attempts, str(err))
                continue
            except webpush.PushGone as err:
                await self._prune(_unpack(payload)["sub"], row_id, str(err))
                continue
            if channel == "email" and skipped is None:
                self.breaker.succeeded()
            await self._finish(row_id, channel, skipped)
            done += 1
        return done

    async def _finish(self, row_id: int, channel: str, skipped: str | None) -> None:
        now = self.svc.clock()
        if skipped is None:
            sql = "UPDATE notif_outbox SET sent_at = ? WHERE id = ?"
            args: tuple[Any, ...] = (now, row_id)
        else:
            sql, args = (
                "UPDATE notif_outbox SET failed_at = ?, last_error = ? WHERE id = ?",
                (now, skipped, row_id),
            )
        await self.svc.db.write(lambda conn: conn.execute(sql, args))
        if skipped is None:
            self.sent[channel] += 1

    async def _retry(self, row_id: int, attempts: int, error: str) -> None:
        policy = RetryPolicy(self.s.retry_base_s, self.s.retry_max_s, self.s.max_attempts)
        now = self.svc.clock()
        attempts, next_at, give_up = policy.after_failure(attempts, now)
        log.warning("notification delivery failed (attempt %d%s)", attempts, ", giving up" if give_up else "")
        await self.svc.db.write(
            lambda conn: conn.execute(
                "UPDATE notif_outbox SET attempts = ?, next_at = ?, last_error = ?, failed_at = ?"
                " WHERE id = ?",
                (attempts, next_at, error[:300], now if give_up else None, row_id),
            )
        )

    async def _prune(self, sub_id: str, row_id: int, error: str) -> None:
        def write(conn: Connection) -> None:
            conn.execute("DELETE FROM notif_push_subs WHERE id = ?", (sub_id,))
            conn.execute(
                "UPDATE notif_outbox SET failed_at = ?, last_error = ? WHERE sent_at IS NULL"
                " AND failed_at IS NULL AND channel = 'push' AND dedupe LIKE ?",
                (self.svc.clock(), error, f"push:%:{sub_id}"),
            )

        await self.svc.db.write(write)
        log.info("pruned an expired push subscription")

    # -- senders -------------------------------------------------------------------------------

    async def _push(self, user_id: str, payload: dict[str, Any]) -> str | None:
        row = await self.svc.db.fetchone(
            "SELECT endpoint, p256dh, auth FROM notif_push_subs WHERE id = ?", (payload["sub"],)
        )
        if row is None:
            return "subscription removed"
        assert self._http is not None
        body = await self._readable_push(user_id, payload["body"])
        await webpush.send(self._http, self.vapid, row[0], row[1], row[2], body)
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
        marks = ",".join("?" * len(ids))
        rows = await self.svc.db.fetchall(
            f"SELECT kind, actor_id, preview FROM notif_inbox WHERE id IN ({marks}) ORDER BY id", tuple(ids)
        )
        names: dict[str, str] = {}
        items = []
        for kind, actor, preview in rows:
            if actor and actor not in names:
                c = await directory.contact(actor) if directory else None
                names[actor] = (c.display_name or c.username) if c else "someone"
            preview = await mentions.readable(self.svc.node.services, user_id, preview)
            items.append(mailing.Item(TITLES[kind], names.get(actor or "", "CRYB"), preview))
        return items

    # -- digests -------------------------------------------------------------------------------

    async def run_digests(self) -> int:
        """Queue a digest for every user whose daily/weekly digest is due; returns how many."""
        now = self.svc.clock()
        rows = await self.svc.db.fetchall(
            "SELECT p.user_id, json_extract(p.data, '$.email_digest'), d.last_at FROM notif_prefs p"
            " LEFT JOIN notif_digests d ON d.user_id = p.user_id"
            " WHERE p.scope = 'user' AND json_extract(p.data, '$.email_digest') IN ('daily', 'weekly')"
        )
        queued = 0
        for user_id, period, last_at in rows:
            if last_at is not None and now - last_at < PERIODS[period]:
                continue
            if await self.svc.db.write(functools.partial(_digest, user_id=user_id, period=period, now=now)):
                queued += 1
        if queued:
            self.svc.wake.set()
        return queued


def prune(conn: Connection, now: int, retention_days: int) -> int:
    """Forget old read/deleted notifications and finished outbox rows; returns how many rows went."""
    cutoff = now - retention_days * 86_400_000
    gone = conn.execute(
        "DELETE FROM notif_inbox WHERE created_at < ? AND (read_at IS NOT NULL OR deleted = 1)", (cutoff,)
    ).rowcount
    return (
        gone
        + conn.execute("DELETE FROM notif_outbox WHERE coalesce(sent_at, failed_at) < ?", (cutoff,)).rowcount
    )


def _digest(conn: Connection, user_id: str, period: str, now: int) -> bool:
    """One transaction: pick the unread, not yet mailed notifications, queue the mail, mark them."""
    conn.execute(
        "INSERT INTO notif_digests (user_id, last_at) VALUES (?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET last_at = excluded.last_at",
        (user_id, now),
    )
    if not load_user(conn, user_id).email:
        return False
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM notif_inbox WHERE user_id = ? AND digested = 0 AND read_at IS NULL"
            " AND deleted = 0"
            " ORDER BY id LIMIT 200",
            (user_id,),
        )
    ]
    if not ids:
        return False
    conn.executemany("UPDATE notif_inbox SET digested = 1 WHERE id = ?", [(i,) for i in ids])
    enqueue(
        conn,
        "email",
        user_id,
        f"digest:{user_id}:{now}",
        {"type": "digest", "period": period, "ids": ids},
        now,
    )
    return True
