"""Notification mail: plain-text + HTML templates (every value escaped in the HTML part), and the
signed one-click unsubscribe link (RFC 8058: List-Unsubscribe + List-Unsubscribe-Post)."""

from __future__ import annotations

import hashlib
import hmac
import html
import os
from importlib import resources
from pathlib import Path
from string import Template

from cryb_node.mail import Mail

from .webpush import b64url, unb64url

KEY_FILE = "notifications.key"


def load_key(key_dir: Path) -> bytes:
    path = key_dir / KEY_FILE
    if not path.exists():
        key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(os.urandom(32).hex() + "\n")
        os.replace(tmp, path)
    return bytes.fromhex(path.read_text().strip())


class Tokens:
    """Unsubscribe tokens: the user id and an HMAC of it (they do not expire; they only turn mail off)."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def _mac(self, user_id: str) -> bytes:
        return hmac.new(self.key, b"unsubscribe:" + user_id.encode(), hashlib.sha256).digest()[:18]

    def make(self, user_id: str) -> str:
        return f"{b64url(user_id.encode())}.{b64url(self._mac(user_id))}"

    def check(self, token: str) -> str | None:
        try:
            uid_part, mac_part = token.split(".", 1)
            user_id = unb64url(uid_part).decode()
            mac = unb64url(mac_part)
        except (ValueError, UnicodeDecodeError):
            return None
        return user_id if hmac.compare_digest(mac, self._mac(user_id)) else None


def _template(name: str) -> Template:
    return Template((resources.files(__package__) / "templates" / name).read_text())


TEMPLATES = {n: _template(n) for n in ("notification.txt", "notification.html", "digest.txt", "digest.html")}


class Item:
    """One notification as a mail shows it."""

    def __init__(self, title: str, actor: str, preview: str) -> None:
        self.title, self.actor, self.preview = title, actor, preview


def _headers(unsubscribe: str) -> tuple[tuple[str, str], ...]:
    return (
        ("List-Unsubscribe", f"<{unsubscribe}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("Auto-Submitted", "auto-generated"),
    )


def single(to: str, item: Item, link: str, unsubscribe: str, message_id: str) -> Mail:
    values = {"title": item.title, "actor": item.actor, "preview": item.preview, "link": link,
              "unsubscribe": unsubscribe}  # fmt: skip
    escaped = {k: html.escape(v, quote=True) for k, v in values.items()}
    return Mail(
        to=to,
        subject=f"{item.title} from {item.actor}"[:200],
        text=TEMPLATES["notification.txt"].substitute(values),
        html=TEMPLATES["notification.html"].substitute(escaped),
        kind="notification",
        headers=_headers(unsubscribe),
        message_id=message_id,
    )


def digest(to: str, period: str, items: list[Item], link: str, unsubscribe: str, message_id: str) -> Mail:
    text_items = "".join(f"- {i.title} ({i.actor}): {i.preview}\n" for i in items)
    html_items = "".join(
        f"<li><strong>{html.escape(i.title)}</strong> ({html.escape(i.actor)}):"
        f" {html.escape(i.preview)}</li>\n"
        for i in items
    )
    common = {"period": period, "count": str(len(items)), "link": link, "unsubscribe": unsubscribe}
    escaped = {k: html.escape(v, quote=True) for k, v in common.items()}
    return Mail(
        to=to,
        subject=f"Your {period} CRYB digest: {len(items)} new notification(s)",
        text=TEMPLATES["digest.txt"].substitute(common, items=text_items),
        html=TEMPLATES["digest.html"].substitute(escaped, items=html_items),
        kind="notification_digest",
        headers=_headers(unsubscribe),
        message_id=message_id,
    )
