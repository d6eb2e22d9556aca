"""Sessions with peers and the background that runs them.

A session with one peer: hello (both sides' followed communities and version vectors), then per
scope (profiles first, so authors are known before what they author) pull batches until caught
up, then push batches the peer lacks; optionally range reconciliation. Every batch is one frame
and one transaction; vectors only move over stored events, so an interrupted session resumes.

In the background each pinned peer has a worker: local writes only set a flag (they never wait
for peers); the worker tells the peer (notify, so it pulls promptly), runs sessions when notified
and periodically, retries failures with exponential backoff, and opens a circuit breaker after
repeated failures. After a failure heals it reconciles. Governance that may entitle a peer to
more of a community (a member homed there joins, is given a role, an overwrite or role lets them
see a private channel: policy.ENTITLING_KINDS) has the worker reconcile that community with the
peer at once, which sends the history policy.py withheld until then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp

from cryb_node.clock import Clock
from cryb_node.events import EventBody, InvalidEvent

from . import ingest, peers, policy, reconcile, vectors
from .peers import Peer
from .transport import PeerCallError, PeerClient
from .wire import (
    DMS_SCOPE,
    USERS_SCOPE,
    Batch,
    FetchRequest,
    Hello,
    HelloReply,
    Notify,
    PullRequest,
    PushReply,
    ReconcileReply,
    ReconcileRequest,
    SyncSettings,
    Vector,
    WireEvent,
)

if TYPE_CHECKING:
    from cryb_node.events import Event
    from cryb_node.node import Node

log = logging.getLogger(__name__)
MAX_ROUNDS = 64  # batches per scope and direction in one session (then the next session goes on)


@dataclass
class Report:
    pulled: int = 0
    pushed: int = 0
    rejected: int = 0
    forks: int = 0
    repaired: int = 0
    scopes: list[str] = field(default_factory=list)


@dataclass
class PeerState:
    peer: Peer
    clock: Clock  # the node's: backoff, the breaker and session intervals run on its monotonic time
    failures: int = 0
    retry_at: float = 0.0
    open_until: float = 0.0
    last_ok: float | None = None
    last_error: str | None = None
    last_session: float = 0.0
    last_reconcile: float = 0.0
    notify_out: bool = False  # we have news for them
    pull_in: bool = False  # they told us they have news
    reconcile_due: bool = True  # after start and after a failure heals
    recheck: set[str] = field(default_factory=set)  # communities the peer may now hold more of
    sessions: int = 0
    events_in: int = 0
    events_out: int = 0
    rejected: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def circuit(self) -> str:
        if self.open_until > self.clock.monotonic():
            return "open"
        return "half-open" if self.open_until else "closed"


class Engine:
    def __init__(self, node: Node, settings: SyncSettings) -> None:
        self.node = node
        self.settings = settings
        self.states: dict[bytes, PeerState] = {}
        self.rejected_total = 0
        self._session: aiohttp.ClientSession | None = None
        self._tasks: dict[bytes, asyncio.Task[None]] = {}
        self._locks: dict[bytes, asyncio.Lock] = {}

    # -- lifetime -----------------------------------------------------------------------------------

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.settings.timeout_s))
        await self.refresh_peers()

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def refresh_peers(self) -> None:
        """Pick up peers pinned or removed (also by the CLI, in another process)."""
        current = {p.node_key: p for p in await peers.list_peers(self.node.db)}
        for key in list(self.states):
            if key not in current:
                self.states.pop(key)
                task = self._tasks.pop(key, None)
                if task:
                    task.cancel()
        for key, peer in current.items():
            st = self.states.get(key)
            if st is None:
                self.states[key] = PeerState(peer, self.node.clock)
            else:
                st.peer = peer
            # Workers only run in the serving node: a CLI process (`cryb peer sync`) runs its one
            # session and nothing beside it (two sessions with one peer raced each other).
            if self.settings.auto and self.node.serving and key not in self._tasks:
                self._tasks[key] = asyncio.create_task(self._worker(key), name=f"sync:{key.hex()[:8]}")

    @property
    def session_http(self) -> aiohttp.ClientSession:
        assert self._session is not None, "engine is not open"
        return self._session

    # -- signals --------------------------------------------------------------------------------------

    def local_news(self) -> None:
        for st in self.states.values():
            st.notify_out = True
            st.wake.set()

    def peer_news(self, key: bytes) -> None:
        st = self.states.get(key)
        if st is not None:
            st.pull_in = True
            st.wake.set()

    async def entitlement_news(self, events: list[Event]) -> None:
        """Reconcile a community at once with the peers its new governance may entitle to more: the
        home of the member it names (a join, a role given, a member's overwrite), else every peer
        (a role's or channel's permissions, the community going public, a hand-off)."""
        everyone: set[str] = set()
        by_user: dict[str, set[str]] = {}
        for ev in events:
            cid = ev.body.community
            if cid is None or ev.kind not in policy.ENTITLING_KINDS:
                continue
            user = _member_named(ev)
            if user is None:
                everyone.add(cid)
            else:
                by_user.setdefault(user, set()).add(cid)
        if by_user:
            marks = ",".join("?" * len(by_user))
            for row in await self.node.db.fetchall(
                f"SELECT user_id, node_key FROM sync_user_homes WHERE user_id IN ({marks})", list(by_user)
            ):
                st = self.states.get(bytes(row["node_key"]))
                if st is not None:
                    st.recheck |= by_user[row["user_id"]]
                    st.wake.set()
        if everyone:
            for st in self.states.values():
                st.recheck |= everyone
                st.wake.set()

    def due_reconcile(self) -> None:
        for st in self.states.values():
            st.reconcile_due = True
            st.wake.set()

    # -- the worker -----------------------------------------------------------------------------------

    async def _worker(self, key: bytes) -> None:
        s, clock = self.settings, self.node.clock
        while True:
            st = self.states.get(key)
            if st is None:
                return
            now = clock.monotonic()
            blocked = max(st.retry_at, st.open_until) - now
            if blocked > 0:  # backing off, or the circuit is open
                await asyncio.sleep(blocked)
                continue
            st.wake.clear()  # before reading the flags, so no news is lost
            periodic = now - st.last_session >= s.session_interval_s
            recon = st.reconcile_due or now - st.last_reconcile >= s.reconcile_interval_s
            try:
                if st.pull_in or periodic or recon or st.failures or st.recheck:
                    st.pull_in = st.notify_out = False
                    recheck, st.recheck = st.recheck, set()  # a failure reconciles everything later
                    await self.session(st.peer, reconcile=recon, recheck=recheck)
                elif st.notify_out:
                    st.notify_out = False
                    await self._notify(st)
                else:
                    idle = s.session_interval_s - (now - st.last_session)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(st.wake.wait(), timeout=max(idle, 0.01))
            except PeerCallError as err:
                self._failed(st, str(err))
            except Exception as err:  # a bug must not kill the worker
                log.exception("sync with %s failed", st.peer.url)
                self._failed(st, f"{type(err).__name__}: {err}")

    def _failed(self, st: PeerState, error: str) -> None:
        s, now = self.settings, self.node.clock.monotonic()
        st.failures += 1
        st.last_error = error
        st.reconcile_due = True
        delay = min(s.backoff_max_s, s.backoff_initial_s * 2 ** (st.failures - 1))
        st.retry_at = now + delay * random.uniform(0.8, 1.2)
        if st.failures >= s.breaker_failures:
            st.open_until = now + s.breaker_open_s
            st.retry_at = st.open_until
        log.warning(
            "sync with %s failed (%d in a row; retry in %.1fs): %s", st.peer.url, st.failures, delay, error
        )

    def _succeeded(self, st: PeerState) -> None:
        healed = st.failures > 0
        st.failures = 0
        st.retry_at = st.open_until = 0.0
        st.last_ok = self.node.clock.time()
        st.last_error = None
        if healed:
            st.reconcile_due = True
            st.wake.set()

    async def _notify(self, st: PeerState) -> None:
        client = PeerClient(self.session_http, self.node.identity.node_key, st.peer, self.node.clock)
        await client.call("notify", Notify(scopes=await vectors.follows(self.node.db)), Notify)
        self._succeeded(st)

    # -- a session ------------------------------------------------------------------------------------

    async def session(self, peer: Peer, *, reconcile: bool = False, recheck: Collection[str] = ()) -> Report:
        """One session; ``reconcile``: every scope, ``recheck``: these communities only."""
        lock = self._locks.setdefault(peer.node_key, asyncio.Lock())
        st = self.states.setdefault(peer.node_key, PeerState(peer, self.node.clock))
        async with lock:
            try:
                report = await self._session_once(peer, reconcile, recheck)
            except PeerCallError as err:
                await peers.record_outcome(self.node.db, peer.node_key, str(err), now=self.node.clock.time())
                raise
            st.sessions += 1
            st.last_session = self.node.clock.monotonic()
            if reconcile:
                st.last_reconcile = st.last_session
                st.reconcile_due = False
            st.events_in += report.pulled + report.repaired
            st.events_out += report.pushed
            st.rejected += report.rejected
            self._succeeded(st)
            await peers.record_outcome(self.node.db, peer.node_key, None, now=self.node.clock.time())
            return report

    async def _session_once(self, peer: Peer, do_reconcile: bool, recheck: Collection[str] = ()) -> Report:
        node, s = self.node, self.settings
        client = PeerClient(self.session_http, node.identity.node_key, peer, node.clock)
        mine = await vectors.follows(node.db)
        hello = await client.call("hello", Hello(follows=mine), HelloReply)
        if hello.node_key != peer.key_hex:
            raise PeerCallError("the peer answered with another node key")
        shared = set(mine) | set(hello.follows) if s.follow_peers else set(mine) & set(hello.follows)
        # profiles first (authors are known before what they author), then DMs and communities
        report = Report(scopes=[USERS_SCOPE, DMS_SCOPE, *sorted(shared)])
        for scope in report.scopes:
            await self._pull(client, scope, report)
            await self._push(client, scope, hello.vectors.get(scope, {}), report)
            if do_reconcile or scope in recheck:
                await self._reconcile(client, scope, report)
        return report

    async def _pull(self, client: PeerClient, scope: str, report: Report) -> None:
        """Pull a scope batch by batch. The next batch is asked for while this one is verified and
        written, from where this one leaves our vector if every event of it is stored; when some
        are not (the vector stays back), that guess is dropped and the next pull starts from the
        vector we really hold."""
        node, s = self.node, self.settings

        async def fetch(after: Vector) -> tuple[Batch, list[EventBody | InvalidEvent]]:
            req = PullRequest(scope=scope, after=after, max_events=s.batch_events, max_bytes=s.frame_bytes)
            batch = await client.call("pull", req, Batch)
            # verified off the loop while the batch before is written (libsodium and SQLite both
            # let go of the GIL)
            return batch, await asyncio.to_thread(ingest.check_signatures, batch.events)

        def pull(after: Vector) -> asyncio.Task[tuple[Batch, list[EventBody | InvalidEvent]]]:
            task = asyncio.ensure_future(fetch(after))
            task.add_done_callback(_retrieved)  # a guess dropped after it failed logs nothing
            return task

        before = await vectors.vector(node.db, scope, node.identity.origin)
        pending: asyncio.Task[tuple[Batch, list[EventBody | InvalidEvent]]] | None = pull(before)
        try:
            for _ in range(MAX_ROUNDS):
                if pending is None:
                    return
                batch, checked = await pending
                if batch.scope != scope:
                    raise PeerCallError("the peer answered for another scope")
                guess = vectors.after_batch(before, batch)
                pending = pull(guess) if batch.more else None
                out = await ingest.store(node, client.peer.node_key, batch, checked)
                if out.flagged:
                    # a failed session like any other: backoff, then the breaker opens
                    raise PeerCallError("the peer is flagged for sending refused events")
                report.pulled += out.stored
                report.rejected += len(out.rejected)
                report.forks += out.forks
                now = await vectors.vector(node.db, scope, node.identity.origin)
                if now == before:
                    return
                if pending is not None and now != guess:
                    pending.cancel()
                    pending = pull(now)
                before = now
        finally:
            if pending is not None:
                pending.cancel()

    async def _push(self, client: PeerClient, scope: str, theirs: dict[str, int], report: Report) -> None:
        node, s = self.node, self.settings
        withhold = await policy.withhold_for(node, client.peer.node_key, scope)
        for _ in range(MAX_ROUNDS):
            mine = await vectors.vector(node.db, scope, node.identity.origin)
            batch = await vectors.build_batch(
                node.db,
                scope,
                mine,
                theirs,
                max_events=s.batch_events,
                max_bytes=s.frame_bytes,
                withhold=withhold,
            )
            if not batch.covered:
                return
            reply = await client.call("push", batch, PushReply)
            report.pushed += reply.stored
            if reply.vector == theirs or not batch.more:
                return
            theirs = reply.vector

    async def _reconcile(self, client: PeerClient, scope: str, report: Report) -> None:
        node = self.node
        withhold = await policy.withhold_for(node, client.peer.node_key, scope)
        mine = reconcile.ItemSet(await reconcile.items(node.db, scope, withhold))
        ranges = [mine.root()]
        want: set[bytes] = set()
        give: set[bytes] = set()
        for _ in range(32):
            if not ranges:
                break
            reply = await client.call(
                "reconcile", ReconcileRequest(scope=scope, ranges=ranges), ReconcileReply
            )
            w, g, ranges = reconcile.step(mine, reply.ranges)
            want |= w
            give |= g
        if want:
            ids = sorted(want)
            for i in range(0, len(ids), self.settings.batch_events):
                batch = await client.call("events", FetchRequest(scope=scope, ids=ids[i : i + 500]), Batch)
                out = await ingest.receive(node, client.peer.node_key, batch)
                report.repaired += out.stored
                report.rejected += len(out.rejected)
        if give:
            ids = sorted(give)
            for i in range(0, len(ids), 500):
                batch = await events_by_id(node, scope, ids[i : i + 500], withhold)
                pushed = await client.call("push", batch, PushReply)
                report.pushed += pushed.stored
        if want or give:
            log.info(
                "reconciled %s with %s: fetched %d, sent %d", scope, client.peer.url, len(want), len(give)
            )


def _retrieved(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _member_named(ev: Event) -> str | None:
    """The one member whose entitlement the event may change, if it names one."""
    if ev.kind in ("member.join", "member.unban", "role.assign"):
        return ev.body.target
    p = ev.payload
    if ev.kind.startswith("overwrite.") and getattr(p, "target_type", None) == "member":
        return getattr(p, "target_id", None)
    return None


async def events_by_id(node: Node, scope: str, ids: list[bytes], withhold: vectors.Withhold | None) -> Batch:
    """A batch of the given events of ``scope`` that we hold (no vector claims)."""
    if not ids:
        return Batch(scope=scope)
    where, params = vectors.scope_where(scope)
    marks = ",".join("?" * len(ids))
    rows = await node.db.fetchall(
        "SELECT e.body, e.sig, c.content, e.origin FROM events e"
        " LEFT JOIN event_content c ON c.event_id = e.id"
        # in (hlc, id) order: what a batch governs (a channel, an overwrite) before what it governs
        f" WHERE {where} AND e.id IN ({marks}) ORDER BY e.hlc, e.id",
        (*params, *ids),
    )

    out = []
    origins = set()
    for r in rows:
        body, content = bytes(r["body"]), r["content"]
        if withhold is not None and await withhold(body, content):
            continue
        out.append(WireEvent(body, bytes(r["sig"]), bytes(content) if content is not None else None))
        origins.add(bytes(r["origin"]))
    return Batch(scope=scope, events=out, certs=await vectors.certs(node.db, sorted(origins)))
