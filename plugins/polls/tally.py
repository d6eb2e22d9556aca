"""Counting a poll: a pure function of its rows (the poll, its vote events, its end events), so two
nodes holding the same events show the same counts whatever order the events arrived in."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryb_node.clock import wall_ms

POLL_COLUMNS = (
    "id, community_id, channel_id, target_type, author_id, question, answers, multiple, anonymous,"
    " created_at, closes_at, deleted"
)
VOTE_COLUMNS = "user_id, channel_id, choices, hlc, event_id"
END_COLUMNS = "author_id, moderator, hlc, event_id"


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
    def of(cls, row: Sequence[Any]) -> PollRow:
        return cls(
            row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]), bool(row[7]),
            bool(row[8]), row[9], row[10], bool(row[11]),
        )  # fmt: skip


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


def first_end(poll: PollRow, ends: Iterable[Sequence[Any]]) -> tuple[int, bytes, str] | None:
    """The earliest end by someone allowed to end it: (hlc, event id, author)."""
    valid = [
        (hlc, bytes(eid), who) for who, moderator, hlc, eid in ends if moderator or who == poll.author_id
    ]
    return min(valid) if valid else None


def closes(poll: PollRow, end: tuple[int, bytes, str] | None, hlc: int, eid: bytes) -> bool:
    """True if a vote at (hlc, eid) comes after the poll closed (its deadline or an early end)."""
    return wall_ms(hlc) >= poll.closes_at or (end is not None and (end[0], end[1]) <= (hlc, eid))


def count(poll: PollRow, votes: Iterable[Sequence[Any]], ends: Iterable[Sequence[Any]]) -> Result:
    end = first_end(poll, ends)
    latest: dict[str, tuple[int, bytes, list[int]]] = {}
    for user_id, channel_id, raw, hlc, eid in votes:
        eid = bytes(eid)
        choices = json.loads(raw)
        # What the kind's authorize refuses when the poll is known: a vote that arrived before its
        # poll was stored unchecked, and is left out here instead.
        if channel_id != poll.channel_id or choices_ok(poll, choices) or closes(poll, end, hlc, eid):
            continue
        have = latest.get(user_id)
        if have is None or (hlc, eid) > (have[0], have[1]):
            latest[user_id] = (hlc, eid, choices)
    counts = [0] * len(poll.answers)
    ballots: dict[str, list[int]] = {}
    for user_id, (_, _, choices) in latest.items():
        if choices:
            ballots[user_id] = choices
            for c in choices:
                counts[c] += 1
    ended_at = wall_ms(end[0]) if end is not None else None
    return Result(counts, len(ballots), ballots, ended_at, end[2] if end is not None else None)


def load(conn: Any, poll_id: str) -> tuple[PollRow, Result] | None:
    """The poll and its count, read on a sqlite3 connection (projections, the writer)."""
    row = conn.execute(f"SELECT {POLL_COLUMNS} FROM polls WHERE id = ?", (poll_id,)).fetchone()
    if row is None:
        return None
    poll = PollRow.of(row)
    votes = conn.execute(f"SELECT {VOTE_COLUMNS} FROM poll_votes WHERE poll_id = ?", (poll_id,)).fetchall()
    ends = conn.execute(f"SELECT {END_COLUMNS} FROM poll_ends WHERE poll_id = ?", (poll_id,)).fetchall()
    return poll, count(poll, votes, ends)
