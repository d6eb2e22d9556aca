"""Content moderation in the community mod log: a moderator removing (or restoring) a message, post
or comment, from the reports queue or anywhere else, is a ``content.moderate`` event of the content
plugin. This projects it into ``community_modlog`` (through Plugin.projections, in the event's own
transaction), so the log is a function of the community's events like the rest of it: every node
and every replay of the log shows the same entries. Read back, an entry names what was removed (its
excerpt and author) for the community's moderators only: a public mod log must not republish what
a moderator took down."""

from __future__ import annotations

import json

from cryb_node.clock import wall_ms
from cryb_node.db import Connection
from cryb_node.events import Event
from cryb_node.refusals import refused
from cryb_node.services import ContentTargets, Perm

from . import schemas as s

KINDS = ("message", "post", "comment")
# content.moderate sets one flag; the mod log records the "hidden" flag: removed or restored.
VERBS = {True: "remove", False: "approve"}
ACTIONS = tuple(f"{kind}_{verb}" for kind in KINDS for verb in VERBS.values())
# Who sees an entry's excerpt and author (a public mod log's other readers see the kind and place).
SEES_CONTENT = Perm.MANAGE_MESSAGES | Perm.VIEW_AUDIT_LOG


def project(conn: Connection, ev: Event) -> None:
    """content.moderate -> a mod log entry, when it removes or restores community content."""
    b, p = ev.body, ev.payload
    kind = getattr(p, "target_type", None)
    if b.community is None or p is None or kind not in KINDS or getattr(p, "field", None) != "hidden":
        return  # a DM has no community log; pins, locks and stickies are not removals
    if refused(conn, ev.id):
        return
    conn.execute(
        "INSERT OR REPLACE INTO community_modlog (event_id, community_id, hlc, created_at, actor_id,"
        " action, target_id, reason, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            ev.id, b.community, b.hlc, wall_ms(b.hlc), b.author, f"{kind}_{VERBS[bool(p.value)]}",
            b.target, getattr(p, "reason", "") or "",
            json.dumps({"channel_id": p.channel_id}, sort_keys=True),
        ),
    )  # fmt: skip


def clear(conn: Connection, community_id: str) -> None:
    """The rows ``project`` made for one community: a rebuild applies the allowed events again."""
    marks = ",".join("?" * len(ACTIONS))
    conn.execute(
        f"DELETE FROM community_modlog WHERE community_id = ? AND action IN ({marks})",
        (community_id, *ACTIONS),
    )


async def describe(targets: ContentTargets | None, entries: list[s.ModlogEntry], perms: int) -> None:
    """Fill in what each content entry was about, for a reader holding ``SEES_CONTENT``."""
    if targets is None or not perms & (SEES_CONTENT | Perm.ADMINISTRATOR):
        return
    for e in entries:
        if e.target_type in KINDS and e.target:
            ref = await targets.find(e.target_type, e.target)
            if ref is not None:
                e.content = s.ModlogContent(
                    author_id=ref.author_id,
                    excerpt=ref.excerpt,
                    channel_id=ref.channel_id,
                    post_id=ref.post_id,
                )
