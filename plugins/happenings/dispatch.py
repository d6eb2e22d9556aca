"""Realtime: a scheduled event that changed reaches the open pages of the community's members as
SCHEDULED_EVENT_UPDATE, each with that member's own answer (my_rsvp)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from cryb_node.events import Event
from cryb_node.problems import Problem
from cryb_node.realtime.protocol import Dispatch, Dispatcher

from . import events as e

if TYPE_CHECKING:
    from .service import Happenings

NAME = "SCHEDULED_EVENT_UPDATE"


def dispatchers(svc: Happenings) -> Mapping[str, Dispatcher]:
    def each(event_id: str) -> Callable[[str], Awaitable[tuple[str, Any] | None]]:
        async def frame(user_id: str) -> tuple[str, Any] | None:
            try:
                return NAME, msgspec.to_builtins(await svc.get(user_id, event_id))
            except Problem:
                return None  # not (yet) listed: an edit ahead of its create

        return frame

    def changed(ev: Event) -> Dispatch | None:
        if ev.refused is not None or ev.body.community is None:
            return None
        eid = e.event_id(ev) if ev.kind == e.CREATE else ev.body.target
        if eid is None:
            return None
        return Dispatch(NAME, None, community_id=ev.body.community, each=each(eid))

    return dict.fromkeys(e.KINDS, changed)
