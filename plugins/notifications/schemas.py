"""The notifications plugin's typed boundaries: settings, preferences, inbox and push subscriptions."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

Level = Literal["all", "mentions", "nothing"]
Digest = Literal["off", "daily", "weekly"]
KINDS = (
    "mention",
    "reply",
    "dm",
    "friend_request",
    "friend_accept",
    "comment",
    "moderation",
    "report_resolved",
    "announcement",
    "event_reminder",
)
HHMM = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM, 24-hour")]
Millis = Annotated[int, Meta(ge=0)]


class Settings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[plugin.notifications]``."""

    # Events older than this when first consumed (a node enabling the plugin on an old log) only
    # feed the index; they tell nobody.
    max_event_age_s: Annotated[int, Meta(ge=0)] = 2 * 86400
    # Outbox: retries back off from retry_base_s doubling up to retry_max_s; a message is given up
    # after max_attempts. After breaker_threshold consecutive SMTP failures no mail is tried for
    # breaker_cooldown_s (then one is tried again).
    retry_base_s: Annotated[float, Meta(gt=0)] = 30.0
    retry_max_s: Annotated[float, Meta(gt=0)] = 3600.0
    max_attempts: Annotated[int, Meta(ge=1)] = 12
    breaker_threshold: Annotated[int, Meta(ge=1)] = 3
    breaker_cooldown_s: Annotated[float, Meta(gt=0)] = 60.0
    # How often the worker looks for due mail/push even when nothing woke it.
    poll_s: Annotated[float, Meta(gt=0)] = 2.0
    # How often the digest job looks for users whose digest is due.
    digest_every_s: Annotated[int, Meta(ge=1)] = 900
    # Read and deleted notifications older than this are forgotten, and so are outbox rows sent or
    # given up on this long ago (unread ones stay however old).
    retention_days: Annotated[int, Meta(ge=1)] = 90
    # Web Push: the VAPID "sub" claim, and whether plain-http push endpoints are accepted (tests).
    vapid_subject: str = "mailto:admin@localhost"
    push_allow_http: bool = False
    push_timeout_s: Annotated[float, Meta(gt=0)] = 10.0


class QuietHours(msgspec.Struct, forbid_unknown_fields=True):
    start: HHMM
    end: HHMM


class KindSwitch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    inbox: bool = True  # off: this kind is not a notification at all
    push: bool = True  # Web Push to the user's browsers
    email: bool = False  # an immediate mail (otherwise it waits for the digest, if any)


class KindSwitches(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    mention: KindSwitch = msgspec.field(default_factory=lambda: KindSwitch())
    reply: KindSwitch = msgspec.field(default_factory=lambda: KindSwitch())
    dm: KindSwitch = msgspec.field(default_factory=lambda: KindSwitch())
    friend_request: KindSwitch = msgspec.field(default_factory=lambda: KindSwitch())
    friend_accept: KindSwitch = msgspec.field(default_factory=lambda: KindSwitch())
    comment: KindSwitch = msgspec.field(default_factory=lambda: KindSwitch())
    moderation: KindSwitch = msgspec.field(default_factory=lambda: KindSwitch())
    report_resolved: KindSwitch = msgspec.field(default_factory=lambda: KindSwitch())
    announcement: KindSwitch = msgspec.field(default_factory=lambda: KindSwitch())
    event_reminder: KindSwitch = msgspec.field(default_factory=lambda: KindSwitch())


class UserPrefs(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A user's own settings (stored whole; the PATCH body below changes some fields)."""

    level: Level = "all"
    muted_until: Millis | None = None
    time_zone: str = "UTC"
    quiet_hours: QuietHours | None = None
    email: bool = True  # the master switch one-click unsubscribe turns off
    email_digest: Digest = "off"
    kinds: KindSwitches = msgspec.field(default_factory=KindSwitches)


class UserPrefsPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    level: Level | UnsetType = UNSET
    muted_until: Millis | UnsetType | None = UNSET
    time_zone: Annotated[str, Meta(max_length=64)] | UnsetType = UNSET
    quiet_hours: QuietHours | UnsetType | None = UNSET
    email: bool | UnsetType = UNSET
    email_digest: Digest | UnsetType = UNSET
    kinds: KindSwitches | UnsetType = UNSET


class ScopePrefs(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Per community or per channel: overrides the user's level; a mute silences the whole scope."""

    level: Level | None = None  # None: inherit
    muted_until: Millis | None = None


class NotificationOut(msgspec.Struct, kw_only=True):
    id: str
    kind: str
    actor_id: str | None
    community_id: str | None
    channel_id: str | None
    target_id: str | None
    preview: str
    created_at: int
    read: bool


class NotificationList(msgspec.Struct):
    notifications: list[NotificationOut]
    next: str | None  # pass as ?before= for the next (older) page


class InboxQuery(msgspec.Struct, forbid_unknown_fields=True):
    before: Annotated[str, Meta(max_length=26)] | None = None
    limit: Annotated[int, Meta(ge=1, le=100)] = 50
    unread: bool = False
    community_id: str | None = None


class Unread(msgspec.Struct):
    unread: int


class MarkRead(msgspec.Struct, forbid_unknown_fields=True):
    community_id: str | None = None  # None: every notification


class Marked(msgspec.Struct):
    marked: int


class PushKeys(msgspec.Struct, forbid_unknown_fields=True):
    p256dh: Annotated[str, Meta(max_length=200)]
    auth: Annotated[str, Meta(max_length=100)]


class PushSubscriptionIn(msgspec.Struct, forbid_unknown_fields=True):
    """What the browser's PushSubscription.toJSON() gives (expirationTime is accepted, unused)."""

    endpoint: Annotated[str, Meta(max_length=2048)]
    keys: PushKeys
    expirationTime: int | None = None


class PushSubscriptionOut(msgspec.Struct):
    id: str
    endpoint: str


class VapidKey(msgspec.Struct):
    public_key: str  # base64url, uncompressed P-256 point: the applicationServerKey


class UnsubscribeQuery(msgspec.Struct, forbid_unknown_fields=True):
    token: Annotated[str, Meta(max_length=200)]


class Unsubscribed(msgspec.Struct):
    unsubscribed: bool
