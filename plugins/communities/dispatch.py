"""Realtime: committed governance events -> what open sockets of the community's members receive.

Channel lists and permissions differ per member, so most frames are made per recipient (Dispatch.each)
from the projection as it stands after the event: a channel a member may view arrives as
CHANNEL_CREATE / CHANNEL_UPDATE with their own ``perms``; one hidden from them now arrives as
CHANNEL_DELETE (its id only: nothing of a channel they may not see). Names and payloads are listed
in docs/gateway.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from cryb_node.events import Event
from cryb_node.realtime.protocol import Dispatch, Dispatcher

from .service import Actor

if TYPE_CHECKING:
    from .service import Communities

Frame = tuple[str, Any] | None


def _channel(
    svc: Communities, community_id: str, channel_id: str, hidden: str | None
) -> Callable[[str], Awaitable[Frame]]:
    """The channel as this member sees it now; ``hidden`` names the frame for a member who may not."""

    async def each(user_id: str) -> Frame:
        out = await svc.channel_out(Actor(user_id), channel_id, quiet=True)
        if out is not None:
            return ("CHANNEL_CREATE" if hidden is None else "CHANNEL_UPDATE", msgspec.to_builtins(out))
        return None if hidden is None else (hidden, {"id": channel_id, "community_id": community_id})

    return each


def _all_channels(svc: Communities, community_id: str) -> Callable[[str], Awaitable[Frame]]:
    """A change that can move any channel's permissions (roles, reordering): the whole list."""

    async def each(user_id: str) -> Frame:
        listed = await svc.channels(Actor(user_id), community_id)
        data = {"community_id": community_id, "channels": msgspec.to_builtins(listed.channels)}
        return ("CHANNELS_UPDATE", data)

    return each


def _community(svc: Communities, community_id: str) -> Callable[[str], Awaitable[Frame]]:
    async def each(user_id: str) -> Frame:
        return ("COMMUNITY_UPDATE", msgspec.to_builtins(await svc.get(Actor(user_id), community_id)))

    return each


def _member(svc: Communities, community_id: str, user_id: str) -> Callable[[str], Awaitable[Frame]]:
    async def each(viewer: str) -> Frame:
        out = await svc.member(Actor(viewer), community_id, user_id)
        return ("COMMUNITY_MEMBER_UPDATE", {"community_id": community_id, **msgspec.to_builtins(out)})

    return each


def _cid(ev: Event) -> str:
    assert ev.body.community is not None  # every governance event names its community
    return ev.body.community


def _target(ev: Event) -> str:
    assert ev.body.target is not None  # channel and member events name their channel or member
    return ev.body.target


def dispatchers(svc: Communities) -> Mapping[str, Dispatcher]:
    def community_update(ev: Event) -> Dispatch:
        cid = _cid(ev)
        return Dispatch("COMMUNITY_UPDATE", None, community_id=cid, each=_community(svc, cid))

    def channel_create(ev: Event) -> Dispatch:
        cid, ch = _cid(ev), _target(ev)
        return Dispatch("CHANNEL_CREATE", None, community_id=cid, each=_channel(svc, cid, ch, None))

    def channel_changed(ev: Event) -> Dispatch:
        # An update or an overwrite: visible ones get the new channel, members who lost it a delete.
        cid, ch = _cid(ev), _target(ev)
        return Dispatch(
            "CHANNEL_UPDATE", None, community_id=cid, each=_channel(svc, cid, ch, "CHANNEL_DELETE")
        )

    def channel_delete(ev: Event) -> Dispatch:
        cid = _cid(ev)
        return Dispatch("CHANNEL_DELETE", {"id": ev.body.target, "community_id": cid}, community_id=cid)

    def channels_moved(ev: Event) -> Dispatch:
        cid = _cid(ev)
        return Dispatch("CHANNELS_UPDATE", None, community_id=cid, each=_all_channels(svc, cid))

    def member_changed(ev: Event) -> list[Dispatch]:
        # The member's own channels and permissions (a role or a timeout), and everyone's member list.
        cid, user = _cid(ev), _target(ev)
        return [
            Dispatch("CHANNELS_UPDATE", None, users=frozenset({user}), each=_all_channels(svc, cid)),
            Dispatch("COMMUNITY_MEMBER_UPDATE", None, community_id=cid, each=_member(svc, cid, user)),
        ]

    def member_join(ev: Event) -> Dispatch:
        cid = _cid(ev)
        data = {"community_id": cid, "user_id": ev.body.target}
        return Dispatch("COMMUNITY_MEMBER_ADD", data, community_id=cid, membership_of=ev.body.target)

    def member_gone(ev: Event) -> list[Dispatch]:
        # The one who left is no member any more: told by name, the others as members.
        cid = _cid(ev)
        user = _target(ev)
        data = {"community_id": cid, "user_id": user}
        return [
            Dispatch("COMMUNITY_MEMBER_REMOVE", data, users=frozenset({user}), membership_of=user),
            Dispatch("COMMUNITY_MEMBER_REMOVE", data, community_id=cid, exclude_user=user),
        ]

    return {
        "community.update": community_update,
        "channel.create": channel_create,
        "channel.update": channel_changed,
        "overwrite.set": channel_changed,
        "overwrite.delete": channel_changed,
        "channel.delete": channel_delete,
        "channel.reorder": channels_moved,
        "role.update": channels_moved,
        "role.delete": channels_moved,
        "role.assign": member_changed,
        "role.unassign": member_changed,
        "member.timeout": member_changed,
        "member.join": member_join,
        "member.leave": member_gone,
        "member.kick": member_gone,
        "member.ban": member_gone,
    }
