"""The rule book for what members do inside a community (messages, posts, comments, votes, reactions,
moderation of content, custom emoji): the permission each kind needs, decided against the community's
governance state at the event's place in the (hlc, id) order.

One function decides a local write (EventLog refuses it before commit) and a peer's event (stored,
recorded as refused, never projected), so the two paths cannot drift. Every node reaches the same
verdicts whatever order events arrive in:

- an event after the newest governance event is decided against the projection as it stands;
- an event that lands before governance the node already holds is decided against a replay of the
  governance events up to its place (inside a savepoint that is rolled back);
- a governance event that lands before content the node already holds re-decides that content: a
  verdict that turns into a refusal withdraws the content (the community's content projections are
  rebuilt from its allowed events), one that turns into an allowance applies it.

Governance kinds themselves are decided by their own rules as governance replay folds them
(governance.fold); their refusals are recorded here too, as evidence.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from cryb_node.clock import wall_ms
from cryb_node.db import Connection, Row
from cryb_node.events import Event, EventBody
from cryb_node.refusals import Refusal, refused
from cryb_node.refusals import clear as clear_refusal
from cryb_node.refusals import record as record_refusal
from cryb_node.services import Perm
from cryb_node.sync.homes import MOVED, author_home_at

from . import projection as gov
from .forum_tags import tag_refusal
from .onboarding import account_created_ms, screen
from .perms import ALL, CommunityState, MemberState, base_permissions, channel_permissions
from .state import load_community_sync, load_member_sync

if TYPE_CHECKING:
    from cryb_node.node import Node

log = logging.getLogger(__name__)

CHAT = ("text", "announcement")
FORUM = ("forum",)
VOICE = ("voice",)


@dataclass(frozen=True)
class Rule:
    """What a kind needs in the channel its payload names (``channel`` False: community-wide)."""

    perms: Perm
    kinds: tuple[str, ...] | None = None
    channel: bool = True


RULES: dict[str, Rule] = {
    "message.create": Rule(Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES, CHAT),
    "message.edit": Rule(Perm.VIEW_CHANNEL, CHAT),
    "post.create": Rule(Perm.VIEW_CHANNEL | Perm.CREATE_POSTS, FORUM),
    "post.edit": Rule(Perm.VIEW_CHANNEL, FORUM),
    "comment.create": Rule(Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES, FORUM),
    "comment.edit": Rule(Perm.VIEW_CHANNEL, FORUM),
    "content.moderate": Rule(Perm.VIEW_CHANNEL | Perm.MANAGE_MESSAGES),
    "reaction.add": Rule(Perm.VIEW_CHANNEL | Perm.READ_HISTORY | Perm.ADD_REACTIONS),
    "reaction.remove": Rule(Perm.VIEW_CHANNEL),
    "vote.set": Rule(Perm.VIEW_CHANNEL | Perm.VOTE),
    # polls (plugins/polls): the poll's own rules (deadline, answers, channel) are the kind's authorize
    "poll.vote": Rule(Perm.VIEW_CHANNEL | Perm.READ_HISTORY),
    "poll.end": Rule(Perm.VIEW_CHANNEL),
    "emoji.create": Rule(Perm.MANAGE_COMMUNITY, channel=False),
    "emoji.delete": Rule(Perm.MANAGE_COMMUNITY, channel=False),
    "emoji.update": Rule(Perm.MANAGE_COMMUNITY, channel=False),
    # scheduled events (plugins/happenings): managers plan them; any member answers (an RSVP)
    "scheduled_event.create": Rule(Perm.MANAGE_EVENTS, channel=False),
    "scheduled_event.update": Rule(Perm.MANAGE_EVENTS, channel=False),
    "scheduled_event.cancel": Rule(Perm.MANAGE_EVENTS, channel=False),
    "scheduled_event.rsvp": Rule(Perm(0), channel=False),
    # The voice plugin's moderation (its payloads name the voice channel the member was in).
    "voice.mute": Rule(Perm.VIEW_CHANNEL | Perm.MUTE_MEMBERS, VOICE),
    "voice.deafen": Rule(Perm.VIEW_CHANNEL | Perm.DEAFEN_MEMBERS, VOICE),
    "voice.move": Rule(Perm.VIEW_CHANNEL | Perm.MOVE_MEMBERS, VOICE),
}
# An author's delete of their own content is always theirs to make (projections check the author).
_GOV = frozenset(gov.KINDS)
_decode_body = msgspec.msgpack.Decoder(EventBody).decode


class Snapshot:
    """The governance state of one community at one point of a replay, loaded once per point."""

    def __init__(self, conn: Connection, community_id: str, homes: bool = False) -> None:
        self.conn, self.cid, self.homes = conn, community_id, homes
        self.head: tuple[int, bytes] | None = None
        self.state: CommunityState | None = load_community_sync(conn, community_id)
        self._members: dict[str, MemberState] = {}

    def member(self, user_id: str) -> MemberState:
        m = self._members.get(user_id)
        if m is None:
            if len(self._members) > 4096:
                self._members.clear()
            m = self._members[user_id] = load_member_sync(self.conn, self.cid, user_id)
        return m


def _moved_away(conn: Connection, user_id: str, origin: bytes, hlc: int) -> Refusal | None:
    """An account that moved is authored, from the move's place on, only by its new home's logs."""
    if not conn.execute("SELECT 1 FROM sync_user_moves WHERE user_id = ? LIMIT 1", (user_id,)).fetchone():
        return None
    home = author_home_at(conn, user_id, hlc)
    signer = conn.execute("SELECT node_key FROM log_keys WHERE origin = ?", (origin,)).fetchone()
    if home is None or signer is None or bytes(signer["node_key"]) == home:
        return None
    return Refusal("author_moved", "the account had moved to another node at this point")


def check(snap: Snapshot, ev: Event) -> Refusal | None:
    """The verdict on one content event against a governance snapshot (pure: rows in, answer out)."""
    rule = RULES.get(ev.body.kind)
    if rule is None:
        return None
    b, p = ev.body, ev.payload
    if b.kind == "content.moderate" and getattr(p, "rank", 0) >= 3:
        # A node admin of the community's home (checked where it is received: sync.ingest), who
        # moderates without being a member.
        return None
    state = snap.state
    if state is None:
        return Refusal("not_found", "the community does not exist at this point")
    if b.author is None:
        return Refusal("invalid_event", "members' actions name their author")
    if snap.homes and (moved := _moved_away(snap.conn, b.author, b.origin, b.hlc)) is not None:
        return moved
    m = snap.member(b.author)
    now = wall_ms(b.hlc)
    if m.banned:
        return Refusal("banned", "the author is banned from this community")
    if b.kind == "poll.vote" and m.timed_out(now):
        # a timed-out member keeps VIEW_CHANNEL and READ_HISTORY, all a vote needs otherwise
        return Refusal("timed_out", f"the author is timed out until {m.timeout_until}")
    if not m.member and b.author != state.owner_id:
        return Refusal("not_member", "the author is not a member of this community")
    if p is None:
        # Erased or withheld content: the channel is unknown, the author's standing in the
        # community is not (a skeleton projection only ever makes a tombstone).
        have, rule = base_permissions(state, b.author, m, now), Rule(rule.perms, channel=False)
    elif rule.channel:
        channel_id = getattr(p, "channel_id", None)
        ch = state.channels.get(channel_id or "")
        if ch is None:
            return Refusal("not_found", "the channel is not in this community at this point")
        if rule.kinds is not None and ch.kind not in rule.kinds:
            return Refusal("wrong_channel_kind", f"{b.kind} is not possible in a {ch.kind} channel")
        have = channel_permissions(state, ch, b.author, m, now)
    else:
        have = base_permissions(state, b.author, m, now)
    if have & Perm.ADMINISTRATOR:
        have = ALL
    base = have if not rule.channel or p is None else base_permissions(state, b.author, m, now)
    if (untagged := tag_refusal(state, b.kind, p)) is not None:
        return untagged
    author = b.author
    created = lambda: account_created_ms(snap.conn, author)  # noqa: E731
    if (screened := screen(state, b.kind, author, m, base, now, created)) is not None:
        return screened
    need = int(rule.perms)
    if getattr(p, "attachments", None):
        need |= Perm.ATTACH_FILES
    if getattr(p, "mention_everyone", False):
        need |= Perm.MENTION_EVERYONE
    if getattr(p, "integration", None) is not None:
        need |= Perm.MANAGE_WEBHOOKS  # shown as an integration: only a webhook's owner posts so
    if b.kind == "poll.end" and getattr(p, "moderator", False):
        need |= Perm.MANAGE_MESSAGES  # ending someone else's poll
    if b.kind == "content.moderate" and getattr(p, "rank", 0) >= 2:
        need |= Perm.ADMINISTRATOR  # rank 2 claims the community's administrators' weight
    missing = need & ~have
    if missing:
        if m.timed_out(now) and missing & ~(Perm.VIEW_CHANNEL | Perm.READ_HISTORY):
            return Refusal("timed_out", f"the author is timed out until {m.timeout_until}")
        names = ", ".join(x.name or "" for x in Perm if x & missing)
        return Refusal("missing_permission", f"{b.kind} needs {names}")
    return None


class CommunityAuthority:
    """The node's Authority (cryb_node.refusals): decides ruled kinds at their position."""

    def __init__(self, node: Node) -> None:
        self.node = node
        # accounts move between nodes only with federation (its tables say where they lived)
        self.homes = any(loaded.plugin.name == "sync" for loaded in node.plugins)
        self._current: dict[str, Snapshot] = {}  # community -> its state at its governance head

    def snapshot(self, conn: Connection, cid: str) -> Snapshot:
        return Snapshot(conn, cid, self.homes)

    def covers(self, kind: str) -> bool:
        return kind in RULES

    # -- one event ----------------------------------------------------------------------------

    def decide(self, conn: Connection, ev: Event) -> Refusal | None:
        cid = ev.body.community
        assert cid is not None
        head = _head(conn, cid)
        if head is None or (ev.body.hlc, ev.id) > head:
            # The state after the newest governance event, loaded once per (community, head): the
            # rows are a function of the events folded so far, so the head names them (a rolled
            # back transaction takes its head with it).
            snap = self._current.get(cid)
            if snap is None or snap.head != head:
                snap = self._current[cid] = self.snapshot(conn, cid)
                snap.head = head
                if len(self._current) > 256:
                    self._current.pop(next(iter(self._current)))
            return check(snap, ev)
        # Governance this node holds comes after the event: decide at its place, then put back.
        conn.execute("SAVEPOINT verdict_at")
        try:
            gov.rebuild(conn, cid, until=(ev.body.hlc, ev.id))
            return check(self.snapshot(conn, cid), ev)
        finally:
            conn.execute("ROLLBACK TO verdict_at")
            conn.execute("RELEASE verdict_at")

    # -- after a governance event -------------------------------------------------------------

    def applied(self, conn: Connection, ev: Event) -> None:
        """After a governance event is folded: re-decide what it precedes (nothing, usually)."""
        if ev.body.kind == MOVED and self.homes:
            self._moved(conn, ev)
            return
        cid = ev.body.community
        if cid is None or ev.body.kind not in _GOV:
            return
        # A late one is folded in the middle and leaves the head as it was: forget the state.
        self._current.pop(cid, None)
        place = (ev.body.hlc, ev.id)
        latest = _head(conn, cid) == place
        later_content = self._after(conn, cid, place, list(RULES))
        # Governance that other plugins also project (a ban's delete window): a late event may have
        # changed such an event's verdict in the replay, and its rows are rebuilt with the content.
        later_extra = not latest and self._after(conn, cid, place, list(self.node.registry.extra))
        if not later_content and not later_extra:
            return
        flips: list[bool] = [later_extra]
        if latest:
            # The newest governance event: the state after it is the projection as it stands.
            snap = self.snapshot(conn, cid)
            for later_ev in self._content(conn, cid, place):
                flips.append(self._redecide(conn, snap, later_ev))
        elif later_content:
            pending = self._content(conn, cid, place)
            nxt = next(pending, None)

            def between(upto: tuple[int, bytes] | None) -> None:
                nonlocal nxt
                snap: Snapshot | None = None
                while nxt is not None and (upto is None or (nxt.body.hlc, nxt.id) < upto):
                    snap = snap or self.snapshot(conn, cid)
                    flips.append(self._redecide(conn, snap, nxt))
                    nxt = next(pending, None)

            gov.rebuild(conn, cid, between=between)
        if any(flips):
            self.rebuild_content(conn, cid)

    def _moved(self, conn: Connection, ev: Event) -> None:
        """A move that lands after what the account's old home wrote past it: refuse that too."""
        user = ev.body.target
        if user is None:
            return
        rows = conn.execute(
            f"{_SELECT} WHERE e.hlc > ? AND e.community IS NOT NULL AND e.kind IN ({_RULED_MARKS})"
            " AND NOT EXISTS (SELECT 1 FROM event_refusals r WHERE r.event_id = e.id)",
            (ev.body.hlc, *RULES),
        ).fetchall()
        withdrawn: set[str] = set()
        for row in rows:
            later = _event(self.node, row)
            if later.body.author != user or later.body.community is None:
                continue
            refusal = _moved_away(conn, user, later.body.origin, later.body.hlc)
            if refusal is not None:
                record_refusal(conn, later, refusal)
                withdrawn.add(later.body.community)
        for cid in sorted(withdrawn):
            self.rebuild_content(conn, cid)

    @staticmethod
    def _after(conn: Connection, cid: str, place: tuple[int, bytes], kinds: list[str]) -> bool:
        if not kinds:
            return False
        row = conn.execute(
            "SELECT 1 FROM events WHERE community = ? AND (hlc, id) > (?, ?) AND kind IN"
            f" ({','.join('?' * len(kinds))}) LIMIT 1",
            (cid, *place, *kinds),
        ).fetchone()
        return row is not None

    def _redecide(self, conn: Connection, snap: Snapshot, ev: Event) -> bool:
        """Record a changed verdict; True when applied content must be withdrawn."""
        # The kind's own rule first, as EventLog.verdict asks it: the rule book allowing an event
        # must not undo what that rule refused (a poll vote past its deadline).
        et = self.node.registry.get(ev.body.kind)
        verdict = et.authorize(conn, ev) if et is not None and et.authorize is not None else None
        verdict = verdict or check(snap, ev)
        local = self.node.registry.local_policy
        if verdict is None and local is not None:
            # What the rule book allows this node may still refuse (a node ban): never undo that here.
            verdict = local.decide(conn, ev)
        was_refused = refused(conn, ev.id)
        if verdict is None and was_refused:
            clear_refusal(conn, ev.id)
            # without its payload it already left what a skeleton leaves, refused or not
            if et is not None and et.apply is not None and ev.payload is not None:
                et.apply(conn, ev)
            log.info("allowed %s %s after a late governance event", ev.body.kind, ev.id.hex()[:16])
            return False
        if verdict is not None:
            record_refusal(conn, ev, verdict)
            if not was_refused:
                log.info("withdrew %s %s: %s", ev.body.kind, ev.id.hex()[:16], verdict)
                return True
        return False

    def redecide(self, conn: Connection, cid: str) -> None:
        """Every ruled event of the community decided again at its place (one governance replay),
        then its content rebuilt: the node's local policy changed (a node ban, or its removal)."""
        self._current.pop(cid, None)
        pending = self._content(conn, cid, (-1, b""))
        nxt = next(pending, None)

        def between(upto: tuple[int, bytes] | None) -> None:
            nonlocal nxt
            snap: Snapshot | None = None
            while nxt is not None and (upto is None or (nxt.body.hlc, nxt.id) < upto):
                snap = snap or self.snapshot(conn, cid)
                self._redecide(conn, snap, nxt)
                nxt = next(pending, None)

        gov.rebuild(conn, cid, between=between)
        self.rebuild_content(conn, cid)

    def _content(self, conn: Connection, cid: str, after: tuple[int, bytes]) -> Iterator[Event]:
        rows = conn.execute(
            f"{_SELECT} WHERE e.community = ? AND (e.hlc, e.id) > (?, ?) AND e.kind IN ({_RULED_MARKS})"
            " ORDER BY e.hlc, e.id",
            (cid, *after, *RULES),
        ).fetchall()
        for row in rows:
            yield _event(self.node, row)

    def rebuild_content(self, conn: Connection, cid: str) -> None:
        """Withdraw content a late verdict refused: every plugin clears its rows of the community and
        its allowed non-governance events are applied again (projections are order-independent)."""
        for loaded in self.node.plugins:
            loaded.plugin.clear_community(conn, cid)
        registry = self.node.registry
        extra = [k for k in registry.extra if k in _GOV]
        rows = conn.execute(
            f"{_SELECT} WHERE e.community = ? AND (e.kind NOT IN ({_GOV_MARKS}) OR e.kind IN"
            f" ({','.join('?' * len(extra))})) AND NOT EXISTS (SELECT 1 FROM event_refusals r"
            " WHERE r.event_id = e.id) ORDER BY e.hlc, e.id",
            (cid, *_GOV, *extra),
        ).fetchall()
        # Refused creates leave what a skeleton leaves (a tombstone once their author deletes them).
        for row in conn.execute(
            f"{_SELECT} JOIN event_refusals r ON r.event_id = e.id WHERE e.community = ?", (cid,)
        ).fetchall():
            ev = _event(self.node, row)
            et = registry.get(ev.body.kind)
            if et is not None and et.skeleton is not None:
                et.skeleton(conn, ev)
        for row in rows:
            ev = _event(self.node, row)
            if ev.body.kind in _GOV:
                # only the other plugins' projections of it: governance itself is already folded
                for projection in registry.extra[ev.body.kind]:
                    projection(conn, ev)
                continue
            et = registry.get(ev.body.kind)
            if et is None:
                continue
            if ev.payload is None and ev.body.content_hash is not None:
                if et.skeleton is not None:
                    et.skeleton(conn, ev)
            elif et.apply is not None:
                et.apply(conn, ev)
        log.info("rebuilt the content of community %s from %d allowed events", cid, len(rows))


_RULED_MARKS = ",".join("?" * len(RULES))
_GOV_MARKS = ",".join("?" * len(_GOV))
_SELECT = "SELECT e.pos, e.id, e.body, c.content FROM events e LEFT JOIN event_content c ON c.event_id = e.id"


def _head(conn: Connection, cid: str) -> tuple[int, bytes] | None:
    row = conn.execute(
        "SELECT hlc, event_id FROM community_gov_head WHERE community_id = ?", (cid,)
    ).fetchone()
    return None if row is None else (row["hlc"], bytes(row["event_id"]))


def _event(node: Node, row: Row) -> Event:
    """An event from a row of ``_SELECT``."""
    body = _decode_body(row["body"])
    payload = node.registry.decode_payload(body.kind, row["content"])
    return Event(pos=row["pos"], id=bytes(row["id"]), body=body, payload=payload)
