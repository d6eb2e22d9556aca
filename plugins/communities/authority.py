"""Authority over a community: the Ctx each governance rule sees, and the rules' registry.

Each rule (rules_members.py, rules_structure.py) checks the actor's authority against the
projection as it stands (raising Denied) and returns the change to make.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import msgspec

from cryb_node.db import Connection
from cryb_node.services import Perm

from .perms import (
    ALL,
    CommunityState,
    MemberState,
    base_permissions,
    channel_permissions,
    highest_position,
)
from .state import load_community_sync, load_member_sync

log = logging.getLogger(__name__)

CHANNEL_KINDS = ("text", "forum", "announcement", "category", "voice")
TARGET_TYPES = ("role", "member")
AUTOMOD_KINDS = ("words", "regex", "links", "invites", "mentions", "new_account")
AUTOMOD_ACTIONS = ("block", "flag", "timeout")
MAX_TIMEOUT_MS = 28 * 24 * 3600 * 1000  # Discord's limit
MAX_DELETE_MESSAGE_SECONDS = 7 * 24 * 3600
OWNER_RANK = 1 << 62


class Denied(Exception):
    """An event the actor may not make (or that makes no sense now); becomes a Problem in routes."""

    def __init__(self, code: str, status: int, detail: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code, self.status, self.detail, self.field = code, status, detail, field


class Ctx:
    """One governance event being checked: its community, actor, target, payload and time."""

    def __init__(
        self,
        conn: Connection,
        kind: str,
        community_id: str,
        actor: str | None,
        target: str | None,
        payload: Any,
        now_ms: int,
        event_id: bytes = b"",
        hlc: int = 0,
    ) -> None:
        self.conn, self.kind, self.cid = conn, kind, community_id
        self.actor, self.target, self.p = actor, target, payload
        self.now, self.event_id, self.hlc = now_ms, event_id, hlc
        self.admin = bool(getattr(payload, "as_admin", False))
        self._state: CommunityState | None = None
        self._loaded = False
        self._members: dict[str, MemberState] = {}

    @property
    def state(self) -> CommunityState:
        if not self._loaded:
            self._state = load_community_sync(self.conn, self.cid)
            self._loaded = True
        if self._state is None:
            raise Denied("not_found", 404, "community not found")
        return self._state

    def member(self, user_id: str) -> MemberState:
        m = self._members.get(user_id)
        if m is None:
            m = self._members[user_id] = load_member_sync(self.conn, self.cid, user_id)
        return m

    def is_actor_admin(self, user_id: str | None) -> bool:
        return self.admin and user_id == self.actor

    def perms(self, user_id: str | None) -> int:
        if self.is_actor_admin(user_id):
            return ALL
        if user_id is None:
            return 0
        return base_permissions(self.state, user_id, self.member(user_id), self.now)

    def channel_perms(self, user_id: str | None, channel_id: str) -> int:
        ch = self.state.channels.get(channel_id)
        if ch is None:
            raise Denied("not_found", 404, "channel not found", "channel_id")
        if self.is_actor_admin(user_id):
            return ALL
        return channel_permissions(self.state, ch, user_id, self.member(user_id or ""), self.now)

    def rank(self, user_id: str) -> int:
        if self.is_actor_admin(user_id) or user_id == self.state.owner_id:
            return OWNER_RANK
        return highest_position(self.state, user_id, self.member(user_id).role_ids)

    # -- checks -----------------------------------------------------------------------------------

    def require(self, perm: Perm, have: int | None = None) -> None:
        have = self.perms(self.actor) if have is None else have
        if not have & perm:
            raise Denied("missing_permission", 403, f"this needs the {perm.name} permission")

    def require_owner(self) -> None:
        if not (self.actor == self.state.owner_id or self.admin):
            raise Denied("owner_only", 403, "only the community owner may do this")

    def require_target_member(self) -> str:
        if self.target is None or not self.member(self.target).member:
            raise Denied("not_member", 404, "that user is not a member of this community", "user_id")
        return self.target

    def require_outranks(self, user_id: str) -> None:
        if user_id == self.state.owner_id:
            raise Denied("target_is_owner", 403, "the community owner cannot be acted on")
        if self.is_actor_admin(self.actor):
            return  # node admins outrank everyone but the owner
        if self.actor is None or self.rank(self.actor) <= self.rank(user_id):
            raise Denied("role_hierarchy", 403, "that member's highest role is at or above yours", "user_id")

    def require_bits(self, bits: int, field: str, have: int | None = None) -> None:
        if bits < 0 or bits & ~ALL:
            raise Denied("unknown_permission_bits", 400, f"unknown permission bits: {bits & ~ALL}", field)
        have = self.perms(self.actor) if have is None else have
        if bits & ~have:
            missing = ", ".join(p.name or "" for p in Perm if p & bits & ~have)
            raise Denied("permission_not_held", 403, f"you cannot grant what you lack: {missing}", field)

    def require_below(self, position: int, field: str = "position") -> None:
        if self.is_actor_admin(self.actor):
            return
        if self.actor is None or position >= self.rank(self.actor):
            raise Denied("role_hierarchy", 403, "that role is at or above your highest role", field)

    def role(self, role_id: str | None) -> Any:
        role = self.state.roles.get(role_id or "")
        if role is None:
            raise Denied("not_found", 404, "role not found", "role_id")
        return role

    # -- changes ----------------------------------------------------------------------------------

    def sql(self, statement: str, *args: Any) -> None:
        self.conn.execute(statement, args)

    def modlog(self, action: str, target: str | None, reason: str = "", **details: Any) -> None:
        self.sql(
            "INSERT OR REPLACE INTO community_modlog (event_id, community_id, hlc, created_at, actor_id,"
            " action, target_id, reason, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.event_id,
            self.cid,
            self.hlc,
            self.now,
            self.actor,
            action,
            target,
            reason,
            json.dumps({k: v for k, v in details.items() if v is not None}, sort_keys=True),
        )


Change = Callable[[], None]
Handler = Callable[[Ctx], Change]
HANDLERS: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


def fields_of(payload: msgspec.Struct, names: tuple[str, ...]) -> dict[str, Any]:
    out = {n: getattr(payload, n) for n in names}
    return {k: v for k, v in out.items() if v is not msgspec.UNSET}


def update_sql(table: str, values: dict[str, Any], where: str) -> tuple[str, list[Any]]:
    cols = ", ".join(f"{k} = ?" for k in values)
    return f"UPDATE {table} SET {cols} WHERE {where}", list(values.values())
