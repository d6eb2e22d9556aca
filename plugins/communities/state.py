"""Loading permission snapshots (CommunityState, MemberState) from the projection tables.

The same SQL and the same builders serve the writer thread (replay-time authority checks, on a plain
sqlite3 connection) and the cached Permissions service (a reader connection, awaited).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from cryb_node.db import Connection, Database, Row

from .perms import Channel, CommunityState, MemberState, Overwrite, Role, Screening

COMMUNITY_SQL = "SELECT id, owner_id, public FROM communities WHERE id = ? AND deleted = 0"
ROLES_SQL = "SELECT id, perms, position FROM community_roles WHERE community_id = ?"
CHANNELS_SQL = (
    "SELECT id, kind, name, parent_id, position, nsfw, slowmode_s, topic"
    " FROM community_channels WHERE community_id = ?"
)
OVERWRITES_SQL = (
    "SELECT channel_id, target_type, target_id, allow, deny FROM community_overwrites WHERE community_id = ?"
)
MEMBER_SQL = (
    "SELECT m.timeout_until, m.joined_at, o.accepted_at, o.email_verified FROM community_members m"
    " LEFT JOIN community_onboarded o ON o.community_id = m.community_id AND o.user_id = m.user_id"
    " WHERE m.community_id = ? AND m.user_id = ?"
)
MEMBER_ROLES_SQL = "SELECT role_id FROM community_member_roles WHERE community_id = ? AND user_id = ?"
BAN_SQL = "SELECT 1 FROM community_bans WHERE community_id = ? AND user_id = ?"
CHANNEL_COMMUNITY_SQL = "SELECT community_id FROM community_channels WHERE id = ?"

SCREENING_SQL = (
    "SELECT require_rules, verification, min_minutes, self_roles FROM community_onboarding"
    " WHERE community_id = ?"
)

Rows = Sequence[Row]


TAGS_SQL = "SELECT channel_id, tags FROM community_channel_tags WHERE community_id = ?"


def build_tag_sets(rows: Rows) -> dict[str, frozenset[str]]:
    return {r["channel_id"]: frozenset(json.loads(r["tags"])) for r in rows if r["tags"] != "[]"}


def build_screening(row: Row | None) -> Screening | None:
    """From a row holding SCREENING_SQL's columns (queries.ONBOARDING's hold them too)."""
    if row is None:
        return None
    return Screening(
        require_rules=bool(row["require_rules"]), verification=row["verification"],
        min_minutes=row["min_minutes"], self_roles=frozenset(json.loads(row["self_roles"])),
    )  # fmt: skip


def _channel(r: Row) -> Channel:
    return Channel(
        id=r["id"], kind=r["kind"], name=r["name"], parent_id=r["parent_id"], position=r["position"],
        nsfw=bool(r["nsfw"]), slowmode_s=r["slowmode_s"], topic=r["topic"],
    )  # fmt: skip


def build_community(row: Row, roles: Rows, channels: Rows, overwrites: Rows) -> CommunityState:
    chans = {r["id"]: _channel(r) for r in channels}
    for r in overwrites:
        ch = chans.get(r["channel_id"])
        if ch is not None:
            ch.overwrites[(r["target_type"], r["target_id"])] = Overwrite(r["allow"], r["deny"])
    return CommunityState(
        id=row["id"],
        owner_id=row["owner_id"],
        public=bool(row["public"]),
        roles={r["id"]: Role(r["id"], r["perms"], r["position"]) for r in roles},
        channels=chans,
    )


def build_member(member: Row | None, roles: Rows, banned: bool) -> MemberState:
    if member is None:
        return MemberState(banned=banned)
    return MemberState(
        member=True,
        banned=banned,
        role_ids=frozenset(r["role_id"] for r in roles),
        timeout_until=member["timeout_until"],
        joined_at=member["joined_at"],
        onboarded_at=member["accepted_at"],
        email_verified=bool(member["email_verified"]),
    )


# -- in the writer thread ---------------------------------------------------------------------


def load_community_sync(conn: Connection, community_id: str) -> CommunityState | None:
    row = conn.execute(COMMUNITY_SQL, (community_id,)).fetchone()
    if row is None:
        return None
    state = build_community(
        row,
        conn.execute(ROLES_SQL, (community_id,)).fetchall(),
        conn.execute(CHANNELS_SQL, (community_id,)).fetchall(),
        conn.execute(OVERWRITES_SQL, (community_id,)).fetchall(),
    )
    state.screening = build_screening(conn.execute(SCREENING_SQL, (community_id,)).fetchone())
    state.tag_sets = build_tag_sets(conn.execute(TAGS_SQL, (community_id,)).fetchall())
    return state


def load_member_sync(conn: Connection, community_id: str, user_id: str) -> MemberState:
    args = (community_id, user_id)
    return build_member(
        conn.execute(MEMBER_SQL, args).fetchone(),
        conn.execute(MEMBER_ROLES_SQL, args).fetchall(),
        conn.execute(BAN_SQL, args).fetchone() is not None,
    )


# -- from a reader ------------------------------------------------------------------------------


async def load_community(db: Database, community_id: str) -> CommunityState | None:
    async with db.reader() as conn:
        rows = await conn.execute_fetchall(COMMUNITY_SQL, (community_id,))
        if not rows:
            return None
        roles = await conn.execute_fetchall(ROLES_SQL, (community_id,))
        channels = await conn.execute_fetchall(CHANNELS_SQL, (community_id,))
        overwrites = await conn.execute_fetchall(OVERWRITES_SQL, (community_id,))
        screening = await conn.execute_fetchall(SCREENING_SQL, (community_id,))
    state = build_community(next(iter(rows)), list(roles), list(channels), list(overwrites))
    state.screening = build_screening(next(iter(screening), None))
    return state


async def load_member(db: Database, community_id: str, user_id: str) -> MemberState:
    args = (community_id, user_id)
    async with db.reader() as conn:
        member = await conn.execute_fetchall(MEMBER_SQL, args)
        roles = await conn.execute_fetchall(MEMBER_ROLES_SQL, args)
        banned = list(await conn.execute_fetchall(BAN_SQL, args))
    return build_member(next(iter(member), None), list(roles), bool(banned))
