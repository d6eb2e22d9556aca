"""The governance rules, applied: what routes check before appending, and the projection's fold.

The services run ``check`` inside the writing transaction to answer a clear 4xx before appending;
the projection runs ``fold`` for every event at its point in the (hlc, id) replay and ignores events
that fail, so rows never depend on arrival order.
"""

from __future__ import annotations

import logging
from typing import Any

from cryb_node.clock import wall_ms
from cryb_node.db import Connection
from cryb_node.events import Event
from cryb_node.refusals import Refusal
from cryb_node.refusals import record as record_refusal

from . import forum_tags, onboarding, rules_members, rules_structure
from .authority import HANDLERS, Ctx, Denied

log = logging.getLogger(__name__)
assert forum_tags and onboarding and rules_members and rules_structure  # imported for their rules


def check(
    conn: Connection,
    kind: str,
    community_id: str,
    actor: str | None,
    target: str | None,
    payload: Any,
    now_ms: int,
) -> None:
    """Raise Denied if this event would be refused now (what routes check before appending)."""
    HANDLERS[kind](Ctx(conn, kind, community_id, actor, target, payload, now_ms))


def fold(conn: Connection, ev: Event) -> None:
    """Apply one event at its point in the replay; unauthorised or erased events change nothing."""
    b = ev.body
    handler = HANDLERS.get(b.kind)
    if handler is None or ev.payload is None or b.community is None:
        return
    ctx = Ctx(conn, b.kind, b.community, b.author, b.target, ev.payload, wall_ms(b.hlc), ev.id, b.hlc)
    try:
        change = handler(ctx)
    except Denied as denied:
        # Evidence like any refusal: a replay clears and re-records a community's (events.rebuild).
        log.debug("ignored %s %s: %s", b.kind, ev.id.hex()[:12], denied)
        record_refusal(conn, ev, Refusal(denied.code, denied.detail))
        return
    change()
