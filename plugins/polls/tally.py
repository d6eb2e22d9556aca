"""Counting a poll: a pure function of its rows (the poll, its vote events, its end events), so two
nodes holding the same events show the same counts whatever order the events arrived in."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from cryb_node.clock import wall_ms


@dataclass(frozen=True, slots=True)
class PollRow:
    id: str
    community_id: str
    channel_id: str
    target_type: str
    author_id: str
    question: str
    answers: list[dict[str, Any]]
    multiple: bool
    anonymous: bool
    created_at: int
    closes_at: int
    deleted: bool

    @classmethod
    def of(cls, row: Any) -> PollRow:
        """From a row of queries.POLL."""
        return cls(
            id=row["id"],
            community_id=row["community_id"],
            channel_id=row["channel_id"],
            target_type=row["target_type"],
            author_id=row["author_id"],
            question=row["question"],
            answers=json.loads(row["answers"]),
            multiple=bool(row["multiple"]),
            anonymous=bool(row["anonymous"]),
            created_at=row["created_at"],
            closes_at=row["closes_at"],
            deleted=bool(row["deleted"]),
        )


class End(NamedTuple):
    """A poll's early end; ordered as the ends are compared (the earliest wins)."""

    hlc: int
    event_id: bytes
    author_id: str


@dataclass(frozen=True, slots=True)
class Result:
    counts: list[int]  # per answer
    voters: int  # members whose current vote names at least one answer
    ballots: dict[str, list[int]]  # user id -> their answers (never sent for anonymous polls)
    ended_at: int | None  # ms, an early end
    ended_by: str | None


def choices_ok(poll: PollRow, choices: Sequence[int]) -> str | None:
    """Why a vote's answers are not valid for this poll (None: they are)."""
    if len(set(choices)) != len(choices):
        return "an answer is named twice"
    if any(c < 0 or c >= len(poll.answers) for c in choices):
        return "no such answer"
    if not poll.multiple and len(choices) > 1:
        return "this poll takes one answer"
    return None


def first_end(poll: PollRow, ends: Iterable[Any]) -> End | None:
    """The earliest end by someone allowed to end it (``ends``: rows of queries.ENDS)."""
    valid = [
        End(e["hlc"], bytes(e["event_id"]), e["author_id"])
        for e in ends
        if e["moderator"] or e["author_id"] == poll.author_id
    ]
    return min(valid) if valid else None


def closes(poll: PollRow, end: End | None, hlc: int, eid: bytes) -> bool:
    """True if a vote at (hlc, eid) comes after the poll closed (its deadline or an early end)."""
    return wall_ms(hlc) >= poll.closes_at or (end is not None and (end.hlc, end.event_id) <= (hlc, eid))


def count(poll: PollRow, votes: Iterable[Any], ends: Iterable[Any]) -> Result:
    """``votes`` and ``ends``: rows of queries.VOTES and queries.ENDS."""
    end = first_end(poll, ends)
    latest: dict[str, tuple[int, bytes, list[int]]] = {}
    for v in votes:
        user_id, hlc, eid = v["user_id"], v["hlc"], bytes(v["event_id"])
        choices = json.loads(v["choices"])
        # What the kind's authorize refuses when the poll is known: a vote that arrived before its
        # poll was stored unchecked, and is left out here instead.
        if v["channel_id"] != poll.channel_id or choices_ok(poll, choices) or closes(poll, end, hlc, eid):
            continue
        have = latest.get(user_id)
        if have is None or (hlc, eid) > have[:2]:
            latest[user_id] = (hlc, eid, choices)
    counts = [0] * len(poll.answers)
    ballots: dict[str, list[int]] = {}
    for user_id, (_, _, choices) in latest.items():
        if choices:
            ballots[user_id] = choices
            for c in choices:
                counts[c] += 1
    ended_at = wall_ms(end.hlc) if end is not None else None
    return Result(counts, len(ballots), ballots, ended_at, end.author_id if end is not None else None)
