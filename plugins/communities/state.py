"""Loading permission snapshots (CommunityState, MemberState) from the projection tables.

The same SQL and the same builders serve the writer thread (replay-time authority checks, on a plain
sqlite3 connection) and the cached Permissions service (a reader connection, awaited).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cryb_node.db import Connection, Database

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

Rows = Sequence[Sequence[Any]]


TAGS_SQL = "SELECT channel_id, tags FROM community_channel_tags WHERE community_id = ?"


def build_tag_sets(rows: Rows) -> dict[str, frozenset[str]]:
    return {r[0]: frozenset(json.loads(r[1])) for r in rows if r[1] != "[]"}


def build_screening(row: Sequence[Any] | None) -> Screening | None:
    if row is None:
        return None
    return Screening(bool(row[0]), row[1], row[2], frozenset(json.loads(row[3])))


def build_community(row: Sequence[Any], roles: Rows, channels: Rows, overwrites: Rows) -> CommunityState:
    chans = {r[0]: Channel(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7]) for r in channels}
    for ch_id, ttype, tid, allow, deny in overwrites:
        ch = chans.get(ch_id)
        if ch is not None:
            ch.overwrites[(ttype, tid)] = Overwrite(allow, deny)
    return CommunityState(
        id=row[0],
        owner_id=row[1],
        public=bool(row[2]),
        roles={r[0]: Role(r[0], r[1], r[2]) for r in roles},
        channels=chans,
    )


def build_member(member: Sequence[Any] | None, roles: Rows, banned: bool) -> MemberState:
    if member is None:
        return MemberState(banned=banned)
    return MemberState(
        member=True,
        banned=banned,
        role_ids=frozenset(r[0] for r in roles),
        timeout_until=member[0],
        joined_at=member[1],
        onboarded_at=member[2],
        email_verified=bool(member[3]),
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
        screening = list(await conn.execute_fetchall(SCREENING_SQL, (community_id,)))
    state = build_community(next(iter(rows)), list(roles), list(channels), list(overwrites))
    state.screening = build_screening(screening[0] if screening else None)
    return state


async def load_member(db: Database, community_id: str, user_id: str) -> MemberState:
    args = (community_id, user_id)
    async with db.reader() as conn:
        member = list(await conn.execute_fetchall(MEMBER_SQL, args))
        roles = await conn.execute_fetchall(MEMBER_ROLES_SQL, args)
        banned = list(await conn.execute_fetchall(BAN_SQL, args))
    return build_member(member[0] if member else None, list(roles), bool(banned))
