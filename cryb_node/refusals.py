"""Refused events: signed and stored, but not allowed by the authority rules, so never projected.

An event's verdict is a function of the events before it in the (hlc, id) order, decided the same
way for a local write and a peer's event (Authority, provided by the communities plugin, and each
kind's own ``EventType.authorize``). A refused event stays in the log: its origin's log must stay
contiguous and every node must hold the same events to reach the same verdicts. The rows here are
both the verdicts projections respect and the evidence an admin reads (`cryb sync refused`).

One kind of refusal is not a verdict of the rule book but this node's own decision (LOCAL codes: a
node ban, cryb_node/sync/bans.py). It is stored the same way, so every path that keeps refused events
out of projections keeps these out too, but it is not evidence against the node that signed the event
and other nodes do not share it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from cryb_node.db import Connection

if TYPE_CHECKING:
    from cryb_node.events import Event


class Refusal(Exception):
    """Why an event is not allowed: a stable code and a sentence."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code, self.detail = code, detail


# Refusal codes of this node's own policy (LocalPolicy), not of the shared rule book: other nodes
# apply these events, and they never count against the node that signed them (sync/refused.py).
LOCAL = frozenset({"node_banned"})


class LocalPolicy(Protocol):
    """This node's own decision on events the rule book allows (the sync plugin's node bans). Asked
    after the rule book, at projection time and whenever a verdict is decided again."""

    def decide(self, conn: Connection, ev: Event) -> Refusal | None:
        """A LOCAL refusal for a stored, not yet applied event, or None."""
        ...


class Authority(Protocol):
    """Decides community events at their place in the (hlc, id) order (the communities plugin)."""

    def covers(self, kind: str) -> bool:
        """True for the kinds this authority decides (governance kinds decide themselves)."""
        ...

    def decide(self, conn: Connection, ev: Event) -> Refusal | None:
        """The verdict on a stored, not yet applied event of a kind it covers."""
        ...

    def applied(self, conn: Connection, ev: Event) -> None:
        """After any other community event is applied: re-decide what it precedes, if it must."""
        ...

    def redecide(self, conn: Connection, community: str) -> None:
        """Decide every covered event of the community again at its place and rebuild its content
        projections from the allowed ones (the local policy changed: a node ban or its removal)."""
        ...


def record(conn: Connection, ev: Event, refusal: Refusal, *, at: int | None = None) -> None:
    """Store (or update) the refusal; ``at``: when, in unix seconds (by default the node's now)."""
    b = ev.body
    if at is None:
        at = int(conn.clock.time())
    conn.execute(
        "INSERT INTO event_refusals (event_id, community, origin, kind, author, hlc, code, detail,"
        " refused_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (event_id) DO UPDATE SET code = excluded.code, detail = excluded.detail",
        (ev.id, b.community, b.origin, b.kind, b.author, b.hlc, refusal.code, refusal.detail, at),
    )  # fmt: skip


def clear(conn: Connection, event_id: bytes) -> bool:
    """Forget a refusal (a late governance event allowed it after all); True if there was one."""
    return conn.execute("DELETE FROM event_refusals WHERE event_id = ?", (event_id,)).rowcount > 0


def refused(conn: Connection, event_id: bytes) -> bool:
    return conn.execute("SELECT 1 FROM event_refusals WHERE event_id = ?", (event_id,)).fetchone() is not None
