"""POLL_UPDATE: a vote or an end, with the poll's new counts, to those who may read its channel. An
anonymous poll's update never names the voter."""

from __future__ import annotations

from collections.abc import Mapping

from cryb_node.events import Event
from cryb_node.realtime.protocol import Dispatch, Dispatcher
from cryb_node.services import Perm

from . import tally


def poll_update(ev: Event) -> Dispatch | None:
    got: tuple[tally.PollRow, tally.Result] | None = ev.notes.get("poll")
    if got is None or ev.refused is not None:
        return None
    poll, result = got
    data = {
        "id": poll.id,
        "channel_id": poll.channel_id,
        "community_id": poll.community_id,
        "counts": result.counts,
        "voters": result.voters,
        "closes_at": poll.closes_at,
        "ended_at": result.ended_at,
    }
    if not poll.anonymous and ev.kind == "poll.vote" and ev.body.author is not None:
        data["user_id"] = ev.body.author
        data["choices"] = result.ballots.get(ev.body.author, [])
    return Dispatch(
        "POLL_UPDATE", data, community_id=poll.community_id, channel_id=poll.channel_id,
        perm=Perm.VIEW_CHANNEL | Perm.READ_HISTORY,
    )  # fmt: skip


def dispatchers() -> Mapping[str, Dispatcher]:
    return {"poll.vote": poll_update, "poll.end": poll_update}
