"""The append-only audit log: security-relevant actions (sign-ins, failures, lockouts, credential
changes, token reuse, admin actions). Rows are written inside the transaction that does the action;
SQL triggers refuse UPDATE and DELETE. The client address is stored encrypted, never in clear.
"""

from __future__ import annotations

from typing import Any

import msgspec

from cryb_node.clock import Clock
from cryb_node.db import Connection

from . import queries
from .keys import Keys

_encode = msgspec.json.Encoder().encode


class AuditEntry(msgspec.Struct):
    id: int
    at: int
    action: str
    user_id: str | None
    actor_id: str | None
    ip: str | None
    detail: dict[str, Any]


class AuditPage(msgspec.Struct):
    entries: list[AuditEntry]
    next_before: int | None


def record(
    conn: Connection,
    keys: Keys,
    at_ms: int,
    action: str,
    *,
    user_id: str | None = None,
    actor_id: str | None = None,
    ip: str | None = None,
    **detail: Any,
) -> None:
    conn.execute(
        "INSERT INTO users_audit (at, action, user_id, actor_id, ip_ct, detail) VALUES (?, ?, ?, ?, ?, ?)",
        (
            at_ms,
            action,
            user_id,
            actor_id,
            keys.seal(ip) if ip else None,
            _encode(detail).decode(),
        ),
    )


def rows_to_page(keys: Keys, rows: list[Any], limit: int) -> AuditPage:
    """A page from queries_admin.audit_entries rows (addresses decrypted)."""
    entries = [
        AuditEntry(
            id=r["id"], at=r["at"], action=r["action"], user_id=r["user_id"], actor_id=r["actor_id"],
            ip=keys.open(r["ip_ct"]), detail=msgspec.json.decode(r["detail"]),
        )
        for r in rows
    ]  # fmt: skip
    return AuditPage(entries, entries[-1].id if len(entries) == limit else None)


class AuditService:
    """The core's Audit service (cryb_node.services.Audit): other plugins' admin actions land in the
    same log as ours, and their admin routes re-check the caller against the accounts table."""

    def __init__(self, db: Any, keys: Keys, clock: Clock) -> None:
        self._db = db
        self._keys = keys
        self._clock = clock

    def record(
        self,
        conn: Connection,
        action: str,
        *,
        actor_id: str | None = None,
        user_id: str | None = None,
        ip: str | None = None,
        **detail: Any,
    ) -> None:
        at = self._clock.time_ms()
        record(conn, self._keys, at, action, user_id=user_id, actor_id=actor_id, ip=ip, **detail)

    async def is_admin(self, user_id: str) -> bool:
        return await queries.is_active_admin(self._db, user_id)
