"""Governance event kinds (payload Structs) and the projection that folds them into rows.

Every change to a community is one of these events (community=<id>, author=<actor>,
target=<subject>). The projection makes the rows depend only on WHICH events exist: an event newer
(hlc, id) than the community's last folded one is applied on top; an older one (arriving late, from
a peer or a concurrent writer) makes the community's rows be rebuilt by replaying its governance
events in (hlc, id) order. Each event's authority is re-checked at its point in the replay
(governance.py); unauthorised events stay in the log but change nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

import msgspec
from msgspec import UNSET, UnsetType

from cryb_node.db import Connection
from cryb_node.events import Event, EventBody, EventType

log = logging.getLogger(__name__)


class Gov(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Common to every governance payload. ``as_admin``: a node admin acting as moderator."""

    as_admin: bool = False


class CommunityCreate(Gov):
    name: str
    public: bool
    description: str = ""
    icon: str | None = None
    rules: list[str] = []
    modlog_public: bool = False


class CommunityUpdate(Gov):
    name: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    icon: str | UnsetType | None = UNSET
    public: bool | UnsetType = UNSET
    rules: list[str] | UnsetType = UNSET
    modlog_public: bool | UnsetType = UNSET


class Empty(Gov):
    pass


class MemberJoin(Gov):
    invited_by: str | None = None  # who made the invite (shown in the member list)
    # Private communities: the invite's code, whose hash an invite.create event names (the proof).
    invite: str | None = None


class InviteCreate(Gov):
    """An invite to the community (target: invite_id(code); the code itself is not in the event)."""

    expires_at: int | None = None  # ms
    max_uses: int | None = None


def invite_id(code: str) -> str:
    """What invite events and the grants table call an invite: its code, hashed."""
    return hashlib.sha256(code.encode()).hexdigest()[:32]


class Reasoned(Gov):
    reason: str = ""


class MemberBan(Gov):
    reason: str = ""
    delete_message_seconds: int = 0  # the content plugin hides the member's content this far back


class MemberTimeout(Gov):
    until: int | None  # ms since epoch; None lifts the timeout
    reason: str = ""


class RoleCreate(Gov):
    name: str
    perms: int
    position: int = 1
    color: int = 0
    hoist: bool = False
    mentionable: bool = False


class RoleUpdate(Gov):
    name: str | UnsetType = UNSET
    perms: int | UnsetType = UNSET
    position: int | UnsetType = UNSET
    color: int | UnsetType = UNSET
    hoist: bool | UnsetType = UNSET
    mentionable: bool | UnsetType = UNSET


class RoleMember(Gov):
    role_id: str


class ChannelCreate(Gov):
    kind: str
    name: str
    topic: str = ""
    parent_id: str | None = None
    position: int = 0
    nsfw: bool = False
    slowmode_s: int = 0


class ChannelUpdate(Gov):
    name: str | UnsetType = UNSET
    topic: str | UnsetType = UNSET
    parent_id: str | UnsetType | None = UNSET
    position: int | UnsetType = UNSET
    nsfw: bool | UnsetType = UNSET
    slowmode_s: int | UnsetType = UNSET


class Position(msgspec.Struct, array_like=True):
    channel_id: str
    position: int


class ChannelReorder(Gov):
    positions: list[Position]


class OverwriteSet(Gov):
    target_type: str  # role | member
    target_id: str
    allow: int = 0
    deny: int = 0


class OverwriteDelete(Gov):
    target_type: str
    target_id: str


class AutomodConfig(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """Settings of one automod rule; which fields matter depends on the rule's kind."""

    words: list[str] = []  # words: matched as whole words, case-insensitively
    patterns: list[str] = []  # regex: checked with a time limit
    allowed_domains: list[str] = []  # links: links to any other domain match
    max_mentions: int = 0  # mentions: more distinct @mentions than this match
    min_account_age_s: int = 0  # new_account: younger accounts match
    min_member_age_s: int = 0  # new_account: members who joined more recently match


class AutomodSet(Gov):
    name: str
    kind: str
    config: AutomodConfig
    action: str
    timeout_s: int = 0
    enabled: bool = True


class AutomodAction(Gov):
    """Automod acted on a member's text (author: none, target: the member)."""

    rule_id: str
    action: str  # block | flag | timeout
    reason: str = ""
    until: int | None = None


# kind -> payload type. ``target`` is the community for community.*, the user for member.* and
# role.assign/unassign, the role for role.*, the channel for channel.* and overwrite.*, the rule
# for automod.set/delete.
KINDS: dict[str, type[msgspec.Struct]] = {
    "community.create": CommunityCreate,
    "community.update": CommunityUpdate,
    "community.delete": Empty,
    "community.transfer": Empty,
    "member.join": MemberJoin,
    "member.leave": Empty,
    "member.kick": Reasoned,
    "member.ban": MemberBan,
    "member.unban": Reasoned,
    "member.timeout": MemberTimeout,
    "role.create": RoleCreate,
    "role.update": RoleUpdate,
    "role.delete": Empty,
    "role.assign": RoleMember,
    "role.unassign": RoleMember,
    "channel.create": ChannelCreate,
    "channel.update": ChannelUpdate,
    "channel.delete": Empty,
    "channel.reorder": ChannelReorder,
    "overwrite.set": OverwriteSet,
    "overwrite.delete": OverwriteDelete,
    "automod.set": AutomodSet,
    "automod.delete": Empty,
    "automod.action": AutomodAction,
    "invite.create": InviteCreate,
    "invite.revoke": Empty,
}
_DECODERS = {kind: msgspec.msgpack.Decoder(t) for kind, t in KINDS.items()}
_decode_body = msgspec.msgpack.Decoder(EventBody).decode

# Every projection table a community's governance events write (rebuild clears them).
PROJECTION_TABLES = (
    "community_roles",
    "community_members",
    "community_member_roles",
    "community_bans",
    "community_channels",
    "community_overwrites",
    "community_automod_rules",
    "community_modlog",
    "community_invite_grants",
)


def apply(conn: Connection, ev: Event) -> None:
    """The projection for every governance kind (runs in the writer, inside the append's transaction)."""
    from .governance import fold

    cid = ev.body.community
    if cid is None:
        return
    head = conn.execute(
        "SELECT hlc, event_id FROM community_gov_head WHERE community_id = ?", (cid,)
    ).fetchone()
    if head is None or (ev.body.hlc, ev.id) > (head[0], head[1]):
        fold(conn, ev)
        conn.execute(
            "INSERT INTO community_gov_head (community_id, hlc, event_id) VALUES (?, ?, ?)"
            " ON CONFLICT (community_id) DO UPDATE SET hlc = excluded.hlc, event_id = excluded.event_id",
            (cid, ev.body.hlc, ev.id),
        )
    else:
        rebuild(conn, cid)


def rebuild(
    conn: Connection,
    community_id: str,
    *,
    until: tuple[int, bytes] | None = None,
    between: Callable[[tuple[int, bytes] | None], None] | None = None,
) -> int:
    """Replay one community's governance events in (hlc, id) order into fresh rows; returns the count.

    ``until``: stop before that place (the state an event there is decided against; the caller rolls
    the rows back). ``between(place)`` runs before each event is folded, and with None at the end: the
    authority decides content at its place as the replay passes it (verdicts.py).
    """
    from .governance import fold

    conn.execute("DELETE FROM communities WHERE id = ?", (community_id,))
    for table in PROJECTION_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE community_id = ?", (community_id,))
    marks = ",".join("?" * len(KINDS))
    conn.execute(
        f"DELETE FROM event_refusals WHERE community = ? AND kind IN ({marks})", (community_id, *KINDS)
    )
    bound = "" if until is None else " AND (e.hlc, e.id) < (?, ?)"
    rows = conn.execute(
        "SELECT e.pos, e.id, e.body, c.content FROM events e"
        " LEFT JOIN event_content c ON c.event_id = e.id"
        f" WHERE e.community = ? AND e.kind IN ({marks}){bound} ORDER BY e.hlc, e.id",
        (community_id, *KINDS, *(until or ())),
    ).fetchall()
    last = None
    for pos, event_id, raw, content in rows:
        body = _decode_body(raw)
        payload = _DECODERS[body.kind].decode(content) if content is not None else None
        ev = Event(pos=pos, id=event_id, body=body, payload=payload)
        if between is not None:
            between((body.hlc, event_id))
        fold(conn, ev)
        last = ev
    if between is not None:
        between(None)
    if until is not None:
        return len(rows)
    if last is None:
        conn.execute("DELETE FROM community_gov_head WHERE community_id = ?", (community_id,))
    else:
        conn.execute(
            "INSERT OR REPLACE INTO community_gov_head (community_id, hlc, event_id) VALUES (?, ?, ?)",
            (community_id, last.body.hlc, last.id),
        )
    log.info("rebuilt community %s from %d governance events", community_id, len(rows))
    return len(rows)


def event_types() -> list[EventType]:
    return [EventType(kind, payload, apply) for kind, payload in KINDS.items()]
