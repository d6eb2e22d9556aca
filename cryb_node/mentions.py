"""Mention tokens in text (<@user>, <@&role>, <#channel>) read as people read them: @name, @role,
#channel. One parser and one renderer for every place that shows text outside the app's own
renderer: search snippets, and the previews in push notifications and emails. ``resolve`` finds
the names through the services the plugins provide, naming only channels the reader may see."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .services import DIRECTORY, PERMISSIONS, PLACES, Directory, Perm, Permissions, Places

MENTION = re.compile(r"<(@&?|#)([0-9a-z]{26})>")


@dataclass
class Names:
    users: dict[str, str] = field(default_factory=dict)  # id -> username (name@home for a peer's)
    roles: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)  # only channels the reader may see


def mentioned(texts: Iterable[str]) -> tuple[set[str], set[str], set[str]]:
    """(user, role, channel) ids the texts mention."""
    users: set[str] = set()
    roles: set[str] = set()
    channels: set[str] = set()
    for text in texts:
        for sigil, id_ in MENTION.findall(text):
            {"@": users, "@&": roles, "#": channels}[sigil].add(id_)
    return users, roles, channels


def render(text: str, names: Names) -> str:
    """The text with each token replaced by its name (plain text: escape it for HTML yourself)."""

    def one(m: Any) -> str:
        sigil, id_ = m.group(1), m.group(2)
        if sigil == "@":
            return "@" + names.users.get(id_, "unknown-user")
        if sigil == "@&":
            return "@" + names.roles.get(id_, "unknown-role")
        return "#" + names.channels.get(id_, "unknown-channel")

    return MENTION.sub(one, text)


async def resolve(services: Any, reader_id: str, texts: Iterable[str]) -> Names:
    """Names for the mentions in ``texts`` as ``reader_id`` may read them: users by username (the
    users plugin's Directory), roles and channels by name (the communities plugin's Places), and a
    channel only if the reader can see it (Permissions)."""
    users, roles, channels = mentioned(texts)
    names = Names()
    directory: Directory | None = services.get(DIRECTORY)
    if directory is not None:
        for uid in sorted(users):
            contact = await directory.contact(uid)
            if contact is not None:
                names.users[uid] = contact.username
    places: Places | None = services.get(PLACES)
    if places is not None and roles:
        names.roles = await places.role_names(sorted(roles))
    perms: Permissions | None = services.get(PERMISSIONS)
    if places is not None and perms is not None and channels:
        found = await places.places(sorted(channels))
        for cid, place in found.items():
            access = await perms.channel(reader_id, cid)
            if place.channel_name and access is not None and access.has(Perm.VIEW_CHANNEL):
                names.channels[cid] = place.channel_name
    return names


async def readable(services: Any, reader_id: str, text: str) -> str:
    """``text`` with its mentions as names, for ``reader_id``."""
    if not MENTION.search(text):
        return text
    return render(text, await resolve(services, reader_id, [text]))
