"""Friends and blocks. Each pair has up to two rows, one per side's view: friend, outgoing or
incoming request, or blocked. A block by either side refuses friend requests (and, through the
core's Relationships service, DMs and notifications in other plugins).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import msgspec

from cryb_node.db import Connection, Database
from cryb_node.problems import Problem, not_found
from cryb_node.services import NOTIFIER, Notice, ServiceKey
from cryb_node.sync.homes import remote_homes

from . import queries

if TYPE_CHECKING:
    from .service import Users

Kind = Literal["friend", "outgoing", "incoming", "blocked"]


class Relationship(msgspec.Struct, omit_defaults=True):
    user_id: str
    username: str
    display_name: str
    type: str
    since: int
    home: str | None = None  # a user from another node: shown as username@home (names.py)


class RelationshipList(msgspec.Struct):
    relationships: list[Relationship]


def blocked_between(conn: Connection, a: str, b: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM users_relationships WHERE type = 'blocked'"
        " AND ((user_id = ? AND other_id = ?) OR (user_id = ? AND other_id = ?))",
        (a, b, b, a),
    ).fetchone()
    return row is not None


class RelationshipService:
    """Implements cryb_node.services.Relationships for other plugins, plus the rules behind the routes."""

    def __init__(self, db: Database, users: Users) -> None:
        self.db = db
        self.users = users

    async def is_blocked(self, user_id: str, other_id: str) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM users_relationships WHERE type = 'blocked'"
            " AND ((user_id = ? AND other_id = ?) OR (user_id = ? AND other_id = ?))",
            (user_id, other_id, other_id, user_id),
        )
        return row is not None

    async def _require_user(self, user_id: str) -> None:
        ok = await self.db.fetchval(
            "SELECT 1 FROM users_profiles WHERE user_id = ? AND erased = 0", (user_id,), default=None
        )
        if not ok:
            raise not_found("user")

    async def befriend(self, me: str, other: str) -> str:
        """Send a request, or accept theirs. Returns the resulting type from my side."""
        if me == other:
            raise Problem("invalid_target", 400, "you cannot befriend yourself", field="user_id")
        await self._require_user(other)
        notifier = self.users.node.services.get(NOTIFIER)

        def write(conn: Connection) -> str:
            if blocked_between(conn, me, other):
                raise Problem("blocked", 403, "you cannot send a friend request to this user (blocked)")
            row = conn.execute(
                "SELECT type FROM users_relationships WHERE user_id = ? AND other_id = ?", (me, other)
            ).fetchone()
            mine = row["type"] if row else None
            now = self.users.now()
            if mine in ("friend", "outgoing"):
                return mine
            new_mine, theirs = ("friend", "friend") if mine == "incoming" else ("outgoing", "incoming")
            conn.executemany(
                "INSERT INTO users_relationships (user_id, other_id, type, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (user_id, other_id) DO UPDATE SET type = excluded.type,"
                " created_at = excluded.created_at",
                [(me, other, new_mine, now), (other, me, theirs, now)],
            )
            if notifier is not None:  # told in this transaction: a request is never lost or doubled
                kind = "friend_accept" if new_mine == "friend" else "friend_request"
                key = f"{kind}:{me}:{other}:{now}"
                notifier.record(conn, Notice(kind=kind, user_id=other, actor_id=me, key=key))
            return new_mine

        return await self.db.write(write)

    async def unfriend(self, me: str, other: str) -> None:
        """Decline, cancel or remove: whatever friendship state the pair is in ends."""

        def write(conn: Connection) -> int:
            cur = conn.execute(
                "DELETE FROM users_relationships WHERE type != 'blocked'"
                " AND ((user_id = ? AND other_id = ?) OR (user_id = ? AND other_id = ?))",
                (me, other, other, me),
            )
            return cur.rowcount

        if not await self.db.write(write):
            raise not_found("relationship")

    async def block(self, me: str, other: str) -> None:
        if me == other:
            raise Problem("invalid_target", 400, "you cannot block yourself", field="user_id")
        await self._require_user(other)

        def write(conn: Connection) -> None:
            now = self.users.now()
            # Blocking ends any friendship or request; their own block of me (if any) stays.
            conn.execute(
                "DELETE FROM users_relationships WHERE user_id = ? AND other_id = ? AND type != 'blocked'",
                (other, me),
            )
            conn.execute(
                "INSERT INTO users_relationships (user_id, other_id, type, created_at)"
                " VALUES (?, ?, 'blocked', ?) ON CONFLICT (user_id, other_id)"
                " DO UPDATE SET type = 'blocked', created_at = excluded.created_at",
                (me, other, now),
            )

        await self.db.write(write)

    async def unblock(self, me: str, other: str) -> None:
        def write(conn: Connection) -> int:
            return conn.execute(
                "DELETE FROM users_relationships WHERE user_id = ? AND other_id = ? AND type = 'blocked'",
                (me, other),
            ).rowcount

        if not await self.db.write(write):
            raise not_found("block")

    async def list(self, me: str, kind: str | None = None) -> RelationshipList:
        rows = await queries.relationships(self.db, me, kind)
        homes = await remote_homes(self.users.node, [r["other_id"] for r in rows])
        return RelationshipList(
            [
                Relationship(
                    user_id=r["other_id"], username=r["username"], display_name=r["display_name"],
                    type=r["type"], since=r["created_at"],
                    home=homes[r["other_id"]].node if r["other_id"] in homes else None,
                )
                for r in rows
            ]
        )  # fmt: skip


RELATIONSHIP_SERVICE: ServiceKey[RelationshipService] = ServiceKey("users.relationships")
