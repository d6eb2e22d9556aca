"""Projections: content events -> the rows the API reads, independent of arrival order.

Each event lands first in a side table that only grows (edits, deletes, moderator flags, reaction
tags, votes); a target's row is then "settled": recomputed from its create plus those side tables.
Because a settled row is a function of WHICH events exist, federation may deliver them in any order
(a delete before its create, an old edit after a new one) and every node shows the same thing:
creates are immutable; the author's edit with the highest (hlc, event id) wins; an author's delete
is final; moderator flags go to the highest (rank, hlc, event id); reactions are add-wins sets; a
user's vote on a target is their event with the highest (hlc, event id).

Erasure converges too: an author's delete erases the payloads of the target's create and edits
(the signed skeletons stay), and a create that arrives without its payload (erased at its origin,
or withheld) becomes the very same tombstone row once its author's delete is known, built from the
event bodies and the delete's payload. A node that held the text and one that never did end equal.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple

import msgspec

from cryb_node.clock import pack, wall_ms
from cryb_node.db import Connection
from cryb_node.events import Event, EventBody, EventType
from cryb_node.refusals import refused

from . import events as e
from . import ranking
from .erasure import erase, source, tombstone
from .render import markdown_html

_enc = msgspec.msgpack.Encoder().encode
EDIT_DECODERS: dict[str, msgspec.msgpack.Decoder[Any]] = {
    "message": msgspec.msgpack.Decoder(e.MessageEdit),
    "post": msgspec.msgpack.Decoder(e.PostEdit),
    "comment": msgspec.msgpack.Decoder(e.CommentEdit),
}
_TABLE = {"message": "content_messages", "post": "content_posts", "comment": "content_comments"}
_FLAGS = {
    "message": ("hidden", "pinned"),
    "post": ("hidden", "locked", "sticky"),
    "comment": ("hidden",),
}


# -- shared side tables -------------------------------------------------------------------------


class _Edit(NamedTuple):
    hlc: int
    payload: Any  # the kind's edit payload (EDIT_DECODERS)


def _winning_edit(conn: Connection, kind: str, target: str, author: str) -> _Edit | None:
    """The author's latest edit of ``target``. An edit event of another kind naming this id (a peer's
    mistake or malice) is not an edit of it and is skipped."""
    rows = conn.execute(
        "SELECT hlc, data FROM content_edits WHERE target_id = ? AND author_id = ?"
        " ORDER BY hlc DESC, event_id DESC",
        (target, author),
    )
    for r in rows:
        try:
            return _Edit(r["hlc"], EDIT_DECODERS[kind].decode(r["data"]))
        except msgspec.ValidationError:
            continue
    return None


def _deleted(conn: Connection, target: str, author: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM content_deletes WHERE target_id = ? AND author_id = ?", (target, author)
        ).fetchone()
        is not None
    )


def _flags(conn: Connection, kind: str, target: str) -> dict[str, int]:
    rows = conn.execute("SELECT field, value FROM content_mod WHERE target_id = ?", (target,)).fetchall()
    got = {r["field"]: r["value"] for r in rows}
    return {f: int(got.get(f, 0)) for f in _FLAGS[kind]}


def _purged(conn: Connection, community: str | None, author: str, hlc: int) -> int:
    if community is None:
        return 0
    row = conn.execute(
        "SELECT 1 FROM content_purges WHERE community_id = ? AND user_id = ? AND ? BETWEEN from_hlc"
        " AND to_hlc",
        (community, author, hlc),
    ).fetchone()
    return int(row is not None)


def _tally(conn: Connection, target: str) -> tuple[int, int]:
    row = conn.execute(
        "SELECT coalesce(sum(value = 1), 0) AS ups, coalesce(sum(value = -1), 0) AS downs FROM content_votes"
        " WHERE target_id = ?",
        (target,),
    ).fetchone()
    return int(row["ups"]), int(row["downs"])


# -- settling one target ------------------------------------------------------------------------


def settle_message(conn: Connection, mid: str) -> None:
    row = conn.execute(
        "SELECT author_id, community_id, channel_id, hlc, edited_hlc, deleted, mentions, mention_everyone,"
        " thread_id FROM content_messages WHERE id = ?",
        (mid,),
    ).fetchone()
    if row is None:
        return
    author, community, channel, hlc = row["author_id"], row["community_id"], row["channel_id"], row["hlc"]
    edited, thread = row["edited_hlc"], row["thread_id"]
    sets: dict[str, Any] = {}
    deleted = row["deleted"] or _deleted(conn, mid, author)
    if deleted:
        # The same tombstone whatever arrived before the delete (an edit may or may not have).
        sets.update(deleted=1, content="", original=None, edited_hlc=None, attachments="[]", mentions="[]")
        sets.update(mention_roles="[]", mention_everyone=0, reply_to=None, thread_id=None)
        erase(conn, mid)
    else:
        win = _winning_edit(conn, "message", mid, author)
        if win is not None and (edited is None or win.hlc > edited):
            p: e.MessageEdit = win.payload
            if edited is None:
                # Before the first edit applies, the row still holds the create's text.
                conn.execute("UPDATE content_messages SET original = content WHERE id = ?", (mid,))
            sets.update(
                edited_hlc=win.hlc,
                content=p.content,
                attachments=json.dumps(p.attachments),
                mentions=json.dumps(p.mentions),
                mention_roles=json.dumps(p.mention_roles),
                mention_everyone=int(p.mention_everyone),
            )
    sets.update(_flags(conn, "message", mid))
    sets["purged"] = _purged(conn, community, author, hlc)
    _update(conn, "content_messages", mid, sets)
    # Mention rows follow the visible text.
    for uid in json.loads(row["mentions"]) + (["*"] if row["mention_everyone"] else []):
        conn.execute(
            "DELETE FROM content_mentions WHERE channel_id = ? AND user_id = ? AND hlc = ? AND"
            " message_id = ?",
            (channel, uid, hlc, mid),
        )
    cur = conn.execute(
        "SELECT mentions, mention_everyone, deleted + hidden + purged AS gone FROM content_messages"
        " WHERE id = ?",
        (mid,),
    ).fetchone()
    if not cur["gone"]:
        for uid in json.loads(cur["mentions"]) + (["*"] if cur["mention_everyone"] else []):
            conn.execute(
                "INSERT OR IGNORE INTO content_mentions (channel_id, user_id, hlc, message_id)"
                " VALUES (?, ?, ?, ?)",
                (channel, uid, hlc, mid),
            )
    # Its own thread (replies may have arrived first) and the thread it belongs to.
    _settle_thread(conn, channel, thread if thread is not None else mid)
    if thread is not None:
        _settle_thread(conn, channel, mid)


def _settle_thread(conn: Connection, channel: str, root: str) -> None:
    conn.execute(
        "UPDATE content_messages SET (thread_count, thread_last_hlc) = (SELECT count(*), max(hlc)"
        " FROM content_messages WHERE channel_id = ?1 AND thread_id = ?2 AND deleted = 0 AND hidden = 0"
        " AND purged = 0) WHERE id = ?2",
        (channel, root),
    )


def settle_post(conn: Connection, pid: str) -> None:
    row = conn.execute(
        "SELECT author_id, community_id, hlc, edited_hlc, deleted FROM content_posts WHERE id = ?", (pid,)
    ).fetchone()
    if row is None:
        return
    author, community, hlc, edited = row["author_id"], row["community_id"], row["hlc"], row["edited_hlc"]
    sets: dict[str, Any] = {}
    deleted = row["deleted"] or _deleted(conn, pid, author)
    if deleted:
        sets.update(deleted=1, title="[deleted]", body="", body_html="", url=None, tags="[]", edited_hlc=None)
        sets.update(nsfw=0, spoiler=0, attachments="[]")
        erase(conn, pid)
    else:
        win = _winning_edit(conn, "post", pid, author)
        if win is not None and (edited is None or win.hlc > edited):
            p: e.PostEdit = win.payload
            sets.update(
                edited_hlc=win.hlc,
                body=p.body,
                body_html=markdown_html(p.body),
                url=p.url,
                tags=json.dumps(p.tags),
                nsfw=int(p.nsfw),
                spoiler=int(p.spoiler),
            )
    sets.update(_flags(conn, "post", pid))
    sets["purged"] = _purged(conn, community, author, hlc)
    ups, downs = _tally(conn, pid)
    sets.update(
        ups=ups,
        downs=downs,
        score=ups - downs,
        hot=ranking.hot(ups, downs, wall_ms(hlc)),
        controversy=ranking.controversy(ups, downs),
    )
    sets["comment_count"] = conn.execute(
        "SELECT count(*) FROM content_comments WHERE post_id = ? AND deleted = 0 AND hidden = 0 AND"
        " purged = 0",
        (pid,),
    ).fetchone()[0]
    _update(conn, "content_posts", pid, sets)


def settle_comment(conn: Connection, cid: str) -> None:
    row = conn.execute(
        "SELECT author_id, community_id, hlc, edited_hlc, deleted, post_id FROM content_comments"
        " WHERE id = ?",
        (cid,),
    ).fetchone()
    if row is None:
        return
    author, community, hlc, edited = row["author_id"], row["community_id"], row["hlc"], row["edited_hlc"]
    sets: dict[str, Any] = {}
    deleted = row["deleted"] or _deleted(conn, cid, author)
    if deleted:
        sets.update(deleted=1, body="", body_html="", edited_hlc=None)
        erase(conn, cid)
    else:
        win = _winning_edit(conn, "comment", cid, author)
        if win is not None and (edited is None or win.hlc > edited):
            p: e.CommentEdit = win.payload
            sets.update(edited_hlc=win.hlc, body=p.body, body_html=markdown_html(p.body))
    sets.update(_flags(conn, "comment", cid))
    sets["purged"] = _purged(conn, community, author, hlc)
    ups, downs = _tally(conn, cid)
    sets.update(ups=ups, downs=downs, score=ups - downs)
    _update(conn, "content_comments", cid, sets)
    conn.execute(
        "UPDATE content_posts SET comment_count = (SELECT count(*) FROM content_comments WHERE post_id = ?1"
        " AND deleted = 0 AND hidden = 0 AND purged = 0) WHERE id = ?1",
        (row["post_id"],),
    )


SETTLE: dict[str, Callable[[Connection, str], None]] = {
    "message": settle_message,
    "post": settle_post,
    "comment": settle_comment,
}


def _update(conn: Connection, table: str, target: str, sets: dict[str, Any]) -> None:
    if sets:
        cols = ", ".join(f"{k} = ?" for k in sets)
        conn.execute(f"UPDATE {table} SET {cols} WHERE id = ?", (*sets.values(), target))


# -- per kind -----------------------------------------------------------------------------------


def _json_list(items: list[str]) -> str:
    return json.dumps(items) if items else "[]"  # most messages attach and mention nothing


def _message_create(conn: Connection, ev: Event) -> None:
    p: e.MessageCreate = ev.payload
    b = ev.body
    cur = conn.execute(
        "INSERT OR IGNORE INTO content_messages (id, channel_id, community_id, author_id, hlc, created_at,"
        " content, attachments, reply_to, thread_id, mentions, mention_roles, mention_everyone,"
        " integration, interaction) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            b.target, p.channel_id, b.community, b.author, b.hlc, wall_ms(b.hlc), p.content,
            _json_list(p.attachments), p.reply_to, p.thread_id, _json_list(p.mentions),
            _json_list(p.mention_roles), int(p.mention_everyone),
            msgspec.json.encode(p.integration).decode() if p.integration else None,
            msgspec.json.encode(p.interaction).decode() if p.interaction else None,
        ),
    )  # fmt: skip
    source(conn, ev)
    mid = b.target or ""
    if cur.rowcount and _first_news_of(conn, mid, p.channel_id, b.community, b.author or "", b.hlc):
        # The common case, in one look-up: nothing about this message arrived before it (no edit,
        # delete, moderation, ban purge or thread reply), so the row as inserted is settled; only
        # its mention rows and the thread it joins follow.
        everyone = ["*"] if p.mention_everyone else []
        conn.executemany(
            "INSERT OR IGNORE INTO content_mentions (channel_id, user_id, hlc, message_id)"
            " VALUES (?, ?, ?, ?)",
            [(p.channel_id, uid, b.hlc, mid) for uid in p.mentions + everyone],
        )
        if p.thread_id is not None:
            _settle_thread(conn, p.channel_id, p.thread_id)
    elif cur.rowcount or _deleted(conn, mid, b.author or ""):
        settle_message(conn, mid)


def _first_news_of(
    conn: Connection, mid: str, channel: str, community: str | None, author: str, hlc: int
) -> bool:
    """True if no event about message ``mid`` (or its author's ban window) was projected before it."""
    seen = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM content_deletes WHERE target_id = ?1)"
        " OR EXISTS (SELECT 1 FROM content_edits WHERE target_id = ?1)"
        " OR EXISTS (SELECT 1 FROM content_mod WHERE target_id = ?1)"
        " OR EXISTS (SELECT 1 FROM content_messages WHERE channel_id = ?2 AND thread_id = ?1)"
        " OR EXISTS (SELECT 1 FROM content_purges WHERE community_id = ?3 AND user_id = ?4"
        "  AND ?5 BETWEEN from_hlc AND to_hlc)",
        (mid, channel, community, author, hlc),
    ).fetchone()[0]
    return not seen


def _post_create(conn: Connection, ev: Event) -> None:
    p: e.PostCreate = ev.payload
    b = ev.body
    conn.execute(
        "INSERT OR IGNORE INTO content_posts (id, channel_id, community_id, author_id, hlc,"
        " created_at, title, body, body_html, url, tags, nsfw, spoiler, hot, attachments)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            b.target, p.channel_id, b.community, b.author, b.hlc, wall_ms(b.hlc), p.title, p.body,
            markdown_html(p.body), p.url, json.dumps(p.tags), int(p.nsfw), int(p.spoiler),
            ranking.hot(0, 0, wall_ms(b.hlc)), json.dumps(p.attachments),
        ),
    )  # fmt: skip
    source(conn, ev)
    settle_post(conn, b.target or "")


def _comment_create(conn: Connection, ev: Event) -> None:
    p: e.CommentCreate = ev.payload
    b = ev.body
    conn.execute(
        "INSERT OR IGNORE INTO content_comments (id, post_id, parent_id, channel_id, community_id, author_id,"
        " hlc, created_at, body, body_html) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            b.target, p.post_id, p.parent_id, p.channel_id, b.community, b.author, b.hlc, wall_ms(b.hlc),
            p.body, markdown_html(p.body),
        ),
    )  # fmt: skip
    source(conn, ev)
    settle_comment(conn, b.target or "")


def _edit(kind: str) -> Callable[[Connection, Event], None]:
    def apply(conn: Connection, ev: Event) -> None:
        b = ev.body
        conn.execute(
            "INSERT OR IGNORE INTO content_edits (event_id, target_id, author_id, hlc, data) VALUES"
            " (?, ?, ?, ?, ?)",
            (ev.id, b.target, b.author, b.hlc, _enc(ev.payload)),
        )
        source(conn, ev)
        SETTLE[kind](conn, b.target or "")

    return apply


def _delete(kind: str) -> Callable[[Connection, Event], None]:
    def apply(conn: Connection, ev: Event) -> None:
        b = ev.body
        p: e.Delete | None = ev.payload  # None: a delete signed without any payload
        conn.execute(
            "INSERT OR IGNORE INTO content_deletes (target_id, author_id, hlc, channel_id, post_id,"
            " parent_id) VALUES (?, ?, ?, ?, ?, ?)",
            (b.target, b.author, b.hlc, *((p.channel_id, p.post_id, p.parent_id) if p else (None,) * 3)),
        )
        tombstone(conn, kind, b.target or "")
        SETTLE[kind](conn, b.target or "")

    return apply


def _skeleton(kind: str) -> Callable[[Connection, Event], None]:
    """A create without its payload: remembered, and a tombstone once its author's delete is here.
    It is a source of the target's text like a whole create, so the delete marks it erased here
    too (until then its payload is owed: sync reconciliation asks peers for it)."""

    def apply(conn: Connection, ev: Event) -> None:
        b = ev.body
        if b.target is None or b.author is None:
            return
        conn.execute(
            "INSERT OR IGNORE INTO content_skeletons (target_id, kind, community_id, author_id, hlc)"
            " VALUES (?, ?, ?, ?, ?)",
            (b.target, kind, b.community, b.author, b.hlc),
        )
        source(conn, ev)
        tombstone(conn, kind, b.target)
        SETTLE[kind](conn, b.target)

    return apply


def _edit_skeleton(kind: str) -> Callable[[Connection, Event], None]:
    """An edit without its payload: a source of the target's text, erased with it by the delete."""

    def apply(conn: Connection, ev: Event) -> None:
        if ev.body.target is None:
            return
        source(conn, ev)
        SETTLE[kind](conn, ev.body.target)

    return apply


def _moderate(conn: Connection, ev: Event) -> None:
    p: e.Moderate = ev.payload
    b = ev.body
    conn.execute(
        "INSERT INTO content_mod (target_id, field, value, rank, hlc, event_id, actor_id, reason)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (target_id, field) DO UPDATE SET value ="
        " excluded.value,"
        " rank = excluded.rank, hlc = excluded.hlc, event_id = excluded.event_id, actor_id ="
        " excluded.actor_id,"
        " reason = excluded.reason"
        " WHERE (excluded.rank, excluded.hlc, excluded.event_id) > (content_mod.rank,"
        " content_mod.hlc, content_mod.event_id)",
        (b.target, p.field, int(p.value), p.rank, b.hlc, ev.id, b.author, p.reason),
    )
    SETTLE[p.target_type](conn, b.target or "")


def recount_reactions(conn: Connection, target: str, emoji: str) -> int:
    row = conn.execute(
        "SELECT count(DISTINCT user_id) AS users, min(hlc) AS first_hlc FROM content_reaction_adds a"
        " WHERE target_id = ? AND emoji = ?"
        " AND NOT EXISTS (SELECT 1 FROM content_reaction_removed r WHERE r.add_id = a.event_id)",
        (target, emoji),
    ).fetchone()
    users = row["users"]
    if users:
        conn.execute(
            "INSERT OR REPLACE INTO content_reaction_counts (target_id, emoji, count, first_hlc)"
            " VALUES (?, ?, ?, ?)",
            (target, emoji, users, row["first_hlc"]),
        )
    else:
        conn.execute("DELETE FROM content_reaction_counts WHERE target_id = ? AND emoji = ?", (target, emoji))
    return int(users)


def _reaction_add(conn: Connection, ev: Event) -> None:
    p: e.ReactionAdd = ev.payload
    conn.execute(
        "INSERT OR IGNORE INTO content_reaction_adds (event_id, target_id, user_id, emoji, hlc)"
        " VALUES (?, ?, ?, ?, ?)",
        (ev.id, ev.body.target, ev.body.author, p.emoji, ev.body.hlc),
    )
    ev.notes["count"] = recount_reactions(conn, ev.body.target or "", p.emoji)


def _reaction_remove(conn: Connection, ev: Event) -> None:
    p: e.ReactionRemove = ev.payload
    # A remove may only retract its own author's adds.
    for tag in p.adds:
        conn.execute(
            "INSERT OR IGNORE INTO content_reaction_removed (add_id) SELECT ? WHERE NOT EXISTS"
            " (SELECT 1 FROM content_reaction_adds WHERE event_id = ? AND user_id IS NOT ?)",
            (tag, tag, ev.body.author),
        )
    ev.notes["count"] = recount_reactions(conn, ev.body.target or "", p.emoji)


def _vote(conn: Connection, ev: Event) -> None:
    p: e.VoteSet = ev.payload
    b = ev.body
    conn.execute(
        "INSERT INTO content_votes (target_id, user_id, value, hlc, event_id) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (target_id, user_id) DO UPDATE SET value = excluded.value, hlc = excluded.hlc,"
        " event_id = excluded.event_id"
        " WHERE (excluded.hlc, excluded.event_id) > (content_votes.hlc, content_votes.event_id)",
        (b.target, b.author, p.value, b.hlc, ev.id),
    )
    SETTLE[p.target_type](conn, b.target or "")
    row = conn.execute(f"SELECT ups, downs FROM {_TABLE[p.target_type]} WHERE id = ?", (b.target,)).fetchone()
    if row is not None:
        ev.notes["tally"] = (row["ups"], row["downs"])


def _dm_create(conn: Connection, ev: Event) -> None:
    p: e.DmCreate = ev.payload
    b = ev.body
    pair = "|".join(sorted(p.participants)) if len(p.participants) == 2 else None
    cur = conn.execute(
        "INSERT OR IGNORE INTO content_dm_channels (id, owner_id, name, pair_key, hlc) VALUES (?, ?,"
        " ?, ?, ?)",
        (b.target, b.author, p.name, pair, b.hlc),
    )
    if cur.rowcount:
        conn.executemany(
            "INSERT OR IGNORE INTO content_dm_members (channel_id, user_id) VALUES (?, ?)",
            [(b.target, uid) for uid in p.participants],
        )


def _emoji_create(conn: Connection, ev: Event) -> None:
    p: e.EmojiCreate = ev.payload
    b = ev.body
    conn.execute(
        "INSERT OR IGNORE INTO content_emojis (id, community_id, name, media_id, author_id, hlc, deleted)"
        " VALUES (?, ?, ?, ?, ?, ?, EXISTS (SELECT 1 FROM content_deletes WHERE target_id = ?))",
        (b.target, b.community, p.name, p.media_id, b.author, b.hlc, b.target),
    )
    _settle_emoji(conn, b.target or "")


def _emoji_update(conn: Connection, ev: Event) -> None:
    b = ev.body
    conn.execute(
        "INSERT OR IGNORE INTO content_edits (event_id, target_id, author_id, hlc, data) VALUES"
        " (?, ?, ?, ?, ?)",
        (ev.id, b.target, b.author or "", b.hlc, _enc(ev.payload)),
    )
    _settle_emoji(conn, b.target or "")


_RENAME = msgspec.msgpack.Decoder(e.EmojiUpdate)


def _settle_emoji(conn: Connection, eid: str) -> None:
    """The emoji's name is its latest rename by hlc (a rename may arrive before the create)."""
    rows = conn.execute(
        "SELECT data FROM content_edits WHERE target_id = ? ORDER BY hlc DESC, event_id DESC",
        (eid,),
    )
    for r in rows:
        try:
            name = _RENAME.decode(r["data"]).name
        except msgspec.ValidationError:
            continue  # another kind's edit naming this id: not a rename
        conn.execute("UPDATE content_emojis SET name = ? WHERE id = ?", (name, eid))
        return


def _emoji_delete(conn: Connection, ev: Event) -> None:
    b = ev.body
    conn.execute(
        "INSERT OR IGNORE INTO content_deletes (target_id, author_id, hlc) VALUES (?, ?, ?)",
        (b.target, b.author or "", b.hlc),
    )
    conn.execute("UPDATE content_emojis SET deleted = 1 WHERE id = ?", (b.target,))


def _thread_note(fn: Callable[[Connection, Event], None]) -> Callable[[Connection, Event], None]:
    """A thread reply deleted or hidden (or restored): note its root and the root's new reply count,
    so the dispatch lets open pages correct the root's "N replies" without a reload."""

    def apply(conn: Connection, ev: Event) -> None:
        # Read before: a delete clears the reply's thread_id.
        before = conn.execute(
            "SELECT thread_id FROM content_messages WHERE id = ?", (ev.body.target,)
        ).fetchone()
        fn(conn, ev)
        root = before["thread_id"] if before else None
        count = (
            root
            and conn.execute("SELECT thread_count FROM content_messages WHERE id = ?", (root,)).fetchone()
        )
        if count:
            ev.notes["thread"] = (root, count["thread_count"])

    return apply


def _dm_audience(fn: Callable[[Connection, Event], None]) -> Callable[[Connection, Event], None]:
    """Events in DM channels are dispatched to the participants: note them for the dispatcher."""

    def apply(conn: Connection, ev: Event) -> None:
        fn(conn, ev)
        channel = getattr(ev.payload, "channel_id", None)
        if ev.body.community is None and channel is not None:
            rows = conn.execute("SELECT user_id FROM content_dm_members WHERE channel_id = ?", (channel,))
            ev.notes["users"] = frozenset(r["user_id"] for r in rows)

    return apply


PROJECTIONS: dict[str, Callable[[Connection, Event], None]] = {
    "message.create": _message_create,
    "message.edit": _edit("message"),
    "message.delete": _delete("message"),
    "post.create": _post_create,
    "post.edit": _edit("post"),
    "post.delete": _delete("post"),
    "comment.create": _comment_create,
    "comment.edit": _edit("comment"),
    "comment.delete": _delete("comment"),
    "content.moderate": _moderate,
    "reaction.add": _reaction_add,
    "reaction.remove": _reaction_remove,
    "vote.set": _vote,
    "dm.create": _dm_create,
    "emoji.create": _emoji_create,
    "emoji.delete": _emoji_delete,
    "emoji.update": _emoji_update,
}
SKELETONS: dict[str, Callable[[Connection, Event], None]] = {
    "message.create": _skeleton("message"),
    "post.create": _skeleton("post"),
    "comment.create": _skeleton("comment"),
    "message.edit": _edit_skeleton("message"),
    "post.edit": _edit_skeleton("post"),
    "comment.edit": _edit_skeleton("comment"),
}
for _kind in (
    "message.create",
    "message.edit",
    "message.delete",
    "content.moderate",
    "reaction.add",
    "reaction.remove",
):
    PROJECTIONS[_kind] = _dm_audience(PROJECTIONS[_kind])
for _kind in ("message.delete", "content.moderate"):
    PROJECTIONS[_kind] = _thread_note(PROJECTIONS[_kind])


def ban_purge(conn: Connection, ev: Event) -> None:
    """member.ban (the communities plugin's kind, registered through Plugin.projections): its
    delete_message_seconds window hides the banned member's content in the community with hlc in
    [ban - window, ban], what is here now and what arrives later (settling reads content_purges).
    A function of the ban event alone, so every node and every replay of the log hides the same."""
    seconds = int(getattr(ev.payload, "delete_message_seconds", 0) or 0)
    community, user, hlc = ev.body.community, ev.body.target, ev.body.hlc
    if seconds <= 0 or community is None or user is None or refused(conn, ev.id):
        return  # refused: the ban's own rule (governance.fold) turned it down
    start = pack(max(0, wall_ms(hlc) - seconds * 1000), 0)
    cur = conn.execute(
        "INSERT OR IGNORE INTO content_purges (ban_event_id, community_id, user_id, from_hlc, to_hlc)"
        " VALUES (?, ?, ?, ?, ?)",
        (ev.id, community, user, start, hlc),
    )
    if not cur.rowcount:
        return
    for kind, table in _TABLE.items():
        rows = conn.execute(
            f"SELECT id FROM {table} WHERE author_id = ? AND community_id = ? AND hlc BETWEEN ? AND ?"
            " AND purged = 0",
            (user, community, start, hlc),
        ).fetchall()
        for r in rows:
            SETTLE[kind](conn, r["id"])


def clear_community(conn: Connection, community: str) -> None:
    """Delete every projection row the community's content events made, and the ban purges: the
    authority then applies the allowed events again, bans' delete windows included (verdicts.py)."""
    marks = ",".join("?" * len(PROJECTIONS))
    targets = {
        _BODY(r["body"]).target
        for r in conn.execute(
            f"SELECT body FROM events WHERE community = ? AND kind IN ({marks})", (community, *PROJECTIONS)
        )
    }
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS cleared_targets (id TEXT PRIMARY KEY) WITHOUT ROWID")
    conn.execute("DELETE FROM cleared_targets")
    conn.executemany("INSERT OR IGNORE INTO cleared_targets VALUES (?)", [(t,) for t in targets if t])
    mine = "target_id IN (SELECT id FROM cleared_targets)"
    conn.execute(
        "DELETE FROM content_reaction_removed WHERE add_id IN"
        f" (SELECT event_id FROM content_reaction_adds WHERE {mine})"
    )
    for table in _TARGET_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE {mine}")
    conn.execute("DELETE FROM content_mentions WHERE message_id IN (SELECT id FROM cleared_targets)")
    for table in (
        "content_messages",
        "content_posts",
        "content_comments",
        "content_emojis",
        "content_purges",
    ):
        conn.execute(f"DELETE FROM {table} WHERE community_id = ?", (community,))
    conn.execute("DELETE FROM cleared_targets")


_BODY = msgspec.msgpack.Decoder(EventBody).decode
_TARGET_TABLES = (
    "content_edits",
    "content_deletes",
    "content_mod",
    "content_reaction_adds",
    "content_reaction_counts",
    "content_votes",
    "content_sources",
    "content_skeletons",
)


def event_types() -> list[EventType]:
    """The content kinds, each with its projection (and the skeleton projection of an erased one)."""
    return [
        EventType(kind, payload, PROJECTIONS[kind], SKELETONS.get(kind)) for kind, payload in e.KINDS.items()
    ]
