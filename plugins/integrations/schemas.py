"""The integrations plugin's typed boundaries: settings, incoming webhooks, event subscriptions and
link-preview embeds (msgspec Structs; the OpenAPI document is derived from them)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

AnyId = Annotated[str, Meta(min_length=1, max_length=64)]
MediaId = Annotated[str, Meta(pattern=r"^[0-9a-hjkmnp-tv-z]{26}$", description="a media id")]
Name = Annotated[str, Meta(min_length=1, max_length=80)]
Url = Annotated[str, Meta(min_length=8, max_length=2000, pattern=r"^https?://")]


class Settings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[plugin.integrations]``."""

    # Networks (CIDR) the node may connect to although they are private or loopback: outgoing
    # webhook targets and link-preview fetches. Empty: public addresses only.
    allow_networks: list[str] = []
    # Incoming webhook messages per webhook per window (while [rate_limits] enabled).
    webhook_rate_limit: Annotated[int, Meta(ge=1)] = 30
    webhook_rate_window_s: Annotated[float, Meta(gt=0)] = 60.0
    # Outgoing deliveries: one attempt's time limit; retries back off from retry_base_s doubling up
    # to retry_max_s, given up after max_attempts; the worker looks for due rows every poll_s.
    delivery_timeout_s: Annotated[float, Meta(gt=0)] = 10.0
    retry_base_s: Annotated[float, Meta(gt=0)] = 30.0
    retry_max_s: Annotated[float, Meta(gt=0)] = 3600.0
    max_attempts: Annotated[int, Meta(ge=1)] = 10
    poll_s: Annotated[float, Meta(gt=0)] = 2.0
    # Link previews: off turns them off on the whole node (communities can turn theirs off too).
    link_previews: bool = True
    preview_connect_timeout_s: Annotated[float, Meta(gt=0)] = 3.0
    preview_timeout_s: Annotated[float, Meta(gt=0)] = 8.0  # all of one page (and its oEmbed)
    preview_max_bytes: Annotated[int, Meta(ge=1024)] = 1_048_576  # of a page: the rest is cut off
    preview_image_max_bytes: Annotated[int, Meta(ge=1024)] = 5_242_880
    preview_max_redirects: Annotated[int, Meta(ge=0, le=10)] = 5
    preview_ttl_s: Annotated[int, Meta(ge=0)] = 86_400  # a fetched preview is reused this long
    previews_per_message: Annotated[int, Meta(ge=0, le=10)] = 3
    # Slash commands: how long a bot has to answer before the caller sees "bot did not respond".
    interaction_deadline_s: Annotated[float, Meta(gt=0, le=900)] = 10.0


# -- incoming webhooks --------------------------------------------------------------------------


class WebhookIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    avatar: MediaId | None = None  # an image you uploaded


class WebhookPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name | None = None
    avatar: MediaId | None = None


class WebhookOut(msgspec.Struct, kw_only=True):
    id: str
    community_id: str
    channel_id: str
    name: str
    avatar: str | None
    owner_id: str  # the member whose standing the webhook posts with
    created_at: int
    last_used_at: int | None = None
    token: str | None = None  # only when created or rotated: it is never shown again
    url: str | None = None  # the secret URL, likewise


class WebhookList(msgspec.Struct):
    webhooks: list[WebhookOut]


class CrybBody(msgspec.Struct, kw_only=True):
    """CRYB's own body for POST /api/webhooks/{id}/{token}."""

    content: str
    name: Name | None = None  # shown instead of the webhook's name for this message


# -- outgoing event webhooks ---------------------------------------------------------------------


class SubscriptionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    url: Url
    kinds: Annotated[
        list[Annotated[str, Meta(min_length=1, max_length=64)]], Meta(min_length=1, max_length=50)
    ]
    community_id: AnyId | None = None  # None: every community (node admins only)


class SubscriptionOut(msgspec.Struct, kw_only=True):
    id: str
    community_id: str | None
    url: str
    kinds: list[str]
    owner_id: str
    created_at: int
    last_status: int | None = None  # the receiver's HTTP status at the last attempt (None: unreachable)
    last_error: str | None = None
    last_attempt_at: int | None = None
    last_success_at: int | None = None
    pending: int = 0  # deliveries waiting (due or backing off)
    secret: str | None = None  # only when created: sign-checking key, never shown again


class SubscriptionList(msgspec.Struct):
    subscriptions: list[SubscriptionOut]


class SubscriptionQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    community_id: AnyId | None = None


class DeliveryOut(msgspec.Struct, kw_only=True):
    id: str
    event_id: str
    kind: str
    attempts: int
    created_at: int
    next_at: int | None  # None: sent or given up
    sent_at: int | None
    failed_at: int | None
    last_status: int | None
    last_error: str | None


class DeliveryList(msgspec.Struct):
    deliveries: list[DeliveryOut]


# -- link previews -------------------------------------------------------------------------------


class EmbedImage(msgspec.Struct, kw_only=True):
    media_id: str
    url: str
    width: int | None = None
    height: int | None = None


class Embed(msgspec.Struct, kw_only=True):
    url: str
    title: str | None = None
    description: str | None = None
    site_name: str | None = None
    image: EmbedImage | None = None


class EmbedQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    ids: Annotated[
        str, Meta(min_length=1, max_length=3000, description="message or post ids, comma-separated")
    ]
    wait: bool = False  # wait (up to the fetch time limit) for previews still being fetched


class EmbedMap(msgspec.Struct):
    """message/post id -> its link previews (ids without any are left out)."""

    embeds: dict[str, list[Embed]]


class IntegrationSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    link_previews: bool = True


class WebhookMessage(msgspec.Struct, kw_only=True):
    """What POST /api/webhooks/{id}/{token}?wait=true answers (CRYB bodies always get it)."""

    id: str
    channel_id: str
    community_id: str
    content: str
    webhook_id: str
    name: str  # shown as (the webhook's name, or the body's name/username for this message)
    format: str  # cryb | discord | slack: how the body was read
