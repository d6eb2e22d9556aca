"""The polls' rules as the API applies them: who may see a poll, vote in it, end it or list its voters
(the Permissions service decides the channel), and the answers read from the projections."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cryb_node.events import Tx
from cryb_node.problems import Problem, forbidden, not_found
from cryb_node.services import CONTENT_TARGETS, PERMISSIONS, ChannelAccess, Perm

from . import queries, tally
from . import schemas as s
from .events import PollEnd, PollVote

if TYPE_CHECKING:
    from cryb_node.node import Node

MAX_IDS = 100


def poll_out(
    poll: tally.PollRow, result: tally.Result, viewer: str | None, can_end: bool, now: int
) -> s.PollOut:
    mine = set(result.ballots.get(viewer or "", ()))
    answers = [
        s.PollAnswerOut(text=a["text"], emoji=a.get("emoji"), count=n, me=i in mine)
        for i, (a, n) in enumerate(zip(poll.answers, result.counts, strict=True))
    ]
    closed = result.ended_at is not None or now >= poll.closes_at
    return s.PollOut(
        id=poll.id, target_type=poll.target_type, channel_id=poll.channel_id, community_id=poll.community_id,
        author_id=poll.author_id, question=poll.question, answers=answers, multiple=poll.multiple,
        anonymous=poll.anonymous, voters=result.voters, created_at=poll.created_at,
        closes_at=poll.closes_at, ended_at=result.ended_at, closed=closed, can_end=can_end and not closed,
    )  # fmt: skip


class Polls:
    def __init__(self, node: Node) -> None:
        self.node = node

    async def _access(self, user_id: str | None, channel_id: str) -> ChannelAccess | None:
        perms = self.node.services.get(PERMISSIONS)
        return await perms.channel(user_id, channel_id) if perms is not None else None

    async def _visible(
        self, user_id: str | None, poll_id: str
    ) -> tuple[tally.PollRow, tally.Result, ChannelAccess]:
        """The poll if the caller may read its channel's history; a hidden one is not found."""
        got = await queries.read(self.node.db, poll_id)
        if got is None:
            raise not_found("poll")
        poll, result = got
        if poll.deleted:
            raise not_found("poll")
        access = await self._access(user_id, poll.channel_id)
        if access is None or not access.has(Perm.VIEW_CHANNEL | Perm.READ_HISTORY):
            raise not_found("poll")
        # Its message or post as content shows it: gone when deleted, hidden by a moderator or a
        # ban's purge from all but moderators.
        targets = self.node.services.get(CONTENT_TARGETS)
        ref = await targets.find(poll.target_type, poll_id) if targets is not None else None
        if ref is None or (ref.removed and not access.has(Perm.MANAGE_MESSAGES)):
            raise not_found("poll")
        return poll, result, access

    @staticmethod
    def _can_end(poll: tally.PollRow, user_id: str | None, access: ChannelAccess) -> bool:
        return (
            user_id is not None
            and access.member
            and (user_id == poll.author_id or access.has(Perm.MANAGE_MESSAGES))
        )

    async def get(self, user_id: str | None, poll_id: str) -> s.PollOut:
        poll, result, access = await self._visible(user_id, poll_id)
        can_end = self._can_end(poll, user_id, access)
        return poll_out(poll, result, user_id, can_end, self.node.clock.time_ms())

    async def many(self, user_id: str | None, ids: Sequence[str]) -> s.PollList:
        wanted = list(dict.fromkeys(i for i in ids if i))[:MAX_IDS]
        if not wanted:
            return s.PollList([])
        # Most ids of a page of messages carry no poll: find those that do in one query.
        found = await queries.with_polls(self.node.db, wanted)
        out: list[s.PollOut] = []
        for pid in (i for i in wanted if i in found):
            try:
                out.append(await self.get(user_id, pid))
            except Problem:
                continue  # no poll there, or not one this caller may see: simply absent
        return s.PollList(out)

    async def vote(self, user_id: str, poll_id: str, choices: list[int]) -> s.PollOut:
        poll, _, access = await self._visible(user_id, poll_id)
        if not access.member:
            raise forbidden("join the community first")
        if access.timed_out_until and access.timed_out_until > self.node.clock.time_ms():
            raise Problem("timed_out", 403, "you are timed out in this community")
        if len(choices) > (len(poll.answers) if poll.multiple else 1):
            raise Problem("too_many_choices", 400, "this poll takes one answer" if not poll.multiple
                          else "more answers than the poll has", field="choices")  # fmt: skip
        if (why := tally.choices_ok(poll, choices)) is not None:
            raise Problem("invalid_choice", 400, why, field="choices")
        payload = PollVote(channel_id=poll.channel_id, choices=choices)

        def write(tx: Tx) -> None:
            got = queries.load(tx.conn, poll_id)
            assert got is not None
            _, current = got
            if current.ended_at is not None or self.node.clock.time_ms() >= poll.closes_at:
                raise Problem("poll_closed", 409, "this poll is closed")
            if current.ballots.get(user_id, []) == choices:
                return  # already the vote: nothing to record
            tx.append("poll.vote", payload, community=poll.community_id, author=user_id, target=poll_id)

        await self.node.events.transaction(write)
        return await self.get(user_id, poll_id)

    async def end(self, user_id: str, poll_id: str) -> s.PollOut:
        poll, result, access = await self._visible(user_id, poll_id)
        if not self._can_end(poll, user_id, access):
            raise forbidden("only the poll's author or a member with MANAGE_MESSAGES ends it")
        if result.ended_at is not None or self.node.clock.time_ms() >= poll.closes_at:
            raise Problem("poll_closed", 409, "this poll is closed")
        payload = PollEnd(channel_id=poll.channel_id, moderator=user_id != poll.author_id)
        await self.node.events.append(
            "poll.end", payload, community=poll.community_id, author=user_id, target=poll_id
        )
        return await self.get(user_id, poll_id)

    async def voters(self, user_id: str | None, poll_id: str, answer: int | None) -> s.VoterList:
        poll, result, _ = await self._visible(user_id, poll_id)
        if poll.anonymous:
            raise Problem("anonymous_poll", 403, "this poll does not show who voted")
        return s.VoterList(
            [s.Voter(u, c) for u, c in sorted(result.ballots.items()) if answer is None or answer in c]
        )
