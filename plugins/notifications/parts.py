"""The notifications plugin's parts, built once per node in its setup and found through ``PARTS``."""

from __future__ import annotations

from dataclasses import dataclass

from cryb_node.identity import key_dir
from cryb_node.mail import Mailer
from cryb_node.node import Node
from cryb_node.services import ServiceKey

from .mailing import Tokens, load_key
from .outbox import Outbox
from .schemas import Settings
from .service import Notifications
from .webpush import Vapid


@dataclass
class Parts:
    svc: Notifications
    outbox: Outbox
    tokens: Tokens
    vapid: Vapid

    @classmethod
    def make(cls, node: Node, settings: Settings) -> Parts:
        svc = Notifications(node, settings)
        keys = key_dir(node.data_dir)
        tokens, vapid = Tokens(load_key(keys)), Vapid(keys, settings.vapid_subject, node.clock)
        return cls(svc, Outbox(svc, Mailer(node.config.mail), tokens, vapid), tokens, vapid)


PARTS: ServiceKey[Parts] = ServiceKey("notifications")
