"""Outgoing event webhooks: a community admin (MANAGE_COMMUNITY) or a node admin subscribes a URL to
event kinds; a durable bus consumer queues one delivery per matching event and subscription (in the
transaction that advances its offset), and a worker POSTs them, signed, retrying with the core's
backoff (cryb_node.outbox) and recording each subscription's last status.

Signature: ``X-Cryb-Signature: sha256=<hex>``, the HMAC-SHA256 under the subscription's secret of
``<X-Cryb-Timestamp>.<body>`` (timestamp in Unix seconds, set per attempt; receivers should refuse
one more than five minutes off).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import aiohttp
import msgspec

from cryb_node.clock import new_id, wall_ms
from cryb_node.db import Connection
from cryb_node.events import Event
from cryb_node.outbox import RetryPolicy
from cryb_node.problems import Problem, forbidden, not_found
from cryb_node.services import AUDIT, PERMISSIONS, Perm

from . import queries
from . import schemas as s
from .netguard import AddressRefused, Guard

if TYPE_CHECKING:
    from cryb_node.node import Node

log = logging.getLogger(__name__)
USER_AGENT = "CRYB-node-webhooks/1"
SLACK_MS = 5_000  # clock skew between the event's author and this node still counted as "after"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Cryb-Signature value for one attempt."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def _out(r: Any, secret: str | None = None) -> s.SubscriptionOut:
    """``r``: a row of queries.SUBSCRIPTION."""
    return s.SubscriptionOut(
        id=r["id"], community_id=r["community_id"], url=r["url"], kinds=json.loads(r["kinds"]),
        owner_id=r["owner_id"], created_at=r["created_at"], last_status=r["last_status"],
        last_error=r["last_error"], last_attempt_at=r["last_attempt_at"],
        last_success_at=r["last_success_at"], pending=r["pending"], secret=secret,
    )  # fmt: skip


def event_json(ev: Event) -> bytes:
    """The delivery body: the event's public facts and its payload as JSON."""
    b = ev.body
    return msgspec.json.encode(
        {
            "event_id": ev.id.hex(),
            "kind": b.kind,
            "community_id": b.community,
            "author_id": b.author,
            "target_id": b.target,
            "created_at": wall_ms(b.hlc),
            "data": msgspec.to_builtins(ev.payload) if ev.payload is not None else None,
        }
    )


class Outgoing:
    def __init__(self, node: Node, settings: s.Settings, guard: Guard) -> None:
        self.node = node
        self.s = settings
        self.guard = guard
        self.policy = RetryPolicy(settings.retry_base_s, settings.retry_max_s, settings.max_attempts)
        # Milliseconds since the epoch: the node's clock (tests may replace it).
        self.clock: Callable[[], int] = node.clock.time_ms
        self.wake = asyncio.Event()
        self.sent = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    # -- subscriptions ----------------------------------------------------------------------------

    async def _require(self, user_id: str, is_admin_claim: bool, community_id: str | None) -> None:
        audit = self.node.services.get(AUDIT)
        if is_admin_claim and audit is not None and await audit.is_admin(user_id):
            return
        if community_id is None:
            raise forbidden("a subscription to every community is for node admins")
        perms = self.node.services.require(PERMISSIONS)
        have = await perms.community(user_id, community_id)
        if not have or not await perms.is_member(user_id, community_id):
            raise not_found("community")
        if not have & (Perm.MANAGE_COMMUNITY | Perm.ADMINISTRATOR):
            raise forbidden("event webhooks need MANAGE_COMMUNITY")

    async def create(self, user_id: str, admin: bool, body: s.SubscriptionIn) -> s.SubscriptionOut:
        await self._require(user_id, admin, body.community_id)
        known = set(self.node.registry.kinds())
        for i, kind in enumerate(body.kinds):
            if kind not in known:
                raise Problem("invalid_field", 400, f"no event kind {kind!r}", field=f"kinds[{i}]")
        try:
            await self.guard.check_resolves(body.url)
        except AddressRefused as err:
            raise Problem("address_refused", 400, str(err), field="url") from None
        except ValueError as err:
            raise Problem("invalid_field", 400, str(err), field="url") from None
        secret = secrets.token_urlsafe(32)
        row = {
            "id": new_id(),
            "community_id": body.community_id,
            "url": body.url,
            "secret": secret,
            "kinds": json.dumps(sorted(set(body.kinds))),
            "owner_id": user_id,
            "created_at": self.clock(),
        }
        return _out(await self.node.db.write(lambda conn: queries.insert_subscription(conn, row)), secret)

    async def list(self, user_id: str, admin: bool, community_id: str | None) -> s.SubscriptionList:
        await self._require(user_id, admin, community_id)
        rows = await self.node.db.fetchall(queries.SUBSCRIPTIONS_OF, (community_id,))
        return s.SubscriptionList([_out(r) for r in rows])

    async def _row(self, user_id: str, admin: bool, sid: str) -> Any:
        row = await self.node.db.fetchone(queries.SUBSCRIPTION, (sid,))
        if row is None:
            raise not_found("event webhook")
        await self._require(user_id, admin, row["community_id"])
        return row

    async def delete(self, user_id: str, admin: bool, sid: str) -> None:
        await self._row(user_id, admin, sid)
        await self.node.db.write(lambda conn: queries.delete_subscription(conn, sid))

    async def deliveries(self, user_id: str, admin: bool, sid: str) -> s.DeliveryList:
        await self._row(user_id, admin, sid)
        rows = await self.node.db.fetchall(queries.DELIVERIES_OF, (sid,))
        return s.DeliveryList([
            s.DeliveryOut(
                id=r["id"], event_id=r["event_id"], kind=r["kind"], attempts=r["attempts"],
                created_at=r["created_at"],
                next_at=r["next_at"] if r["sent_at"] is None and r["failed_at"] is None else None,
                sent_at=r["sent_at"], failed_at=r["failed_at"], last_status=r["last_status"],
                last_error=r["last_error"],
            )
            for r in rows
        ])  # fmt: skip

    # -- the consumer (in the writer, with the bus offset) ----------------------------------------

    def enqueue(self, conn: Connection, events: Sequence[Event]) -> None:
        subs = conn.execute(queries.SUBSCRIBED).fetchall()
        if not subs:
            return
        wanted = [(r["id"], r["community_id"], set(json.loads(r["kinds"])), r["created_at"]) for r in subs]
        now = self.clock()
        queued = 0
        for ev in events:
            if ev.payload is None or ev.body.community is None:
                continue  # erased or withheld content, direct messages and accounts are never sent out
            for sid, cid, kinds, since in wanted:
                if ev.kind not in kinds or (cid is not None and cid != ev.body.community):
                    continue
                if wall_ms(ev.body.hlc) < since - SLACK_MS:
                    continue  # older than the subscription (a lagging consumer, a peer's backlog)
                queries.insert_delivery(
                    conn,
                    (new_id(), sid, ev.id.hex(), ev.kind, getattr(ev.payload, "channel_id", None),
                     event_json(ev), now, now),
                )  # fmt: skip
                queued += 1
        if queued and self._loop is not None:
            self._loop.call_soon_threadsafe(self.wake.set)

    # -- the worker -------------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._http = self.guard.session(
            connect_s=min(5.0, self.s.delivery_timeout_s), total_s=self.s.delivery_timeout_s
        )
        self._task = asyncio.create_task(self._run(), name="integrations:deliveries")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._http:
            await self._http.close()

    async def _run(self) -> None:
        while True:
            self.wake.clear()
            try:
                while await self.run_due():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event webhook delivery pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.s.poll_s)

    async def run_due(self) -> int:
        """Attempt every due delivery once; returns how many were attempted."""
        rows = await self.node.db.fetchall(queries.DUE, (self.clock(),))
        for row in rows:
            await self._attempt(row)
        return len(rows)

    async def _attempt(self, d: Any) -> None:
        """One delivery (``d``: a row of queries.DUE)."""
        did, sid, attempts = d["id"], d["subscription_id"], d["attempts"]
        url, secret, channel_id, body = d["url"], d["secret"], d["channel_id"], bytes(d["body"])
        in_channel = d["community_id"] is not None and channel_id is not None
        if in_channel and not await self._sees(d["owner_id"], channel_id):
            # A community subscription only carries what its owner may see.
            await self._record(
                did, sid, attempts, None, "the subscriber may not see this channel", final=True
            )
            return
        status: int | None = None
        error: str | None = None
        try:
            self.guard.check_url(url)
            ts = str(int(self.clock() / 1000))
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "X-Cryb-Event": d["kind"],
                "X-Cryb-Delivery": did,
                "X-Cryb-Timestamp": ts,
                "X-Cryb-Signature": sign(secret, ts, body),
            }
            assert self._http is not None
            async with self._http.post(url, data=body, headers=headers, allow_redirects=False) as resp:
                status = resp.status
                if not 200 <= status < 300:
                    error = f"the receiver answered {status}"
        except AddressRefused as err:
            error = f"refused: {err}"
            await self._record(did, sid, attempts, None, error, final=True)
            return
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            error = f"{type(err).__name__}: {err}"[:300]
        await self._record(did, sid, attempts, status, error)

    async def _sees(self, user_id: str, channel_id: str) -> bool:
        perms = self.node.services.get(PERMISSIONS)
        access = await perms.channel(user_id, channel_id) if perms else None
        return access is not None and access.has(Perm.VIEW_CHANNEL) and access.has(Perm.READ_HISTORY)

    async def _record(
        self, did: str, sid: str, attempts: int, status: int | None, error: str | None, final: bool = False
    ) -> None:
        now = self.clock()
        if error is None:
            attempts, next_at, give_up, sent = attempts + 1, now, False, now
            self.sent += 1
        else:
            attempts, next_at, give_up = self.policy.after_failure(attempts, now)
            give_up, sent = give_up or final, None
            log.warning(
                "event webhook delivery failed (attempt %d%s)", attempts, ", giving up" if give_up else ""
            )

        outcome = partial(
            queries.record_attempt, did=did, sid=sid, attempts=attempts, next_at=next_at, sent_at=sent,
            failed_at=now if give_up else None, status=status, error=error, now=now,
        )  # fmt: skip
        await self.node.db.write(outcome)


def prune(conn: Connection, now: int, days: int = 30) -> int:
    """Forget deliveries sent or given up on more than ``days`` ago."""
    return queries.prune_deliveries(conn, now - days * 86_400_000)
