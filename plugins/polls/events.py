"""The polls plugin's event kinds (poll.vote, poll.end), their own rules and projections, and its
projections of content's kinds (a message or post carrying a poll, and its delete).

Every vote event's body carries community, author (the voter) and target (the poll's id, which is
its message's or post's id). The communities rule book decides who may vote in the channel the
payload names (VIEW_CHANNEL and READ_HISTORY; MANAGE_MESSAGES to end another's poll); ``authorize``
here decides what only the poll knows (its channel, answers, deadline, end), the same on every node.
"""

from __future__ import annotations

import json
from typing import Annotated

import msgspec
from msgspec import Meta

from cryb_node.clock import wall_ms
from cryb_node.db import Connection
from cryb_node.events import Event, EventBody, EventType, Projection
from cryb_node.refusals import Refusal
from cryb_node.refusals import record as record_refusal

from . import queries, tally


class PollVote(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A voter's whole current vote (answer indexes; [] withdraws it): their latest one counts."""

    channel_id: str
    choices: Annotated[list[int], Meta(max_length=10)] = []


class PollEnd(msgspec.Struct, kw_only=True, omit_defaults=True):
    channel_id: str
    moderator: bool = False  # ended by a MANAGE_MESSAGES holder, not the poll's author


def authorize_vote(conn: Connection, ev: Event) -> Refusal | None:
    b, p = ev.body, ev.payload
    if b.author is None or b.community is None or b.target is None:
        return Refusal("invalid_event", "a vote names its voter, community and poll")
    if p is None:
        return None  # erased: nothing to count
    poll = queries.poll(conn, b.target)
    if poll is None:
        return None  # its poll has not arrived yet: the tally checks the vote when it has
    if poll.deleted:
        return Refusal("not_found", "the poll was deleted")
    if poll.channel_id != p.channel_id or poll.community_id != b.community:
        return Refusal("invalid_event", "the vote names another channel than its poll's")
    if (why := tally.choices_ok(poll, p.choices)) is not None:
        return Refusal("invalid_choice", why)
    if tally.closes(poll, tally.first_end(poll, queries.ends(conn, poll.id)), b.hlc, ev.id):
        return Refusal("poll_closed", "the poll was closed at the vote's time")
    return None


def authorize_end(conn: Connection, ev: Event) -> Refusal | None:
    b, p = ev.body, ev.payload
    if b.author is None or b.community is None or b.target is None:
        return Refusal("invalid_event", "an end names its author, community and poll")
    if p is None:
        return None
    poll = queries.poll(conn, b.target)
    if poll is None:
        return None
    if poll.channel_id != p.channel_id:
        return Refusal("invalid_event", "the end names another channel than its poll's")
    if not p.moderator and b.author != poll.author_id:
        return Refusal("forbidden", "only the poll's author (or a moderator) ends it")
    return None


_decode_body = msgspec.msgpack.Decoder(EventBody).decode


def _recheck(conn: Connection, poll_id: str) -> None:
    """Votes and ends that arrived before what decides them (their poll, an earlier end) are judged
    now as ``authorize`` would have judged them in log order: the refused ones are withdrawn and
    recorded, so every node ends with the same refusals whatever the arrival order."""
    for table, payload_type, rule in (
        ("poll_ends", PollEnd, authorize_end),
        ("poll_votes", PollVote, authorize_vote),
    ):
        for row in queries.stored(conn, table, poll_id):
            if row["content"] is None:
                continue
            payload = msgspec.msgpack.decode(row["content"], type=payload_type)
            ev = Event(pos=0, id=bytes(row["id"]), body=_decode_body(row["body"]), payload=payload)
            refusal = rule(conn, ev)
            if refusal is not None:
                record_refusal(conn, ev, refusal)
                queries.withdraw(conn, table, ev.id)


def _note(conn: Connection, ev: Event, poll_id: str) -> None:
    got = queries.load(conn, poll_id)
    if got is not None:
        ev.notes["poll"] = got


def apply_vote(conn: Connection, ev: Event) -> None:
    b, p = ev.body, ev.payload
    queries.insert_vote(
        conn, event_id=ev.id, poll_id=b.target, community_id=b.community, channel_id=p.channel_id,
        user_id=b.author, choices=json.dumps(p.choices), hlc=b.hlc,
    )  # fmt: skip
    _note(conn, ev, b.target or "")


def apply_end(conn: Connection, ev: Event) -> None:
    b, p = ev.body, ev.payload
    queries.insert_end(
        conn, event_id=ev.id, poll_id=b.target, community_id=b.community, author_id=b.author,
        moderator=p.moderator, hlc=b.hlc,
    )  # fmt: skip
    _recheck(conn, b.target or "")  # votes after this end that arrived before it
    _note(conn, ev, b.target or "")


def on_create(target_type: str) -> Projection:
    def project(conn: Connection, ev: Event) -> None:
        poll = getattr(ev.payload, "poll", None)
        b = ev.body
        if poll is None or b.community is None or b.author is None or b.target is None:
            return
        created = wall_ms(b.hlc)
        answers = json.dumps([msgspec.to_builtins(a) for a in poll.answers])
        queries.insert_poll(
            conn,
            {
                "id": b.target,
                "community_id": b.community,
                "channel_id": ev.payload.channel_id,
                "target_type": target_type,
                "author_id": b.author,
                "question": poll.question,
                "answers": answers,
                "multiple": int(poll.multiple),
                "anonymous": int(poll.anonymous),
                "created_at": created,
                "closes_at": created + poll.duration_s * 1000,
            },
        )
        _recheck(conn, b.target)  # votes and ends that arrived before their poll

    return project


def on_delete(conn: Connection, ev: Event) -> None:
    # Only the author deletes (a moderator hides, which content's own reads account for).
    queries.mark_deleted(conn, ev.body.target, ev.body.author)


PROJECTIONS: dict[str, Projection] = {
    "message.create": on_create("message"),
    "post.create": on_create("post"),
    "message.delete": on_delete,
    "post.delete": on_delete,
}


def event_types() -> list[EventType]:
    return [
        EventType("poll.vote", PollVote, apply=apply_vote, authorize=authorize_vote),
        EventType("poll.end", PollEnd, apply=apply_end, authorize=authorize_end),
    ]


def clear_community(conn: Connection, community_id: str) -> None:
    queries.clear_community(conn, community_id)
