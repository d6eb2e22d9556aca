"""Typed shapes of sign-up control (registration.py): what the sign-up page is told, applications
waiting for approval, registration tokens, and the admin's requests (msgspec Structs)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from .schemas import Email, Password, Username

Mode = Literal["open", "invite", "approval", "closed"]


class PowChallenge(msgspec.Struct):
    """Find a decimal ``nonce`` such that SHA-256 of ``challenge + ":" + nonce`` starts with ``bits``
    zero bits; send both with the sign-up before ``expires_at`` (unix s). Each challenge works once."""

    challenge: str
    bits: int
    expires_at: int


class RegistrationInfo(msgspec.Struct):
    """What the sign-up page needs to know about this node's rules."""

    mode: Mode
    invite_required: bool  # a community invite code of this node or a registration token
    question: str | None  # approval mode: what the applicant answers
    pow: PowChallenge | None  # a fresh challenge when proof of work is on


class Applied(msgspec.Struct):
    """The answer to a sign-up in approval mode (HTTP 202): no session until an admin approves."""

    user_id: str
    username: str
    status: str = "pending"
    detail: str = "your application is waiting for a node admin's approval"


class ApplicationOut(msgspec.Struct):
    user_id: str
    username: str
    email: str | None
    email_verified: bool
    display_name: str
    answer: str
    created_at: int


class ApplicationList(msgspec.Struct):
    question: str
    applications: list[ApplicationOut]


class RejectIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # Told to the applicant in the mail, never stored.
    reason: Annotated[str, Meta(max_length=500)] = ""


class ApplicationDecision(msgspec.Struct):
    user_id: str
    status: Literal["active", "rejected"]
    mailed: bool  # the applicant was sent a mail about it


class RegistrationTokenIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    uses: Annotated[int, Meta(ge=1, le=1_000_000)] | None = None  # None: unlimited
    expires_in_s: Annotated[int, Meta(ge=60, le=366 * 86_400)] | None = None  # None: never


class RegistrationTokenOut(msgspec.Struct, omit_defaults=True):
    id: str
    hint: str  # the token's first characters
    state: Literal["active", "expired", "used_up", "revoked"]
    created_at: int
    created_by: str | None
    expires_at: int | None
    max_uses: int | None
    uses: int
    token: str | None = None  # the token itself: only in the answer that creates it


class RegistrationTokenList(msgspec.Struct):
    tokens: list[RegistrationTokenOut]


class NewAccountIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An account a node admin creates (the way in when registration is closed)."""

    username: Username
    email: Email
    password: Password
