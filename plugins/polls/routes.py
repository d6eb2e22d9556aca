"""HTTP routes of polls: read them (one, or those of a page of messages or posts), vote, end early,
list voters. A poll is made with its message or post (content's send and create take ``poll``)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from cryb_node.http.api import Api, Call
from cryb_node.node import Node

from . import schemas as s


class VotersQuery(msgspec.Struct, forbid_unknown_fields=True):
    answer: Annotated[int, Meta(ge=0, le=9)] | None = None


def routes(api: Api, node: Node) -> None:
    from . import polls

    @api.route("GET", "/api/v1/polls", query=s.PollIds, response=s.PollList)
    async def list_polls(call: Call) -> s.PollList:
        """The polls of up to 100 messages or posts (ids without a visible poll are left out)."""
        return await polls(node).many(call.viewer_id, call.query.ids.split(","))

    @api.route("GET", "/api/v1/polls/{poll_id}", response=s.PollOut)
    async def get_poll(call: Call) -> s.PollOut:
        """A poll with its counts and your vote (its id is its message's or post's)."""
        return await polls(node).get(call.viewer_id, call.path("poll_id"))

    @api.route("PUT", "/api/v1/polls/{poll_id}/vote", body=s.PollVoteIn, response=s.PollOut, auth="required",
               bucket="write")  # fmt: skip
    async def vote(call: Call) -> s.PollOut:
        """Set your whole vote (answer indexes; [] withdraws it) while the poll is open."""
        return await polls(node).vote(call.user_id, call.path("poll_id"), call.body.choices)

    @api.route("POST", "/api/v1/polls/{poll_id}/end", response=s.PollOut, auth="required", bucket="write")
    async def end(call: Call) -> s.PollOut:
        """End a poll early (its author, or a member with MANAGE_MESSAGES)."""
        return await polls(node).end(call.user_id, call.path("poll_id"))

    @api.route("GET", "/api/v1/polls/{poll_id}/voters", query=VotersQuery, response=s.VoterList)
    async def voters(call: Call) -> s.VoterList:
        """Who voted what (not for an anonymous poll); ?answer= keeps one answer's voters."""
        return await polls(node).voters(call.viewer_id, call.path("poll_id"), call.query.answer)
