"""Input rules beyond what the Structs check: usernames (shape, reserved names), the text of a public
profile, and the shape of an email address.

The username and profile rules are pure functions returning an ``Invalid`` (or None), so one rule set
serves both the local API (``check_*`` raise it as a Problem) and events from peers
(``events.authorize`` gives it as the refusal reason): a peer's user can never hold a name or a
profile a local sign-up could not.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from cryb_node.problems import Problem

USERNAME_MIN, USERNAME_MAX = 3, 32
DISPLAY_NAME_MAX = 64
BIO_MAX = 1000
PRONOUNS_MAX = 40
MEDIA_ID_MAX = 64

# Names that would impersonate the node or collide with routes and mentions.
RESERVED = frozenset(
    {
        "admin", "administrator", "root", "system", "cryb", "node", "me", "api", "everyone", "here",
        "moderator", "mod", "support", "staff", "official", "deleted", "null", "undefined", "anonymous",
        "security", "postmaster", "webmaster", "noreply", "no_reply",
    }
)  # fmt: skip
_USERNAME = re.compile(rf"^[A-Za-z0-9_]{{{USERNAME_MIN},{USERNAME_MAX}}}$")
# Deliberately simple: one @, a dot in the domain, no spaces or control characters. The real check
# is the verification mail.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f.]{2,}$")
# Characters that reorder or hide text around them (Trojan Source, CVE-2021-42574) or make two
# names look alike: bidi embeddings, overrides, isolates and marks, zero-width spaces, the BOM.
_INVISIBLE = frozenset(
    "\u061c\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
)
# Names are plain text everywhere they are shown; angle brackets only ever serve to smuggle markup.
_MARKUP = frozenset("<>")


@dataclass(frozen=True)
class Invalid:
    """Why a value is not accepted: the Problem a local request gets, the reason a peer's event gets."""

    code: str
    field: str
    detail: str

    def problem(self) -> Problem:
        return Problem(self.code, 400, self.detail, field=self.field)

    def __str__(self) -> str:
        return f"{self.field}: {self.detail}"


def username_problem(username: str, *, reserved_ok: bool = False) -> Invalid | None:
    """``reserved_ok``: the node's operator naming an admin (setup link, `cryb user create --admin`)
    may take a reserved name such as "admin"; sign-ups (and every peer's user) may not."""
    if not _USERNAME.match(username):
        return Invalid("invalid_field", "username", "3 to 32 letters, digits or underscores")
    if username.lower() in RESERVED and not reserved_ok:
        return Invalid("username_reserved", "username", "that username is reserved")
    return None


def _text_problem(field: str, value: str, limit: int, *, multiline: bool = False) -> Invalid | None:
    if len(value) > limit:
        return Invalid("invalid_field", field, f"at most {limit} characters")
    for ch in value:
        if ch in _INVISIBLE:
            return Invalid("invalid_field", field, "no direction or invisible formatting characters")
        if (multiline and ch in "\n\r\t") or unicodedata.category(ch) not in ("Cc", "Cs", "Zl", "Zp"):
            continue
        return Invalid("invalid_field", field, "no control characters")
    if not multiline and _MARKUP.intersection(value):
        return Invalid("invalid_field", field, "no < or > (names are plain text)")
    return None


def profile_problem(
    display_name: str = "", bio: str = "", pronouns: str = "", avatar: str | None = None
) -> Invalid | None:
    """The public profile's text: lengths, no control, bidi or invisible characters, no markup in
    the one-line fields (the bio may have line breaks and tabs)."""
    if avatar is not None and not 1 <= len(avatar) <= MEDIA_ID_MAX:
        return Invalid("invalid_field", "avatar", "not a media id")
    return (
        _text_problem("display_name", display_name, DISPLAY_NAME_MAX)
        or _text_problem("pronouns", pronouns, PRONOUNS_MAX)
        or _text_problem("bio", bio, BIO_MAX, multiline=True)
    )


STATUS_MAX = 128


def status_problem(status: str) -> Invalid | None:
    """Custom status text: one line, like the display name."""
    return _text_problem("status_text", status, STATUS_MAX)


def check_username(username: str, *, reserved_ok: bool = False) -> str:
    refusal = username_problem(username, reserved_ok=reserved_ok)
    if refusal is not None:
        raise refusal.problem()
    return username


def check_profile(
    display_name: str = "", bio: str = "", pronouns: str = "", avatar: str | None = None
) -> None:
    refusal = profile_problem(display_name, bio, pronouns, avatar)
    if refusal is not None:
        raise refusal.problem()


def check_email(email: str) -> str:
    email = email.strip()
    if len(email) > 254 or not _EMAIL.match(email) or ".." in email.split("@")[1]:
        raise Problem("invalid_field", 400, "not a valid email address", field="email")
    return email
