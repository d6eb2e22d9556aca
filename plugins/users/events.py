"""Public profile events (community=None, target=user id) and their projection into users_profiles.

Profiles are the only user data peers receive; secrets and PII stay in node-local tables. Each
user.profile event carries the whole profile, so last-writer-wins by hlc gives every node the same
row whatever order the events arrive in. user.erased is final: it wipes the row and the stored
content of every profile event of that user, here and on every peer that applies it.

``authorize`` holds user.created and user.profile to the rules a local sign-up and profile edit
follow (validate.py): an event that breaks them, from a peer or not, is kept but never projected.
"""

from __future__ import annotations

import msgspec

from cryb_node.db import Connection
from cryb_node.events import Event, EventType
from cryb_node.refusals import Refusal

from .validate import Invalid, profile_problem, status_problem, username_problem

CREATED = "user.created"
PROFILE = "user.profile"
ERASED = "user.erased"


class UserCreated(msgspec.Struct, kw_only=True):
    username: str
    display_name: str = ""


class ProfileSnapshot(msgspec.Struct, kw_only=True):
    display_name: str = ""
    bio: str = ""
    pronouns: str = ""
    avatar: str | None = None
    status_text: str = ""  # custom status (issue 26)
    status_until: int | None = None  # ms: shown until then


class UserErased(msgspec.Struct, kw_only=True):
    reason: str = "deleted"


def _erase_content(conn: Connection, event_ids: list[bytes]) -> None:
    now = int(conn.clock.time())
    for eid in event_ids:
        conn.execute("DELETE FROM event_content WHERE event_id = ?", (eid,))
        conn.execute("INSERT OR IGNORE INTO erased_content (event_id, erased_at) VALUES (?, ?)", (eid, now))


def _is_erased(conn: Connection, user_id: str) -> bool:
    row = conn.execute("SELECT erased FROM users_profiles WHERE user_id = ?", (user_id,)).fetchone()
    return bool(row and row["erased"])


def authorize(conn: Connection, ev: Event) -> Refusal | None:
    """Why a user.created or user.profile may not be projected (None: it may). Pure but for one
    lookup: a reserved name is allowed only for this node's own admin account, as locally."""
    p = ev.payload
    invalid: Invalid | None = None
    if isinstance(p, UserCreated):
        invalid = username_problem(p.username, reserved_ok=_local_admin(conn, ev.body.target))
        invalid = invalid or profile_problem(p.display_name)
    elif isinstance(p, ProfileSnapshot):
        invalid = profile_problem(p.display_name, p.bio, p.pronouns, p.avatar) or status_problem(
            p.status_text
        )
    return None if invalid is None else Refusal(invalid.code, str(invalid))


def _local_admin(conn: Connection, user_id: str | None) -> bool:
    # The operator named this admin (setup link, `cryb user create --admin`); a peer's user never
    # has a local account row, so a peer's operator cannot hand out reserved names here.
    row = conn.execute("SELECT admin FROM users_accounts WHERE id = ?", (user_id,)).fetchone()
    return bool(row and row["admin"])


def apply_created(conn: Connection, ev: Event) -> None:
    user_id = ev.body.target
    if user_id is None or ev.body.author != user_id:
        return
    if _is_erased(conn, user_id):
        _erase_content(conn, [ev.id])
        return
    p: UserCreated = ev.payload
    conn.execute(
        "INSERT INTO users_profiles (user_id, username, display_name, created_hlc, hlc)"
        " VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET username = excluded.username,"
        " created_hlc = excluded.created_hlc",
        (user_id, p.username, p.display_name, ev.body.hlc, ev.body.hlc),
    )
    conn.execute("INSERT OR IGNORE INTO users_profile_events VALUES (?, ?)", (user_id, ev.id))


def apply_profile(conn: Connection, ev: Event) -> None:
    user_id = ev.body.target
    if user_id is None or ev.body.author != user_id:
        return
    if _is_erased(conn, user_id):
        _erase_content(conn, [ev.id])
        return
    p: ProfileSnapshot = ev.payload
    conn.execute(
        "INSERT INTO users_profiles (user_id, username, display_name, bio, pronouns, avatar,"
        " created_hlc, hlc, status_text, status_until) VALUES (?, '', ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name,"
        " bio = excluded.bio, pronouns = excluded.pronouns, avatar = excluded.avatar, hlc = excluded.hlc,"
        " status_text = excluded.status_text, status_until = excluded.status_until"
        " WHERE excluded.hlc > users_profiles.hlc",
        (
            user_id,
            p.display_name,
            p.bio,
            p.pronouns,
            p.avatar,
            ev.body.hlc,
            ev.body.hlc,
            p.status_text,
            p.status_until,
        ),
    )
    conn.execute("INSERT OR IGNORE INTO users_profile_events VALUES (?, ?)", (user_id, ev.id))


def skeleton(conn: Connection, ev: Event) -> None:
    """A user.created or profile event held without its payload (erased at its origin): still the
    user's, so their user.erased (here already, or arriving later) marks it erased here too."""
    user_id = ev.body.target
    if user_id is None or ev.body.author != user_id:
        return
    if _is_erased(conn, user_id):
        _erase_content(conn, [ev.id])
        return
    conn.execute("INSERT OR IGNORE INTO users_profile_events VALUES (?, ?)", (user_id, ev.id))


def apply_erased(conn: Connection, ev: Event) -> None:
    user_id = ev.body.target
    if user_id is None:
        return
    ids = [
        r["event_id"]
        for r in conn.execute("SELECT event_id FROM users_profile_events WHERE user_id = ?", (user_id,))
    ]
    _erase_content(conn, ids)
    conn.execute("DELETE FROM users_profile_events WHERE user_id = ?", (user_id,))
    conn.execute(
        "INSERT INTO users_profiles (user_id, username, created_hlc, hlc, erased)"
        " VALUES (?, 'deleted', ?, ?, 1)"
        " ON CONFLICT (user_id) DO UPDATE SET username = 'deleted', display_name = '', bio = '',"
        " pronouns = '', avatar = NULL, erased = 1",
        (user_id, ev.body.hlc, ev.body.hlc),
    )
    # The node admins' reports keep no words of an erased account: neither what they quote of it
    # nor what it wrote in its own reports (the reports themselves stay, as moderation records).
    conn.execute(
        "UPDATE users_reports SET excerpt = '', label = 'deleted' WHERE target_user = ?"
        " AND target_type != 'community'",  # a community's report names its owner, not their words
        (user_id,),
    )
    conn.execute("UPDATE users_reports SET reason = '' WHERE reporter_id = ?", (user_id,))


EVENT_TYPES = [
    EventType(CREATED, UserCreated, apply_created, skeleton, authorize=authorize),
    EventType(PROFILE, ProfileSnapshot, apply_profile, skeleton, authorize=authorize),
    EventType(ERASED, UserErased, apply_erased),
]
