"""How analytics rows name people without naming them: a keyed hash (key file data_dir/keys/
analytics.key, mode 600) of the user id under a random salt that rotates every ISO week (and a
second one every calendar month, for MAU). Within one salt period one user always has the same
hash, so distinct counts over a day, an ISO week or a calendar month are exact; across periods the
hashes cannot be linked, and once a period's salt is deleted not even the key and a user id can
tie its rows to anyone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from pathlib import Path

from cryb_node.db import Connection
from cryb_node.identity import load_or_create_secret

KEY_FILE = "analytics.key"


def load_or_create_key(key_dir: Path) -> bytes:
    return load_or_create_secret(key_dir / KEY_FILE)


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def week_period(day: dt.date) -> str:
    return f"w{monday(day).isoformat()}"


def month_period(day: dt.date) -> str:
    return f"m{day.year:04d}-{day.month:02d}"


def period_end(period: str) -> dt.date:
    if period.startswith("w"):
        return dt.date.fromisoformat(period[1:]) + dt.timedelta(days=6)
    year, month = int(period[1:5]), int(period[6:8])
    first_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


class Hasher:
    """Keyed hashes; the salt functions run in the writer thread (inside the caller's transaction)."""

    def __init__(self, key: bytes, grace_days: int) -> None:
        self._key = key
        self.grace_days = grace_days

    def _h(self, person: bytes, data: bytes, salt: bytes = b"") -> str:
        return hashlib.blake2b(
            data, key=self._key, salt=salt[:16], person=person[:16], digest_size=16
        ).hexdigest()

    def actor(self, salt: bytes, user_id: str) -> str:
        return self._h(b"actor", user_id.encode(), salt)

    def member(self, scope: str, user_id: str) -> str:
        """Cohort membership (stable, unsalted: a cohort is recognised weeks later)."""
        return self._h(b"cohort", f"{scope}\0{user_id}".encode())

    def optout(self, user_id: str) -> str:
        return self._h(b"optout", user_id.encode())

    def salt(self, conn: Connection, period: str, *, create: bool = True) -> bytes | None:
        """The period's salt, made on first use; None once deleted (the period is over)."""
        row = conn.execute("SELECT salt FROM analytics_salts WHERE period = ?", (period,)).fetchone()
        if row is not None:
            return row["salt"]
        if not create:
            return None
        expires = period_end(period) + dt.timedelta(days=self.grace_days)
        if conn.execute(
            "SELECT 1 FROM analytics_state WHERE key = 'salts_dropped_through' AND value >= ?",
            (period_end(period).isoformat(),),
        ).fetchone():
            return None  # its salt existed and was deleted: never make a second one
        salt = secrets.token_bytes(16)
        conn.execute(
            "INSERT INTO analytics_salts (period, salt, expires_on) VALUES (?, ?, ?)",
            (period, salt, expires.isoformat()),
        )
        return salt

    def all_actor_hashes(self, conn: Connection, user_id: str) -> list[str]:
        """The user's hash under every salt still kept (to delete their rows)."""
        return [self.actor(r["salt"], user_id) for r in conn.execute("SELECT salt FROM analytics_salts")]
