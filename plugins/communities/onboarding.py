"""Onboarding's rules: who may set a community's screening and welcome screen, a member's acceptance
of the rules, self-assignable roles, and ``screen``, the rule book's check that a member has passed
the screening before posting (verdicts.check calls it, so a peer's event is judged the same)."""

from __future__ import annotations

import json
from collections.abc import Callable

from cryb_node.clock import wall_ms
from cryb_node.db import Connection, Row
from cryb_node.refusals import Refusal
from cryb_node.services import Perm

from . import onboarding_events as ob
from .authority import Change, Ctx, Denied, handles
from .perms import MODERATOR, CommunityState, MemberState
from .queries import ONBOARDING

# What a member cannot do before passing the screening: post, comment, send, react, vote.
GATED = frozenset({"message.create", "post.create", "comment.create", "reaction.add", "vote.set"})
# Moderators and managers are never held back by the screening (Discord exempts them too).
EXEMPT = int(Perm.ADMINISTRATOR | Perm.MANAGE_COMMUNITY) | MODERATOR
# A role carrying any of these is never self-assignable: anyone could take it.
ELEVATED = EXEMPT | int(
    Perm.MANAGE_CHANNELS
    | Perm.MANAGE_ROLES
    | Perm.MENTION_EVERYONE
    | Perm.VIEW_AUDIT_LOG
    | Perm.MANAGE_WEBHOOKS
)


def accepted(m: MemberState) -> bool:
    """The member accepted the rules during this membership (a rejoin needs a new acceptance)."""
    return m.onboarded_at is not None and m.onboarded_at >= m.joined_at


def account_created_ms(conn: Connection, user_id: str) -> int | None:
    # Every node holds a user's user.created before any of their events (sync.ingest refuses an
    # unknown author), so the account's age at an event is the same everywhere.
    created = conn.execute("SELECT created_hlc FROM users_profiles WHERE user_id = ?", (user_id,)).fetchone()
    return None if created is None or not created["created_hlc"] else wall_ms(created["created_hlc"])


def screen(
    state: CommunityState,
    kind: str,
    author: str,
    m: MemberState,
    base: int,
    now: int,
    created_ms: Callable[[], int | None],
) -> Refusal | None:
    """Why this member may not make this kind of event yet (None: they may). ``created_ms``: when the
    author's account was made (account_created_ms), asked only for the account_age level."""
    sc = state.screening
    if sc is None or kind not in GATED or author == state.owner_id or base & EXEMPT:
        return None
    if sc.require_rules and not accepted(m):
        return Refusal("rules_not_accepted", "accept the community's rules before posting")
    wait_ms = sc.min_minutes * 60_000
    if sc.verification == "email" and not (accepted(m) and m.email_verified):
        return Refusal("verification_required", "this community needs a verified email address")
    if sc.verification == "member_age" and now < m.joined_at + wait_ms:
        return Refusal("verification_required", f"members may post {sc.min_minutes} minutes after joining")
    if sc.verification == "account_age":
        created = created_ms()
        if created is None or now < created + wait_ms:
            return Refusal("verification_required", f"accounts may post once {sc.min_minutes} minutes old")
    return None


def current(conn: Connection, community_id: str) -> Row | None:
    """The community's onboarding row (queries.ONBOARDING), in the writer."""
    return conn.execute(ONBOARDING, (community_id,)).fetchone()


def _invalid(detail: str, field: str) -> Denied:
    return Denied("invalid_event", 400, detail, field)


def _validate(p: ob.OnboardingSet) -> None:
    # The API's schema says the same; a peer's event is held to it here.
    if p.verification not in ob.VERIFICATION_LEVELS:
        raise _invalid(f"verification is one of {', '.join(ob.VERIFICATION_LEVELS)}", "verification")
    if not 0 <= p.min_minutes <= ob.MAX_MINUTES:
        raise _invalid(f"min_minutes is between 0 and {ob.MAX_MINUTES}", "min_minutes")
    if len(p.rules) > ob.MAX_RULES_CHARS or len(p.welcome) > ob.MAX_WELCOME_CHARS:
        raise _invalid("rules or welcome text too long", "rules")
    if len(p.channels) > ob.MAX_WELCOME_CHANNELS or any(len(c.note) > ob.MAX_NOTE_CHARS for c in p.channels):
        raise _invalid("too many recommended channels, or a note too long", "channels")
    if len(p.self_roles) > ob.MAX_SELF_ROLES:
        raise _invalid("too many self-assignable roles", "self_roles")


@handles("onboarding.set")
def onboarding_set(c: Ctx) -> Change:
    p: ob.OnboardingSet = c.p
    c.require(Perm.MANAGE_COMMUNITY)
    _validate(p)
    for ch in p.channels:
        if ch.channel_id not in c.state.channels:
            raise Denied("not_found", 404, "a recommended channel is not in this community", "channels")
    row = current(c.conn, c.cid)
    before = set(json.loads(row["self_roles"])) if row is not None else set()
    roles = list(dict.fromkeys(p.self_roles))
    if set(roles) != before:
        c.require(Perm.MANAGE_ROLES)
    for role_id in set(roles) - before:
        role = c.role(role_id)
        if role_id == c.cid:
            raise Denied("not_self_assignable", 400, "@everyone is everyone's already", "self_roles")
        c.require_below(role.position, "self_roles")
        if role.perms & ELEVATED:
            raise Denied("not_self_assignable", 400, "a role with moderation rights cannot be self-assigned",
                         "self_roles")  # fmt: skip
    channels = [{"channel_id": ch.channel_id, "note": ch.note} for ch in p.channels]

    def change() -> None:
        c.sql(
            "INSERT OR REPLACE INTO community_onboarding (community_id, rules, rules_hash, require_rules,"
            " verification, min_minutes, welcome, channels, self_roles, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            c.cid, p.rules, ob.rules_hash(p.rules), int(p.require_rules), p.verification, p.min_minutes,
            p.welcome, json.dumps(channels), json.dumps(roles), c.now,
        )  # fmt: skip
        c.modlog("onboarding_update", c.cid, require_rules=p.require_rules, verification=p.verification)

    return change


def _self(c: Ctx, what: str) -> str:
    if c.actor is None or c.actor != c.target:
        raise Denied("invalid_event", 400, f"members {what} themselves")
    if not c.member(c.actor).member:
        raise Denied("not_member", 404, "you are not a member of this community")
    return c.actor


@handles("member.onboard")
def member_onboard(c: Ctx) -> Change:
    p: ob.MemberOnboard = c.p
    user = _self(c, "accept the rules")
    row = current(c.conn, c.cid)
    if row is None:
        raise Denied("not_found", 404, "this community has no rules to accept")
    if p.rules_hash != row["rules_hash"]:
        raise Denied(
            "rules_changed", 409, "the rules changed since you read them: read them again", "rules_hash"
        )

    def change() -> None:
        c.sql(
            "INSERT OR REPLACE INTO community_onboarded (community_id, user_id, accepted_at, rules_hash,"
            " email_verified) VALUES (?, ?, ?, ?, ?)",
            c.cid, user, c.now, p.rules_hash, int(p.email_verified),
        )  # fmt: skip

    return change


def _self_role(c: Ctx) -> tuple[str, str]:
    user = _self(c, "pick roles for")
    p: ob.SelfRole = c.p
    role = c.role(p.role_id)
    sc = c.state.screening
    if sc is None or p.role_id not in sc.self_roles or role.perms & ELEVATED:
        raise Denied("not_self_assignable", 403, "that role is not self-assignable", "role_id")
    return user, p.role_id


@handles("role.self_add")
def role_self_add(c: Ctx) -> Change:
    user, role_id = _self_role(c)

    def change() -> None:
        c.sql(
            "INSERT OR IGNORE INTO community_member_roles (community_id, user_id, role_id) VALUES (?, ?, ?)",
            c.cid, user, role_id,
        )  # fmt: skip

    return change


@handles("role.self_remove")
def role_self_remove(c: Ctx) -> Change:
    user, role_id = _self_role(c)

    def change() -> None:
        c.sql(
            "DELETE FROM community_member_roles WHERE community_id = ? AND user_id = ? AND role_id = ?",
            c.cid, user, role_id,
        )  # fmt: skip

    return change
