"""Onboarding's governance kinds (rules screening, verification level, welcome screen, self-assignable
roles); events.py adds them to the community's kinds, onboarding.py holds their rules."""

from __future__ import annotations

import hashlib

import msgspec

from .gov import Gov

VERIFICATION_LEVELS = ("none", "email", "account_age", "member_age")
MAX_RULES_CHARS = 6000
MAX_WELCOME_CHARS = 1000
MAX_NOTE_CHARS = 200
MAX_WELCOME_CHANNELS = 5
MAX_SELF_ROLES = 10
MAX_MINUTES = 30 * 24 * 60


class WelcomeChannel(msgspec.Struct, kw_only=True, omit_defaults=True):
    channel_id: str
    note: str = ""


class OnboardingSet(Gov):
    """The whole onboarding setup of a community (target: the community); the newest one holds."""

    rules: str = ""  # Markdown
    require_rules: bool = False
    verification: str = "none"  # one of VERIFICATION_LEVELS
    min_minutes: int = 0  # account_age / member_age: how old the account or membership must be
    welcome: str = ""
    channels: list[WelcomeChannel] = []
    self_roles: list[str] = []


class MemberOnboard(Gov):
    """A member accepts the rules (target: the member, who authors it).

    ``rules_hash`` names the rules text accepted (it must be the current one at the event's place);
    ``email_verified`` is the author's home node vouching for the account's address: only the home
    knows it, and only the home's log may carry its users' events (sync.ingest)."""

    rules_hash: str = ""
    email_verified: bool = False


class SelfRole(Gov):
    """A member adds or drops a self-assignable role on themselves (target: the member)."""

    role_id: str


ONBOARDING_KINDS: dict[str, type[msgspec.Struct]] = {
    "onboarding.set": OnboardingSet,
    "member.onboard": MemberOnboard,
    "role.self_add": SelfRole,
    "role.self_remove": SelfRole,
}


def rules_hash(rules: str) -> str:
    """What an acceptance names: the rules text, hashed (short; it is shown to clients)."""
    return hashlib.sha256(rules.encode()).hexdigest()[:32]
