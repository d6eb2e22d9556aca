"""Typed service interfaces plugins offer each other through ``node.services``.

The core defines the vocabulary (a Protocol and its ``ServiceKey``); a plugin provides the
implementation in its ``setup`` hook (``node.services.provide(KEY, impl)``) and others look it up
(``node.services.require(KEY)``, or ``get`` when the provider may be disabled) without importing the
provider's internals. The registry is frozen once the node starts: nothing appears later.
"""

from __future__ import annotations

from enum import IntFlag
from typing import Any, Generic, Protocol, TypeVar, cast

import msgspec

from cryb_node.db import Connection, Database

T = TypeVar("T")


class ServiceKey(Generic[T]):
    """A typed name for a service (aiohttp's ``AppKey`` idea): ``KEY: ServiceKey[Proto] =
    ServiceKey("name")``; ``require(KEY)`` is then typed ``Proto`` without naming an abstract class."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<ServiceKey {self.name}>"


class ServiceMissing(LookupError):
    """``require`` of a service no enabled plugin provides (or before the node started)."""


class Services:
    """The node's services: provided during setup (before the node starts), then read-only."""

    def __init__(self) -> None:
        self._impls: dict[ServiceKey[Any], Any] = {}
        self._frozen = False

    def provide(self, key: ServiceKey[T], impl: T) -> None:
        if self._frozen:
            raise RuntimeError(
                f"{key.name}: services are provided in a plugin's setup, before the node starts"
            )
        if key in self._impls:
            raise ValueError(f"{key.name} is already provided")
        self._impls[key] = impl

    def get(self, key: ServiceKey[T]) -> T | None:
        """The service, or None when no enabled plugin provides it."""
        return cast("T | None", self._impls.get(key))

    def require(self, key: ServiceKey[T]) -> T:
        """The service; raises ServiceMissing when no enabled plugin provides it."""
        try:
            return cast(T, self._impls[key])
        except KeyError:
            raise ServiceMissing(f"no plugin provides the {key.name} service (is it disabled?)") from None

    def freeze(self) -> None:
        self._frozen = True


class Perm(IntFlag):
    """The permission bitfield (Discord's model). Values are stable: they are stored and sent."""

    VIEW_CHANNEL = 1 << 0
    SEND_MESSAGES = 1 << 1
    READ_HISTORY = 1 << 2
    ATTACH_FILES = 1 << 3
    ADD_REACTIONS = 1 << 4
    MENTION_EVERYONE = 1 << 5
    MANAGE_MESSAGES = 1 << 6
    MANAGE_CHANNELS = 1 << 7
    MANAGE_ROLES = 1 << 8
    MANAGE_COMMUNITY = 1 << 9
    KICK_MEMBERS = 1 << 10
    BAN_MEMBERS = 1 << 11
    MODERATE_MEMBERS = 1 << 12
    CREATE_POSTS = 1 << 13
    VOTE = 1 << 14
    CREATE_INVITES = 1 << 15
    VIEW_AUDIT_LOG = 1 << 16
    ADMINISTRATOR = 1 << 17
    MANAGE_WEBHOOKS = 1 << 18
    MANAGE_EVENTS = 1 << 19

    @classmethod
    def all(cls) -> Perm:
        value = cls(0)
        for member in cls:
            value |= member
        return value


_ADMINISTRATOR = int(Perm.ADMINISTRATOR)


class ChannelAccess(msgspec.Struct, frozen=True):
    """What one user may do in one channel, right now."""

    channel_id: str
    community_id: str
    kind: str  # text | forum | announcement | category
    perms: int  # a Perm bitfield
    member: bool  # the user is a member of the community
    timed_out_until: int | None = None  # ms since epoch
    slowmode_s: int = 0
    nsfw: bool = False

    def has(self, perm: Perm) -> bool:
        # Plain ints: IntFlag's own operators build enum members (a noticeable cost per request).
        return bool(self.perms & (int(perm) | _ADMINISTRATOR))


class Permissions(Protocol):
    """Provided by the communities plugin: the ONE permission function, cached."""

    async def channel(self, user_id: str | None, channel_id: str) -> ChannelAccess | None:
        """The user's access to a channel (None: no such channel). ``user_id`` None is anonymous."""
        ...

    async def community(self, user_id: str | None, community_id: str) -> int:
        """The user's community-wide permissions (no channel overwrites); 0 if banned or absent."""
        ...

    async def visible_channels(
        self, user_id: str | None, community_id: str | None = None
    ) -> list[ChannelAccess]:
        """Every channel the user may view (in one community, or in all their communities; None: an
        anonymous viewer, in one community)."""
        ...

    async def is_member(self, user_id: str, community_id: str) -> bool:
        """True if the user is a member (not banned) of the community."""
        ...


class Relationships(Protocol):
    """Provided by the users plugin."""

    async def is_blocked(self, user_id: str, other_id: str) -> bool:
        """True if either user blocks the other."""
        ...


class AutomodVerdict(msgspec.Struct, frozen=True):
    action: str  # allow | block | flag | timeout
    rule_id: str | None = None
    reason: str = ""


class Automod(Protocol):
    """Provided by the communities plugin: checks text a member is about to post."""

    async def check(
        self,
        community_id: str,
        user_id: str,
        text: str,
        *,
        channel_id: str | None = None,
        target_type: str = "text",
        target_id: str | None = None,
    ) -> AutomodVerdict:
        """allow | flag (post it; a report linked to ``target_type``/``target_id`` is filed) |
        block (refuse) | timeout (refuse; the member is timed out)."""
        ...


class MediaRef(msgspec.Struct, frozen=True, kw_only=True):
    """An uploaded file as other plugins see it (they store only ``id``)."""

    id: str
    owner_id: str
    kind: str  # image | video | audio
    mime: str
    size: int
    width: int | None = None
    height: int | None = None
    channel_id: str | None = None  # the channel it was attached in (None: public, e.g. an avatar)
    attached: bool = False
    placeholder: str | None = None  # BlurHash for progressive loading


class MediaStore(Protocol):
    """Provided by the media plugin: uploads that content and profiles attach by id.

    An upload nobody attaches is deleted by the cleanup job after a while; media attached in a
    channel that anonymous users cannot view is private, fetched only through signed, expiring URLs.
    """

    async def get(self, media_id: str) -> MediaRef | None: ...

    async def attach(self, media_id: str, owner_id: str, channel_id: str | None) -> MediaRef | None:
        """Mark the owner's upload as used (in ``channel_id``, or publicly when None). Idempotent.
        None: no such upload of that owner, or it is already attached elsewhere."""
        ...

    async def detach(self, media_id: str) -> None:
        """The referring post/message/profile is gone: the upload becomes an orphan again."""
        ...

    def url(self, media_id: str, variant: str = "original") -> str:
        """The public URL of a variant (only fetchable if the media is public)."""
        ...

    def signed_url(self, media_id: str, variant: str = "original", ttl_s: int | None = None) -> str:
        """A URL that fetches the variant until ``ttl_s`` seconds from now (default from config)."""
        ...

    async def ingest(self, data: bytes, owner_id: str, filename: str = "") -> MediaRef:
        """Store bytes the node fetched itself (a link preview's image) through the upload pipeline:
        sniffed, size-limited, decoded and re-encoded like an upload, attached publicly. Raises
        MediaRefused when the bytes are not an image the node accepts."""
        ...


class MediaRefused(Exception):
    """``MediaStore.ingest`` would not take the bytes (not an image, too large, blocked)."""


class Contact(msgspec.Struct, frozen=True, kw_only=True):
    """How to address a local user: only a verified address is ever handed out."""

    user_id: str
    email: str | None  # None: no verified address
    display_name: str
    username: str


class Directory(Protocol):
    """Provided by the users plugin: contact details of local accounts, for mail other plugins send."""

    async def contact(self, user_id: str) -> Contact | None:
        """The user's name and verified email address (None: no such active local account)."""
        ...


class Audit(Protocol):
    """Provided by the users plugin: the node's append-only audit log, for the admin actions other
    plugins and the core perform (media take-downs, node bans, data console queries); their admin
    routes re-check the caller here (plugins don't read each other's tables). Absent when the users
    plugin is disabled."""

    def record(
        self,
        conn: Connection,
        action: str,
        *,
        actor_id: str | None = None,
        user_id: str | None = None,
        ip: str | None = None,
        **detail: Any,
    ) -> None:
        """Append an entry inside the caller's write transaction, so it commits (or not) with the
        action it records. ``actor_id`` None: the operator at the console (`cryb`)."""
        ...

    async def is_admin(self, user_id: str) -> bool:
        """True if ``user_id`` is an active node admin right now (read from the database each time,
        so a demotion or a disable applies at once, whatever the caller's token still says)."""
        ...


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    """Something a user should be told that is not an event (friend requests, report outcomes)."""

    kind: str  # friend_request | friend_accept | report_resolved | event_reminder
    user_id: str  # who is told
    key: str  # unique per notice: recording the same key twice tells the user once
    actor_id: str | None = None
    community_id: str | None = None
    text: str = ""
    target_id: str | None = None  # what it is about (event_reminder: the scheduled event's id)


class Notifier(Protocol):
    """Provided by the notifications plugin (absent when it is disabled)."""

    def record(self, conn: Connection, notice: Notice) -> None:
        """Queue ``notice`` inside the caller's write transaction, so it commits (or not) with the
        action it is about; it is delivered shortly after the commit."""
        ...


class AuthoredContent(Protocol):
    """Provided by the content plugin: what an account wrote, erased with the account."""

    def erase_author(self, tx: Any, user_id: str) -> int:
        """Inside the caller's event transaction (an events.Tx), append the author's own delete for
        every message, post and comment ``user_id`` wrote that is not deleted yet: the same final,
        replicated erasure an author's delete is (payloads of creates and edits erased on every
        node, signed skeletons kept, never accepted again). Returns how many deletes it appended."""
        ...

    def remove_author(self, tx: Any, user_id: str, communities: list[str], reason: str) -> int:
        """Inside the caller's event transaction, hide every message, post and comment ``user_id``
        wrote in ``communities`` (those this node is the home of) with a node admin's moderator
        removal (rank 3): replicated like any moderation, and an admin may approve them again.
        Returns how many removals it appended."""
        ...

    async def count_author(self, db: Database, user_id: str) -> AuthoredCounts:
        """How many messages (DMs too), posts and comments ``user_id`` wrote that are not deleted,
        as this node holds them (the node admin console's account view)."""
        ...


class AuthoredCounts(msgspec.Struct, frozen=True):
    messages: int
    posts: int
    comments: int


class ContentRef(msgspec.Struct, frozen=True, kw_only=True):
    """A message, post or comment as other plugins see it (what a report is about)."""

    type: str  # message | post | comment
    id: str
    channel_id: str
    community_id: str | None  # None: a direct message
    post_id: str | None = None  # a post: itself; a comment: its post
    author_id: str
    excerpt: str  # the start of its text (a post: its title); "" once erased
    participants: tuple[str, ...] = ()  # a direct message: everyone in the conversation
    removed: bool = False  # hidden by a moderator or a ban's purge (only moderators see it)


class ContentTargets(Protocol):
    """Provided by the content plugin: finds what a report names, so the reporting plugin needs none
    of content's tables."""

    async def find(self, target_type: str, target_id: str) -> ContentRef | None:
        """The message, post or comment (``target_type``) with that id; None if there is none or its
        author deleted it. Says nothing about who may see it: the caller checks that."""
        ...


class CommunityRef(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    public: bool
    owner_id: str


class CommunityDirectory(Protocol):
    """Provided by the communities plugin: a community's name, for other plugins that show one."""

    async def visible(self, user_id: str, community_id: str) -> CommunityRef | None:
        """The community if it exists and ``user_id`` may see it (it is public, or they are a member);
        None otherwise, so a private community is not told apart from a missing one."""
        ...


class SharedVariant(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    sha256: str  # hex: the content address the receiving node checks the bytes against
    mime: str
    size: int
    width: int | None = None
    height: int | None = None


class SharedMedia(msgspec.Struct, frozen=True, kw_only=True):
    """A node's own upload as it describes it to a peer (ids and image facts only, no PII)."""

    id: str
    owner_id: str
    kind: str
    mime: str
    size: int
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    placeholder: str | None = None
    dominant_color: str | None = None
    channel_id: str | None = None  # attached in this channel (None: public, e.g. an avatar)
    attached: bool = False
    variants: list[SharedVariant] = []


class MediaShare(Protocol):
    """Provided by the media plugin: this node's own uploads, for peers that fetch them."""

    async def shared(self, media_id: str) -> SharedMedia | None:
        """A local upload (never a cached copy of another node's), or None."""
        ...

    async def blob_bytes(self, sha256: str) -> bytes:
        """The stored bytes of one of its variants."""
        ...


class FetchedMedia(msgspec.Struct, kw_only=True):
    media: SharedMedia
    variant: str | None = None
    data: bytes | None = None  # the variant's bytes when one was asked for


class RemoteMediaError(Exception):
    """A peer did not hand over the media: ``status`` 403/404 (refused, unknown), None (unreachable
    or an answer that failed its checks)."""

    def __init__(self, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.status = status


class RemoteMedia(Protocol):
    """Provided by federation (cryb_node.sync): fetch media from the node that holds it, over the
    signed node-to-node channel (the answer is signed by the pinned key)."""

    async def fetch(self, node_key: bytes, media_id: str, variant: str | None = None) -> FetchedMedia:
        """The media's description, and a variant's bytes if ``variant``; raises RemoteMediaError."""
        ...


class Place(msgspec.Struct, frozen=True, kw_only=True):
    """Where a channel is, by name (for people reading their own data, not for access checks)."""

    channel_id: str
    channel_name: str | None  # None: the channel is gone
    community_id: str | None
    community_name: str | None


class Places(Protocol):
    """Provided by the communities plugin: names of channels and their communities."""

    async def places(self, channel_ids: list[str]) -> dict[str, Place]:
        """The named channels this node knows (a missing id: no such channel here)."""
        ...

    async def role_names(self, role_ids: list[str]) -> dict[str, str]:
        """Role id -> name, for the roles this node knows (mentions read as @role)."""
        ...


class SearchIndex(Protocol):
    """Provided by the search plugin: its index, which only the serving node writes."""

    async def recheck_authors(self, user_ids: list[str]) -> None:
        """Re-read every document these users wrote and their profiles: what the index may show of
        them changed without an event saying so (a node ban hid it, or its removal showed it again).
        Does nothing outside the serving node (the serving node's own caller does it there)."""
        ...


class InviteStatus(msgspec.Struct, frozen=True, kw_only=True):
    """What a community invite code of this node admits to, and whether it still works."""

    community_id: str
    community_name: str
    usable: bool
    reason: str = ""  # revoked | expired | used_up, when not usable


class Invites(Protocol):
    """Provided by the communities plugin: invite codes checked outside a join (the users plugin's
    invite-only sign-up accepts a community invite; the new member joins with it afterwards)."""

    async def lookup(self, code: str) -> InviteStatus | None:
        """The status of an invite made on this node (None: no such code here). A code made on
        another node admits to that node, not to this one, so it is not found here."""
        ...


class BotMembership(Protocol):
    """Provided by the communities plugin: a manager (MANAGE_COMMUNITY) adds a bot account to a
    community, or removes it; the users plugin checks the bot is the caller's."""

    async def add_bot(self, actor_id: str, admin: bool, community_id: str, bot_id: str) -> None: ...

    async def remove_bot(self, actor_id: str, admin: bool, community_id: str, bot_id: str) -> None: ...


# The keys of the core's service vocabulary.
PERMISSIONS: ServiceKey[Permissions] = ServiceKey("permissions")
RELATIONSHIPS: ServiceKey[Relationships] = ServiceKey("relationships")
AUTOMOD: ServiceKey[Automod] = ServiceKey("automod")
MEDIA_STORE: ServiceKey[MediaStore] = ServiceKey("media-store")
DIRECTORY: ServiceKey[Directory] = ServiceKey("directory")
AUDIT: ServiceKey[Audit] = ServiceKey("audit")
NOTIFIER: ServiceKey[Notifier] = ServiceKey("notifier")
AUTHORED_CONTENT: ServiceKey[AuthoredContent] = ServiceKey("authored-content")
CONTENT_TARGETS: ServiceKey[ContentTargets] = ServiceKey("content-targets")
COMMUNITY_DIRECTORY: ServiceKey[CommunityDirectory] = ServiceKey("community-directory")
MEDIA_SHARE: ServiceKey[MediaShare] = ServiceKey("media-share")
REMOTE_MEDIA: ServiceKey[RemoteMedia] = ServiceKey("remote-media")
PLACES: ServiceKey[Places] = ServiceKey("places")
SEARCH_INDEX: ServiceKey[SearchIndex] = ServiceKey("search-index")
INVITES: ServiceKey[Invites] = ServiceKey("invites")
BOT_MEMBERSHIP: ServiceKey[BotMembership] = ServiceKey("bot-membership")
