"""Outgoing mail over SMTP (the [mail] section), for any plugin that needs to write to a user.

With no SMTP host configured nothing is sent: the node logs that a mail was generated (its subject
and kind, never its body, which may hold a single-use link) and the caller decides what to do (the
CLI prints the link). Delivery uses aiosmtplib, so it never blocks the event loop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING

from cryb_node import lazy
from cryb_node.config import MailSection

if TYPE_CHECKING:
    import aiosmtplib
else:  # ~3 MiB: loaded by the first mail a configured node sends
    aiosmtplib = lazy.module("aiosmtplib")

log = logging.getLogger(__name__)


class MailError(RuntimeError):
    """The SMTP server refused the mail or could not be reached."""


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    kind: str = "mail"  # what it is for, for the log (e.g. "verify_email")
    html: str | None = None  # an HTML alternative to ``text``
    headers: tuple[tuple[str, str], ...] = ()  # extra headers (e.g. List-Unsubscribe)
    message_id: str | None = None  # stable across retries, so a resent mail can be recognised


class Mailer:
    def __init__(self, config: MailSection) -> None:
        self.config = config

    @property
    def configured(self) -> bool:
        return bool(self.config.smtp_host)

    def build(self, mail: Mail) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.config.sender
        msg["To"] = mail.to
        msg["Subject"] = mail.subject
        msg["Message-ID"] = mail.message_id or make_msgid(domain="cryb.local")
        for name, value in mail.headers:
            msg[name] = value
        msg.set_content(mail.text)
        if mail.html is not None:
            msg.add_alternative(mail.html, subtype="html")
        return msg

    async def send(self, mail: Mail) -> bool:
        """Deliver ``mail``; False when no SMTP server is configured. Raises MailError."""
        if not self.configured:
            log.warning(
                "%s mail generated but not sent: no [mail] smtp_host configured",
                mail.kind,
                extra={"fields": {"kind": mail.kind}},
            )
            return False
        cfg = self.config
        try:
            await aiosmtplib.send(
                self.build(mail),
                hostname=cfg.smtp_host,
                port=cfg.smtp_port,
                username=cfg.username or None,
                password=cfg.password or None,
                use_tls=cfg.security == "tls",
                start_tls=cfg.security == "starttls",
                timeout=cfg.timeout_s,
            )
        except (aiosmtplib.SMTPException, OSError) as err:
            raise MailError(f"sending {mail.kind} mail failed: {err}") from err
        log.info("mail sent", extra={"fields": {"kind": mail.kind}})
        return True
