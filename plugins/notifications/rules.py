"""Which events tell whom: the index the rules need (kept from the events themselves) and the
candidates each event produces. Whether a candidate becomes a notification is decided later, per
recipient, by blocks, permissions and preferences (service.py).

Payloads are read by field name from the raw event payloads, so this plugin imports no other
plugin's code: content (message/post/comment/dm/moderation) and communities (members, roles, kicks,
bans, timeouts) are known here only by their event kinds, documented in their events.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryb_node.db import Connection, Database
from cryb_node.events import Event

from . import queries

KINDS = frozenset(
    {
        "message.create",
        "post.create",
        "comment.create",
        "dm.create",
        "content.moderate",
        "member.join",
        "member.leave",
        "member.kick",
        "member.ban",
        "member.timeout",
        "role.assign",
        "role.unassign",
        "message.delete",
        "post.delete",
        "comment.delete",
        "user.erased",
    }
)
# One notification per event per user: the most specific reason wins.
PRIORITY = {"dm": 0, "mention": 1, "reply": 2, "comment": 3, "moderation": 4, "announcement": 5}
PREVIEW_CHARS = 140


@dataclass(frozen=True)
class Candidate:
    user_id: str
    kind: str
    source: str  # the dedupe key: (user_id, source) is told at most once
    actor_id: str | None = None
    community_id: str | None = None
    channel_id: str | None = None
    target_id: str | None = None
    preview: str = ""
    needs_view: bool = False  # only if the user may view channel_id (checked with Permissions)


def _get(payload: object, name: str, default: Any = None) -> Any:
    if isinstance(payload, dict):
        return payload.get(name, default)
    return getattr(payload, name, default)


def _preview(text: object) -> str:
    s = " ".join(str(text or "").split())
    return s if len(s) <= PREVIEW_CHARS else s[: PREVIEW_CHARS - 1] + "…"


def update_index(conn: Connection, events: list[Event]) -> None:
    """Fold a batch into the index (idempotent: a replayed batch changes nothing), and forget the
    copied text of content that was deleted or removed, and everything of an erased user."""
    for ev in events:
        b, p = ev.body, ev.payload
        if b.kind in ("message.delete", "post.delete", "comment.delete") or (
            b.kind == "content.moderate" and _get(p, "field") == "hidden" and _get(p, "value") is True
        ):
            conn.execute(
                "UPDATE notif_inbox SET preview = '' WHERE target_id = ? AND kind != 'moderation'",
                (b.target,),
            )
        if b.kind == "user.erased" and b.target:
            for table in ("notif_inbox", "notif_prefs", "notif_push_subs", "notif_digests", "notif_outbox"):
                conn.execute(f"DELETE FROM {table} WHERE user_id = ?", (b.target,))
            conn.execute("UPDATE notif_inbox SET preview = '' WHERE actor_id = ?", (b.target,))
            continue
        if p is None:
            continue
        if b.kind in ("message.create", "post.create", "comment.create") and b.author and b.target:
            conn.execute(
                "INSERT OR IGNORE INTO notif_authors (target_id, author_id, community_id, channel_id)"
                " VALUES (?, ?, ?, ?)",
                (b.target, b.author, b.community, _get(p, "channel_id")),
            )
        elif b.kind == "dm.create" and b.target:
            conn.executemany(
                "INSERT OR IGNORE INTO notif_dm_members (channel_id, user_id) VALUES (?, ?)",
                [(b.target, u) for u in _get(p, "participants", []) or []],
            )
        elif b.kind.startswith("member.") and b.kind != "member.timeout" and b.community and b.target:
            present = 1 if b.kind == "member.join" else 0
            conn.execute(
                "INSERT INTO notif_members (community_id, user_id, hlc, present) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (community_id, user_id) DO UPDATE SET hlc = excluded.hlc,"
                " present = excluded.present WHERE excluded.hlc > notif_members.hlc",
                (b.community, b.target, b.hlc, present),
            )
        elif b.kind in ("role.assign", "role.unassign") and b.target:
            conn.execute(
                "INSERT INTO notif_role_members (role_id, user_id, hlc, present) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (role_id, user_id) DO UPDATE SET hlc = excluded.hlc,"
                " present = excluded.present WHERE excluded.hlc > notif_role_members.hlc",
                (_get(p, "role_id"), b.target, b.hlc, 1 if b.kind == "role.assign" else 0),
            )


class Rules:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _author(self, target_id: object) -> str | None:
        if not target_id:
            return None
        return await queries.author_of(self.db, target_id)

    async def candidates(self, ev: Event, channel_kind: str | None) -> list[Candidate]:
        """Who ``ev`` may concern. ``channel_kind``: the kind of the event's channel (announcement
        channels tell every member), looked up by the caller from the Permissions service."""
        b, p = ev.body, ev.payload
        if p is None or b.author is None:
            return []
        source = ev.id.hex()
        found: dict[str, Candidate] = {}

        def add(user_id: str | None, kind: str, **kw: Any) -> None:
            if not user_id or user_id == b.author:
                return
            old = found.get(user_id)
            if old is None or PRIORITY[kind] < PRIORITY[old.kind]:
                found[user_id] = Candidate(
                    user_id,
                    kind,
                    source,
                    b.author,
                    b.community,
                    **kw,
                )

        channel = _get(p, "channel_id")
        if b.kind == "message.create" and b.community is None:
            text = _preview(_get(p, "content"))
            for uid in await queries.dm_members(self.db, channel):
                add(uid, "dm", channel_id=channel, target_id=b.target, preview=text)
        elif b.kind == "message.create":
            common = {"channel_id": channel, "target_id": b.target, "preview": _preview(_get(p, "content"))}
            view = {**common, "needs_view": True}
            for uid in _get(p, "mentions", []) or []:
                add(uid, "mention", **view)
            for role in _get(p, "mention_roles", []) or []:
                for uid in await queries.role_members(self.db, role):
                    add(uid, "mention", **view)
            everyone = bool(_get(p, "mention_everyone", False))
            if everyone or channel_kind == "announcement":
                for uid in await queries.community_members(self.db, b.community):
                    add(uid, "mention" if everyone else "announcement", **view)
            add(await self._author(_get(p, "reply_to")), "reply", **view)
        elif b.kind == "comment.create":
            view = {"channel_id": channel, "target_id": b.target, "preview": _preview(_get(p, "body")),
                    "needs_view": True}  # fmt: skip
            parent = _get(p, "parent_id")
            if parent:
                add(await self._author(parent), "reply", **view)
            add(await self._author(_get(p, "post_id")), "comment", **view)
        elif b.kind == "content.moderate":
            if _get(p, "field") == "hidden" and _get(p, "value") is True:
                reason = _preview(_get(p, "reason", ""))
                add(await self._author(b.target), "moderation", channel_id=channel, target_id=b.target,
                    preview=f"removed by a moderator{': ' + reason if reason else ''}")  # fmt: skip
        elif b.kind in ("member.kick", "member.ban") or (
            b.kind == "member.timeout" and _get(p, "until") is not None
        ):
            action = {"member.kick": "kicked", "member.ban": "banned", "member.timeout": "timed out"}[b.kind]
            reason = _preview(_get(p, "reason", ""))
            add(b.target, "moderation", target_id=b.target,
                preview=f"you were {action}{': ' + reason if reason else ''}")  # fmt: skip
        return list(found.values())
