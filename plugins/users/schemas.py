"""Typed shapes of the users plugin: its settings, request bodies and responses (msgspec Structs)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from .validate import BIO_MAX, DISPLAY_NAME_MAX, MEDIA_ID_MAX, PRONOUNS_MAX, USERNAME_MAX, USERNAME_MIN

# The limits are validate.py's, which events from peers are checked against too (the service also
# runs its character rules on every value these admit).
Username = Annotated[str, Meta(min_length=USERNAME_MIN, max_length=USERNAME_MAX, pattern=r"^[A-Za-z0-9_]+$")]
Email = Annotated[str, Meta(min_length=3, max_length=254)]
Password = Annotated[str, Meta(min_length=10, max_length=256)]
DisplayName = Annotated[str, Meta(max_length=DISPLAY_NAME_MAX)]
Bio = Annotated[str, Meta(max_length=BIO_MAX)]
Pronouns = Annotated[str, Meta(max_length=PRONOUNS_MAX)]
MediaId = Annotated[str, Meta(min_length=1, max_length=MEDIA_ID_MAX)]


class OAuthProvider(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One sign-in provider. ``preset`` fills endpoints for github, google or discord; ``oidc`` reads
    them from ``issuer``/.well-known/openid-configuration."""

    name: Annotated[str, Meta(pattern=r"^[a-z0-9_-]{1,32}$")]
    preset: str = "oidc"  # github | google | discord | oidc
    client_id: str
    client_secret: str = ""
    issuer: str = ""
    scopes: list[str] = []
    authorize_url: str = ""
    token_url: str = ""
    userinfo_url: str = ""


class Settings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    access_ttl_s: Annotated[int, Meta(ge=30, le=86_400)] = 900
    refresh_ttl_s: Annotated[int, Meta(ge=300)] = 30 * 86_400
    # argon2id cost: libsodium's INTERACTIVE level (2 passes over 64 MiB, one lane).
    argon2_opslimit: Annotated[int, Meta(ge=1, le=16)] = 2
    argon2_memlimit: Annotated[int, Meta(ge=8192)] = 64 * 1024 * 1024
    # Failed sign-ins: after `slowdown_after` failures in `failure_window_s` each attempt waits
    # longer; past `account_failure_limit` (per account) or `ip_failure_limit` (per address) further
    # attempts are refused for `lockout_s` without checking the password.
    failure_window_s: Annotated[float, Meta(gt=0)] = 60.0
    account_failure_limit: Annotated[int, Meta(ge=1)] = 10
    ip_failure_limit: Annotated[int, Meta(ge=1)] = 50
    slowdown_after: Annotated[int, Meta(ge=1)] = 5
    slowdown_ms: Annotated[int, Meta(ge=0, le=10_000)] = 250
    lockout_s: Annotated[float, Meta(gt=0)] = 900.0
    # How often the authenticator picks up sessions revoked by another process (the CLI).
    revocation_poll_s: Annotated[float, Meta(gt=0)] = 2.0
    email_token_ttl_s: Annotated[int, Meta(ge=60)] = 86_400
    reset_token_ttl_s: Annotated[int, Meta(ge=60)] = 3_600
    # Members' data exports (GET /api/v1/users/@me/export): a finished ZIP is kept this long, and a
    # member may ask for a new one this often (building one reads everything they ever wrote).
    export_ttl_s: Annotated[int, Meta(ge=60)] = 7 * 86_400
    export_interval_s: Annotated[int, Meta(ge=0)] = 600
    oauth: list[OAuthProvider] = []
    # Who may create an account (plugins/users/registration.py): open (anyone), invite (with a
    # community invite code of this node or a registration token), approval (an admin approves each
    # application, which answers registration_question), closed (admins create accounts).
    registration: Literal["open", "invite", "approval", "closed"] = "open"
    registration_question: Annotated[str, Meta(min_length=1, max_length=500)] = (
        "Tell us a little about yourself: why would you like to join?"
    )
    # Proof of work the browser must do per sign-up: leading zero bits of a SHA-256 (0: off; each
    # bit doubles the work, 16 takes a phone about a second). Challenges live registration_pow_ttl_s.
    registration_pow_bits: Annotated[int, Meta(ge=0, le=32)] = 0
    registration_pow_ttl_s: Annotated[int, Meta(ge=30, le=86_400)] = 600
    # Sign-ups per client address and on the whole node per window (while [rate_limits] is enabled;
    # kept in SQLite like every rate limit, so a restart does not reset them).
    registration_address_limit: Annotated[int, Meta(ge=1)] = 20
    registration_address_window_s: Annotated[float, Meta(gt=0)] = 3600.0
    registration_global_limit: Annotated[int, Meta(ge=1)] = 200
    registration_global_window_s: Annotated[float, Meta(gt=0)] = 3600.0


# -- auth -------------------------------------------------------------------------------------


class PowSolution(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A solved sign-up challenge: SHA-256 of ``challenge:nonce`` starts with the challenge's zero bits."""

    challenge: Annotated[str, Meta(max_length=200)]
    nonce: Annotated[str, Meta(max_length=24, pattern=r"^[0-9]+$")]


class RegisterIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    username: Username
    email: Email
    password: Password
    display_name: DisplayName | UnsetType = UNSET
    # What the node's registration mode asks for (GET /api/v1/auth/registration says which).
    invite: Annotated[str, Meta(max_length=200)] | None = None  # invite mode: invite code or token
    answer: Annotated[str, Meta(max_length=2000)] | None = None  # approval mode
    pow: PowSolution | None = None
    # The honeypot: the web form hides this field from people; a bot that fills it is refused.
    website: Annotated[str, Meta(max_length=500)] = ""


class LoginIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    login: Annotated[str, Meta(min_length=1, max_length=254)]
    password: Annotated[str, Meta(min_length=1, max_length=256)]
    totp_code: Annotated[str, Meta(max_length=64)] | None = None


class RefreshIn(msgspec.Struct, forbid_unknown_fields=True):
    # Empty in the browser UI's cookie mode (webcookie.py); required otherwise.
    refresh_token: Annotated[str, Meta(max_length=200)] = ""


class TokenPair(msgspec.Struct):
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


# -- users ------------------------------------------------------------------------------------


class Profile(msgspec.Struct, omit_defaults=True):
    """What anyone may see of a user (also what peers receive, through events)."""

    id: str
    username: str
    display_name: str
    bio: str
    pronouns: str
    avatar: str | None
    # A user from another node: its home's host, shown as username@home (names.py). Absent: ours.
    home: str | None = None
    status_text: str = ""  # custom status, while it lasts
    status_until: int | None = None  # ms
    bot: bool = False  # a bot account of this node (plugins/users/bots.py), shown with a BOT tag


class Me(msgspec.Struct):
    id: str
    username: str
    display_name: str
    bio: str
    pronouns: str
    avatar: str | None
    email: str | None
    email_verified: bool
    admin: bool
    totp_enabled: bool
    status: str  # the account's state (active, ...), not the custom status
    created_at: int
    status_text: str = ""  # the custom status as set (the web UI hides it once status_until passes)
    status_until: int | None = None


class Registered(msgspec.Struct):
    user: Me
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


class ProfilePatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    display_name: DisplayName | UnsetType = UNSET
    bio: Bio | UnsetType = UNSET
    pronouns: Pronouns | UnsetType = UNSET
    avatar: MediaId | UnsetType | None = UNSET
    status_text: Annotated[str, Meta(max_length=128)] | UnsetType = UNSET  # custom status ("" clears it)
    status_until: Annotated[int, Meta(ge=0)] | UnsetType | None = UNSET  # ms; None: until cleared


class SessionOut(msgspec.Struct):
    id: str
    created_at: int
    last_used_at: int
    expires_at: int
    user_agent: str
    current: bool


class SessionList(msgspec.Struct):
    sessions: list[SessionOut]
