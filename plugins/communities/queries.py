"""The communities plugin's SQL for communities, members, roles, invites, onboarding and the names
other plugins ask for; rows are read by column name. Moderation and automod: queries_moderation.py.
The permission snapshots (the rule book's rows) load in state.py."""

from __future__ import annotations

import json
from collections.abc import Collection

from cryb_node.db import Connection, Database, Row
from cryb_node.services import CommunityRef, Place

from . import schemas as s

# -- communities --------------------------------------------------------------------------------

_COMMUNITY = (
    "SELECT c.id, c.name, c.description, c.icon, c.public, c.rules, c.modlog_public, c.owner_id,"
    " c.created_at, (SELECT count(*) FROM community_members m WHERE m.community_id = c.id) AS member_count"
    " FROM communities c"
)


async def community(db: Database, community_id: str) -> Row | None:
    """A live community's row (the columns of ``CommunityOut`` it stores, and ``member_count``)."""
    return await db.fetchone(f"{_COMMUNITY} WHERE id = ? AND deleted = 0", (community_id,))


async def communities_page(
    db: Database, after: str, limit: int, *, member: str | None = None, public_only: bool = False
) -> list[Row]:
    """Communities by id after ``after`` (``limit`` rows): ``member``'s, or every one (public only)."""
    if member is not None:
        return await db.fetchall(
            f"{_COMMUNITY} JOIN community_members me ON me.community_id = c.id AND me.user_id = ?"
            " WHERE c.deleted = 0 AND c.id > ? ORDER BY c.id LIMIT ?",
            (member, after, limit),
        )
    public = " AND c.public = 1" if public_only else ""
    return await db.fetchall(
        f"{_COMMUNITY} WHERE c.deleted = 0{public} AND c.id > ? ORDER BY c.id LIMIT ?", (after, limit)
    )


async def is_public(db: Database, community_id: str) -> bool | None:
    """Whether a live community is public (None: there is none)."""
    public = await db.fetchval("SELECT public FROM communities WHERE id = ? AND deleted = 0", (community_id,))
    return None if public is None else bool(public)


async def community_ref(db: Database, community_id: str) -> CommunityRef | None:
    row = await db.fetchone(
        "SELECT id, name, public, owner_id FROM communities WHERE id = ? AND deleted = 0", (community_id,)
    )
    if row is None:
        return None
    return CommunityRef(id=row["id"], name=row["name"], public=bool(row["public"]), owner_id=row["owner_id"])


# -- members ------------------------------------------------------------------------------------


async def members_page(db: Database, community_id: str, after: str, limit: int) -> list[Row]:
    """Members by user id: user_id, joined_at, timeout_until and ``roles`` (comma-separated ids)."""
    return await db.fetchall(
        "SELECT m.user_id, m.joined_at, m.timeout_until,"
        " (SELECT group_concat(role_id) FROM community_member_roles r"
        "  WHERE r.community_id = m.community_id AND r.user_id = m.user_id) AS roles"
        " FROM community_members m WHERE m.community_id = ? AND m.user_id > ?"
        " ORDER BY m.user_id LIMIT ?",
        (community_id, after, limit),
    )


async def membership(db: Database, community_id: str, user_id: str) -> Row | None:
    """joined_at and timeout_until of one member (None: not a member)."""
    return await db.fetchone(
        "SELECT joined_at, timeout_until FROM community_members WHERE community_id = ? AND user_id = ?",
        (community_id, user_id),
    )


async def joined_at(db: Database, community_id: str, user_id: str) -> int | None:
    return await db.fetchval(
        "SELECT joined_at FROM community_members WHERE community_id = ? AND user_id = ?",
        (community_id, user_id),
    )


async def communities_of(db: Database, user_id: str) -> list[str]:
    """The ids of the communities the user is a member of."""
    rows = await db.fetchall("SELECT community_id FROM community_members WHERE user_id = ?", (user_id,))
    return [r["community_id"] for r in rows]


# -- roles --------------------------------------------------------------------------------------

_ROLE = "SELECT id, name, perms, position, color, hoist, mentionable FROM community_roles"


def _role(r: Row) -> s.RoleOut:
    return s.RoleOut(
        id=r["id"], name=r["name"], perms=r["perms"], position=r["position"], color=r["color"],
        hoist=bool(r["hoist"]), mentionable=bool(r["mentionable"]),
    )  # fmt: skip


async def roles(db: Database, community_id: str) -> list[s.RoleOut]:
    """The community's roles, highest first."""
    rows = await db.fetchall(f"{_ROLE} WHERE community_id = ? ORDER BY position DESC, id", (community_id,))
    return [_role(r) for r in rows]


async def role(db: Database, community_id: str, role_id: str) -> s.RoleOut | None:
    row = await db.fetchone(f"{_ROLE} WHERE id = ? AND community_id = ?", (role_id, community_id))
    return None if row is None else _role(row)


# -- invites (the codes stay on this node; their grants are events) -----------------------------

_INVITE = (
    "SELECT i.code, i.community_id, c.name AS community_name, i.creator_id, i.created_at, i.expires_at,"
    " i.max_uses, coalesce(g.uses, i.uses) AS uses,"
    " CASE WHEN i.revoked_at IS NOT NULL OR g.revoked THEN 1 END AS revoked"
    " FROM community_invites i JOIN communities c ON c.id = i.community_id"
    " LEFT JOIN community_invite_grants g ON g.id = i.grant_id"
)
# An invite made on another node: only its grant (named by the code's hash) is known here.
_GRANT = (
    "SELECT ? AS code, g.community_id, c.name AS community_name, g.creator_id, g.created_at,"
    " g.expires_at, g.max_uses, g.uses, nullif(g.revoked, 0) AS revoked"
    " FROM community_invite_grants g JOIN communities c ON c.id = g.community_id"
)


def _invite(r: Row) -> s.InviteOut:
    return s.InviteOut(
        code=r["code"], community_id=r["community_id"], community_name=r["community_name"],
        creator_id=r["creator_id"], created_at=r["created_at"], expires_at=r["expires_at"],
        max_uses=r["max_uses"], uses=r["uses"], revoked=r["revoked"] is not None,
    )  # fmt: skip


async def local_invite(db: Database, code: str) -> s.InviteOut | None:
    """An invite made on this node, of a live community."""
    row = await db.fetchone(f"{_INVITE} WHERE i.code = ? AND c.deleted = 0", (code,))
    return None if row is None else _invite(row)


async def invite(db: Database, code: str, grant_id: str) -> s.InviteOut | None:
    """An invite of a live community, made here or (known by its grant) on another node."""
    found = await local_invite(db, code)
    if found is None:
        row = await db.fetchone(f"{_GRANT} WHERE g.id = ? AND c.deleted = 0", (code, grant_id))
        found = None if row is None else _invite(row)
    return found


async def invites(db: Database, community_id: str) -> list[s.InviteOut]:
    rows = await db.fetchall(
        f"{_INVITE} WHERE i.community_id = ? ORDER BY i.created_at DESC", (community_id,)
    )
    return [_invite(r) for r in rows]


def insert_invite(
    conn: Connection, code: str, community_id: str, creator_id: str, now: int,
    expires: int | None, max_uses: int | None, grant_id: str,
) -> None:  # fmt: skip
    conn.execute(
        "INSERT INTO community_invites (code, community_id, creator_id, created_at, expires_at,"
        " max_uses, grant_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (code, community_id, creator_id, now, expires, max_uses, grant_id),
    )


def revoke_invite(conn: Connection, code: str, now: int) -> None:
    conn.execute(
        "UPDATE community_invites SET revoked_at = ? WHERE code = ? AND revoked_at IS NULL", (now, code)
    )


def use_invite(conn: Connection, code: str) -> None:
    conn.execute("UPDATE community_invites SET uses = uses + 1 WHERE code = ?", (code,))


# -- forum tags and onboarding ------------------------------------------------------------------


async def channel_tags(db: Database, community_id: str, channel_id: str) -> list[str]:
    tags = await db.fetchval(
        "SELECT tags FROM community_channel_tags WHERE community_id = ? AND channel_id = ?",
        (community_id, channel_id),
    )
    return json.loads(tags) if tags else []


ONBOARDING = (
    "SELECT rules, rules_hash, require_rules, verification, min_minutes, welcome, channels, self_roles,"
    " updated_at FROM community_onboarding WHERE community_id = ?"
)


async def onboarding(db: Database, community_id: str) -> Row | None:
    """The community's onboarding row (None: never set); its screening columns are those
    state.build_screening reads."""
    return await db.fetchone(ONBOARDING, (community_id,))


async def channel_names(db: Database, community_id: str) -> dict[str, str]:
    rows = await db.fetchall(
        "SELECT id, name FROM community_channels WHERE community_id = ?", (community_id,)
    )
    return {r["id"]: r["name"] for r in rows}


async def role_badges(db: Database, community_id: str) -> dict[str, Row]:
    """id -> (id, name, color) of every role of the community."""
    rows = await db.fetchall(
        "SELECT id, name, color FROM community_roles WHERE community_id = ?", (community_id,)
    )
    return {r["id"]: r for r in rows}


async def account_created_hlc(db: Database, user_id: str) -> int | None:
    return await db.fetchval("SELECT created_hlc FROM users_profiles WHERE user_id = ?", (user_id,))


# -- changes made by another process (the CLI) --------------------------------------------------


async def last_event(db: Database) -> int:
    return await db.fetchval("SELECT coalesce(max(pos), 0) FROM events")


async def events_after(db: Database, pos: int, kinds: Collection[str]) -> list[Row]:
    """pos and community of the events of ``kinds`` after ``pos``, in log order."""
    marks = ",".join("?" * len(kinds))
    return await db.fetchall(
        f"SELECT pos, community FROM events WHERE pos > ? AND kind IN ({marks}) ORDER BY pos", (pos, *kinds)
    )


# -- names and a member's data, for other plugins -----------------------------------------------


async def places(db: Database, channel_ids: list[str]) -> list[Place]:
    marks = ",".join("?" * len(channel_ids))
    rows = await db.fetchall(
        "SELECT ch.id, ch.name, ch.community_id, c.name AS community_name FROM community_channels ch"
        f" LEFT JOIN communities c ON c.id = ch.community_id WHERE ch.id IN ({marks})",
        channel_ids,
    )
    return [
        Place(
            channel_id=r["id"],
            channel_name=r["name"],
            community_id=r["community_id"],
            community_name=r["community_name"],
        )
        for r in rows
    ]


async def role_names(db: Database, role_ids: list[str]) -> dict[str, str]:
    marks = ",".join("?" * len(role_ids))
    rows = await db.fetchall(f"SELECT id, name FROM community_roles WHERE id IN ({marks})", role_ids)
    return {r["id"]: r["name"] for r in rows}


async def memberships_of(db: Database, user_id: str) -> list[Row]:
    """community_id, name, joined_at, owner, timeout_until and ``roles`` (a JSON array of names) of
    each live community the user is a member of, oldest membership first."""
    return await db.fetchall(
        "SELECT m.community_id, c.name, m.joined_at, c.owner_id = m.user_id AS owner, m.timeout_until,"
        " (SELECT json_group_array(r.name) FROM community_member_roles mr JOIN community_roles r"
        "   ON r.id = mr.role_id WHERE mr.community_id = m.community_id AND mr.user_id = m.user_id) AS roles"
        " FROM community_members m JOIN communities c ON c.id = m.community_id"
        " WHERE m.user_id = ? AND c.deleted = 0 ORDER BY m.joined_at",
        (user_id,),
    )


async def bans_of(db: Database, user_id: str) -> list[Row]:
    """community_id, name (None: the community is gone), reason and created_at of the user's bans."""
    return await db.fetchall(
        "SELECT b.community_id, c.name, b.reason, b.created_at FROM community_bans b"
        " LEFT JOIN communities c ON c.id = b.community_id WHERE b.user_id = ? ORDER BY b.created_at",
        (user_id,),
    )
