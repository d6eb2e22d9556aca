"""The permission function: one table row per rule, and a randomized comparison with a per-bit
reference implementation written from Discord's documented precedence."""

# ruff: noqa: E501  (the rule table reads best one rule per line)

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from cryb_plugins.communities.perms import (
    ALL,
    Channel,
    CommunityState,
    MemberState,
    Overwrite,
    Role,
    base_permissions,
    channel_permissions,
    highest_position,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from cryb_node.services import Perm

V, S, R = int(Perm.VIEW_CHANNEL), int(Perm.SEND_MESSAGES), int(Perm.READ_HISTORY)
A, K, ADMIN = int(Perm.ATTACH_FILES), int(Perm.KICK_MEMBERS), int(Perm.ADMINISTRATOR)
CID, OWNER, USER = "c1", "owner", "u1"
NOW = 1_000_000


@dataclass
class Case:
    """A community with @everyone, roles r1 (position 1) and r2 (position 2), one channel."""

    everyone: int = V | S | R
    r1: int = 0
    r2: int = 0
    roles: tuple[str, ...] = ()
    overwrites: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    member: bool = True
    banned: bool = False
    timeout_until: int | None = None
    public: bool = True
    user: str | None = USER
    kind: str = "text"

    def state(self) -> tuple[CommunityState, Channel, MemberState]:
        roles = {CID: Role(CID, self.everyone, 0), "r1": Role("r1", self.r1, 1), "r2": Role("r2", self.r2, 2)}
        ch = Channel("ch", self.kind, "general", None, 0, False, 0)
        ch.overwrites = {k: Overwrite(*v) for k, v in self.overwrites.items()}
        m = MemberState(self.member, self.banned, frozenset(self.roles), self.timeout_until)
        return CommunityState(CID, OWNER, self.public, roles, {"ch": ch}), ch, m


def perms_of(case: Case) -> int:
    state, ch, m = case.state()
    return channel_permissions(state, ch, case.user, m, NOW)


EVERYONE = ("role", CID)
TABLE = [
    # (rule, case, expected)
    ("base is @everyone", Case(), V | S | R),
    ("base adds member roles", Case(r1=A, roles=("r1",)), V | S | R | A),
    ("roles the member lacks do not count", Case(r1=A), V | S | R),
    ("unknown role ids are ignored", Case(roles=("gone",)), V | S | R),
    ("owner gets everything", Case(user=OWNER, everyone=0), ALL),
    ("owner bypasses overwrites", Case(user=OWNER, overwrites={EVERYONE: (0, V)}), ALL),
    ("owner bypasses a timeout", Case(user=OWNER, timeout_until=NOW + 1), ALL),
    ("ADMINISTRATOR gets everything", Case(r1=ADMIN, roles=("r1",), everyone=0), ALL),
    ("ADMINISTRATOR bypasses overwrites", Case(r1=ADMIN, roles=("r1",), overwrites={EVERYONE: (0, V)}), ALL),
    ("ADMINISTRATOR bypasses a timeout", Case(r1=ADMIN, roles=("r1",), timeout_until=NOW + 1), ALL),
    ("@everyone overwrite denies", Case(overwrites={EVERYONE: (0, S)}), V | R),
    ("@everyone overwrite allows", Case(overwrites={EVERYONE: (A, 0)}), V | S | R | A),
    ("role overwrite deny beats @everyone allow", Case(roles=("r1",), overwrites={EVERYONE: (A, 0), ("role", "r1"): (0, A)}), V | S | R),
    ("role overwrite allow beats @everyone deny", Case(roles=("r1",), overwrites={EVERYONE: (0, S), ("role", "r1"): (S, 0)}), V | S | R),
    ("role overwrites: any allow beats any deny", Case(roles=("r1", "r2"), overwrites={("role", "r1"): (0, S), ("role", "r2"): (S, 0)}), V | S | R),
    ("role overwrites of roles not held do nothing", Case(overwrites={("role", "r1"): (0, S)}), V | S | R),
    ("member overwrite deny beats role allow", Case(roles=("r1",), overwrites={("role", "r1"): (A, 0), ("member", USER): (0, A)}), V | S | R),
    ("member overwrite allow beats role deny", Case(roles=("r1",), overwrites={("role", "r1"): (0, S), ("member", USER): (S, 0)}), V | S | R),
    ("another member's overwrite does nothing", Case(overwrites={("member", "other"): (0, S)}), V | S | R),
    ("no VIEW_CHANNEL means nothing", Case(overwrites={EVERYONE: (0, V)}), 0),
    ("no VIEW_CHANNEL means nothing, even with SEND", Case(everyone=S | R), 0),
    ("a member overwrite can grant VIEW back", Case(overwrites={EVERYONE: (0, V), ("member", USER): (V, 0)}), V | S | R),
    ("timed out keeps only VIEW and READ_HISTORY", Case(r1=A | K, roles=("r1",), timeout_until=NOW + 1), V | R),
    ("timed out even with an allow overwrite", Case(timeout_until=NOW + 1, overwrites={("member", USER): (S, 0)}), V | R),
    ("an ended timeout restores everything", Case(timeout_until=NOW), V | S | R),
    ("timed out without VIEW: nothing", Case(timeout_until=NOW + 1, overwrites={EVERYONE: (0, V)}), 0),
    ("non-member of a public community reads", Case(member=False, r1=A, roles=("r1",)), V | R),
    ("non-member: @everyone overwrite applies", Case(member=False, overwrites={EVERYONE: (0, V)}), 0),
    ("non-member: role and member overwrites do not", Case(member=False, overwrites={("member", USER): (S, 0)}), V | R),
    ("anonymous reads a public community", Case(member=False, user=None), V | R),
    ("non-member of a private community: nothing", Case(member=False, public=False), 0),
    ("anonymous, private community: nothing", Case(member=False, user=None, public=False), 0),
    ("banned: nothing", Case(member=False, banned=True), 0),
    ("banned, even in a public community with roles", Case(member=False, banned=True, r1=ADMIN, roles=("r1",)), 0),
    ("announcement: @everyone's send right does not count", Case(kind="announcement"), V | R),
    ("announcement: an @everyone allow overwrite does not count", Case(kind="announcement", overwrites={EVERYONE: (S, 0)}), V | R),
    ("announcement: a role overwrite grants sending", Case(kind="announcement", roles=("r1",), overwrites={("role", "r1"): (S, 0)}), V | S | R),
    ("announcement: a member overwrite grants sending", Case(kind="announcement", overwrites={("member", USER): (S, 0)}), V | S | R),
    ("announcement: MANAGE_CHANNELS may send", Case(kind="announcement", r1=int(Perm.MANAGE_CHANNELS), roles=("r1",)), V | S | R | int(Perm.MANAGE_CHANNELS)),
    ("announcement: the owner may send", Case(kind="announcement", user=OWNER), ALL),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "case", "expected"), TABLE, ids=[t[0] for t in TABLE])
def test_channel_permission_rule(rule, case, expected):
    assert perms_of(case) == expected, rule


BASE_TABLE = [
    ("base is @everyone | roles", Case(r1=A, roles=("r1",)), V | S | R | A),
    ("owner: everything", Case(user=OWNER), ALL),
    ("ADMINISTRATOR: everything", Case(r2=ADMIN, roles=("r2",)), ALL),
    ("timed out: VIEW and READ only", Case(r1=K, roles=("r1",), timeout_until=NOW + 5), V | R),
    ("non-member of a public community: read only", Case(member=False), V | R),
    ("non-member of a private community: nothing", Case(member=False, public=False), 0),
    ("banned: nothing", Case(member=False, banned=True), 0),
]


@pytest.mark.parametrize(("rule", "case", "expected"), BASE_TABLE, ids=[t[0] for t in BASE_TABLE])
def test_community_permission_rule(rule, case, expected):
    state, _, m = case.state()
    assert base_permissions(state, case.user, m, NOW) == expected, rule


def test_hierarchy_owner_outranks_all_and_roles_rank_by_position():
    state, _, _ = Case().state()
    assert highest_position(state, OWNER, []) > highest_position(state, USER, ["r1", "r2"])
    assert highest_position(state, USER, ["r1", "r2"]) == 2
    assert highest_position(state, USER, ["r1"]) == 1
    assert highest_position(state, USER, []) == 0  # @everyone only


# -- randomized comparison ------------------------------------------------------------------------


def reference(case: Case) -> int:
    """Per bit, the most specific setting wins: member overwrite, then role overwrites (allow over
    deny), then the @everyone overwrite, then the roles; owner/admin/ban/timeout/visibility around it."""
    if case.banned or (case.user is None and not case.public):
        return 0
    if case.user == OWNER:
        return ALL
    if not case.member and not case.public:
        return 0
    held = set(case.roles) & {"r1", "r2"} if case.member else set()
    base = case.everyone | (case.r1 if "r1" in held else 0) | (case.r2 if "r2" in held else 0)
    if case.member and base & ADMIN:
        return ALL
    ow = case.overwrites
    result = 0
    for bit in (1 << i for i in range(18)):
        on = bool(base & bit)
        ev_allow, ev_deny = ow.get(EVERYONE, (0, 0))
        if ev_deny & bit:
            on = False
        if ev_allow & bit:
            on = True
        if case.member:
            role_ows = [ow[("role", r)] for r in sorted(held) if ("role", r) in ow]
            if any(d & bit for _, d in role_ows):
                on = False
            if any(a & bit for a, _ in role_ows):
                on = True
            m_allow, m_deny = ow.get(("member", USER), (0, 0)) if case.user == USER else (0, 0)
            if m_deny & bit:
                on = False
            if m_allow & bit:
                on = True
            granted = any(a & bit for a, _ in role_ows) or bool(m_allow & bit)
            if (
                case.kind == "announcement"
                and bit == S
                and not granted
                and not base & int(Perm.MANAGE_CHANNELS)
            ):
                on = False
        result |= bit if on else 0
    if not case.member or (case.timeout_until is not None and case.timeout_until > NOW):
        result &= V | R
    return result if result & V else 0


bits = st.integers(min_value=0, max_value=ALL)
few_bits = st.sampled_from([0, V, S, R, A, V | S, V | R | S, ADMIN, K | S])
perm = st.one_of(bits, few_bits)
overwrite_keys = st.sampled_from(
    [EVERYONE, ("role", "r1"), ("role", "r2"), ("member", USER), ("member", "x")]
)


@settings(max_examples=400, deadline=None)
@given(
    everyone=perm,
    r1=perm,
    r2=perm,
    roles=st.lists(st.sampled_from(["r1", "r2", "zz"]), max_size=3, unique=True),
    overwrites=st.dictionaries(overwrite_keys, st.tuples(perm, perm), max_size=5),
    member=st.booleans(),
    banned=st.booleans(),
    timeout=st.sampled_from([None, NOW - 1, NOW, NOW + 1]),
    public=st.booleans(),
    user=st.sampled_from([USER, OWNER, None]),
    kind=st.sampled_from(["text", "forum", "announcement"]),
)
def test_permission_function_matches_reference(
    everyone, r1, r2, roles, overwrites, member, banned, timeout, public, user, kind
):
    case = Case(
        everyone=everyone,
        r1=r1,
        r2=r2,
        roles=tuple(roles),
        overwrites=overwrites,
        member=member and not banned and user is not None,
        banned=banned,
        timeout_until=timeout,
        public=public,
        user=user,
        kind=kind,
    )
    assert perms_of(case) == reference(case)
