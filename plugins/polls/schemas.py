"""Request and response bodies of the polls routes (the OpenAPI document is derived from them)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class PollVoteIn(Body):
    """Your whole vote: the answers' indexes ([] withdraws it)."""

    choices: Annotated[list[Annotated[int, Meta(ge=0, le=9)]], Meta(max_length=10)]


class PollIds(msgspec.Struct, forbid_unknown_fields=True):
    ids: Annotated[str, Meta(min_length=1, max_length=2700, description="comma-separated message/post ids")]


class PollAnswerOut(msgspec.Struct, kw_only=True):
    text: str
    emoji: str | None
    count: int
    me: bool  # your current vote names it


class PollOut(msgspec.Struct, kw_only=True):
    id: str  # the message's or post's id
    target_type: str  # message | post
    channel_id: str
    community_id: str
    author_id: str
    question: str
    answers: list[PollAnswerOut]
    multiple: bool
    anonymous: bool
    voters: int
    created_at: int  # ms
    closes_at: int  # ms: the deadline
    ended_at: int | None  # ms: ended early (by its author or a moderator)
    closed: bool  # no more votes (deadline passed or ended)
    can_end: bool  # you may end it early


class PollList(msgspec.Struct):
    polls: list[PollOut]  # those of the ids that carry a poll you may see


class Voter(msgspec.Struct):
    user_id: str
    choices: list[int]


class VoterList(msgspec.Struct):
    voters: list[Voter]
