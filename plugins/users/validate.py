"""Input rules beyond what the Structs check: reserved usernames and the shape of an email address."""

from __future__ import annotations

import re

from cryb_node.problems import Problem

# Names that would impersonate the node or collide with routes and mentions.
RESERVED = frozenset(
    {
        "admin", "administrator", "root", "system", "cryb", "node", "me", "api", "everyone", "here",
        "moderator", "mod", "support", "staff", "official", "deleted", "null", "undefined", "anonymous",
        "security", "postmaster", "webmaster", "noreply", "no_reply",
    }
)  # fmt: skip
_USERNAME = re.compile(r"^[A-Za-z0-9_]{3,32}$")
# Deliberately simple: one @, a dot in the domain, no spaces or control characters. The real check
# is the verification mail.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f.]{2,}$")


def check_username(username: str, *, reserved_ok: bool = False) -> str:
    """``reserved_ok``: the node's operator naming an admin (setup link, `cryb user create --admin`)
    may take a reserved name such as "admin"; sign-ups may not."""
    if not _USERNAME.match(username):
        raise Problem("invalid_field", 400, "3 to 32 letters, digits or underscores", field="username")
    if username.lower() in RESERVED and not reserved_ok:
        raise Problem("username_reserved", 400, "that username is reserved", field="username")
    return username


def check_email(email: str) -> str:
    email = email.strip()
    if len(email) > 254 or not _EMAIL.match(email) or ".." in email.split("@")[1]:
        raise Problem("invalid_field", 400, "not a valid email address", field="email")
    return email
