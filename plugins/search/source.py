"""What the index should hold, read from the database: the current, visible state of messages, posts,
comments, user profiles and communities. Runs in the indexer's thread on its own read-only
connection.

The index is a cache of these rows, not of the events: the indexer re-reads each changed target
here, so every rule the projections apply (last-writer-wins edits, final deletes, moderator
hide/unhide by rank, ban purge windows, order independence) is honoured without being copied, and
re-applying an event is harmless. These tables belong to the users, communities, content and media
plugins; the SQL that reads them is kept in this one file. A missing table (plugin disabled) just
contributes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryb_node import db as dbmod

from .documents import USER_MENTION, Doc, has_link

# A user whose account was erased takes their documents out of search with them.
_NOT_ERASED = "NOT EXISTS (SELECT 1 FROM users_profiles u WHERE u.user_id = t.author_id AND u.erased = 1)"
_VISIBLE = "t.deleted = 0 AND t.hidden = 0 AND t.purged = 0"
_BANNED = "sync_banned_users"  # a view of the sync plugin (node bans); absent without federation


@dataclass(frozen=True)
class Kind:
    name: str
    table: str
    needs: tuple[str, ...]  # tables the SELECT reads
    select: str  # columns, then FROM/WHERE with {where} for the caller's condition


KINDS: dict[str, Kind] = {
    "message": Kind(
        "message",
        "content_messages",
        ("content_messages", "users_profiles"),
        "SELECT t.id, t.author_id, t.community_id, t.channel_id, t.hlc, t.content,"
        " t.attachments, t.mentions, t.pinned"
        f" FROM content_messages t WHERE {_VISIBLE} AND {_NOT_ERASED} AND {{where}}",
    ),
    "post": Kind(
        "post",
        "content_posts",
        ("content_posts", "users_profiles"),
        "SELECT t.id, t.author_id, t.community_id, t.channel_id, t.hlc, t.title,"
        " t.body, t.url, t.tags, t.attachments, t.sticky"
        f" FROM content_posts t WHERE {_VISIBLE} AND {_NOT_ERASED} AND {{where}}",
    ),
    "comment": Kind(
        "comment",
        "content_comments",
        ("content_comments", "users_profiles"),
        "SELECT t.id, t.author_id, t.community_id, t.channel_id, t.hlc, t.body,"
        f" t.post_id FROM content_comments t WHERE {_VISIBLE} AND {_NOT_ERASED} AND {{where}}",
    ),
    "user": Kind(
        "user",
        "users_profiles",
        ("users_profiles",),
        "SELECT t.user_id, t.username, t.display_name, t.bio, t.created_hlc"
        " FROM users_profiles t WHERE t.erased = 0 AND t.username != '' AND {where}",
    ),
    "community": Kind(
        "community",
        "communities",
        ("communities",),
        "SELECT t.id, t.name, t.description, t.public, t.created_at"
        " FROM communities t WHERE t.deleted = 0 AND {where}",
    ),
}
_ID_COLUMN = {"user": "t.user_id"}


def _attachments(raw: str | None, kinds: dict[str, str]) -> dict[str, Any]:
    """has:file/image/video/audio of a JSON list of media ids (kinds: media id -> kind)."""
    ids = json.loads(raw or "[]")
    found = {kinds.get(i) for i in ids}
    return {
        "has_attachment": bool(ids),
        "has_image": "image" in found,
        "has_video": "video" in found,
        "has_audio": "audio" in found,
    }


def _mentioned(text: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(USER_MENTION.findall(text or "")))


def _doc(kind: str, r: Any, kinds: dict[str, str]) -> Doc:
    """A document from a row of ``KINDS[kind].select``."""
    if kind == "message":
        text, hlc = r["content"], r["hlc"]
        return Doc(
            kind=kind,
            id=r["id"],
            author=r["author_id"],
            community=r["community_id"] or "",
            channel=r["channel_id"],
            time=hlc >> 16,
            seq=hlc & 0xFFFF,
            body=text,
            has_link=has_link(text),
            mentions=tuple(json.loads(r["mentions"] or "[]")) or _mentioned(text),
            pinned=bool(r["pinned"]),
            **_attachments(r["attachments"], kinds),
        )
    if kind == "post":
        title, body, url, hlc = r["title"], r["body"], r["url"], r["hlc"]
        tag_text = " ".join(json.loads(r["tags"] or "[]"))
        return Doc(
            kind=kind,
            id=r["id"],
            author=r["author_id"],
            community=r["community_id"],
            channel=r["channel_id"],
            time=hlc >> 16,
            seq=hlc & 0xFFFF,
            title=title,
            body=f"{body}\n{tag_text}".strip(),
            has_link=bool(url) or has_link(body),
            has_embed=bool(url),
            mentions=_mentioned(f"{title} {body}"),
            pinned=bool(r["sticky"]),
            **_attachments(r["attachments"], kinds),
        )
    if kind == "comment":
        body, hlc = r["body"], r["hlc"]
        return Doc(
            kind=kind,
            id=r["id"],
            author=r["author_id"],
            community=r["community_id"],
            channel=r["channel_id"],
            parent=r["post_id"],
            time=hlc >> 16,
            seq=hlc & 0xFFFF,
            body=body,
            has_link=has_link(body),
            mentions=_mentioned(body),
        )
    if kind == "user":
        user_id, hlc = r["user_id"], r["created_hlc"]
        title = f"{r['username']} {r['display_name']}".strip()
        return Doc(kind=kind, id=user_id, author=user_id, title=title, body=r["bio"], time=hlc >> 16,
                   seq=hlc & 0xFFFF)  # fmt: skip
    return Doc(
        kind=kind, id=r["id"], community=r["id"], title=r["name"], body=r["description"],
        public=bool(r["public"]), time=r["created_at"],
    )  # fmt: skip


# Media kinds (has:image/video/audio), from the media plugin's own uploads and what peers told it
# about theirs; a media id in neither (not fetched yet) counts only for has:file.
_MEDIA = {
    "media": "SELECT id, kind FROM media WHERE id IN ({})",
    "media_remote": "SELECT id, kind FROM media_remote WHERE id IN ({})",
}


class Source:
    """A read-only connection to the node's database, owned by the indexer's thread."""

    def __init__(self, db_path: Path, busy_timeout_ms: int = 5000) -> None:
        self.conn = dbmod.connect(db_path, busy_timeout_ms=busy_timeout_ms, readonly=True)
        self._tables = self._present()

    def _present(self) -> set[str]:
        return {
            r["name"]
            for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
        }

    def _select(self, kind: str, where: str) -> str:
        if kind == "user" and _BANNED in self._tables:
            # People banned on this node (the sync plugin's node bans) are left out of the directory.
            where = f"{where} AND t.user_id NOT IN (SELECT user_id FROM {_BANNED})"
        return KINDS[kind].select.format(where=where)

    def close(self) -> None:
        self.conn.close()

    def has(self, kind: str) -> bool:
        if not all(t in self._tables for t in KINDS[kind].needs):
            self._tables = self._present()  # a migration may have run since
        return all(t in self._tables for t in KINDS[kind].needs)

    def log_length(self) -> int:
        return self.conn.execute("SELECT coalesce(max(pos), 0) FROM events").fetchone()[0]

    # -- by target, for the live consumer ---------------------------------------------------------

    def fetch(self, kind: str, ids: Iterable[str]) -> list[Doc]:
        """The visible documents among ``ids``; an id missing from the answer must leave the index."""
        ids = list(ids)
        if not ids or not self.has(kind):
            return []
        out: list[Doc] = []
        col = _ID_COLUMN.get(kind, "t.id")
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            where = f"{col} IN ({','.join('?' * len(chunk))})"
            out += self._docs(kind, list(self.conn.execute(self._select(kind, where), chunk)))
        return out

    def _docs(self, kind: str, rows: list[Any]) -> list[Doc]:
        kinds: dict[str, str] = {}
        if kind in ("message", "post"):
            kinds = self.media_kinds({i for r in rows for i in json.loads(r["attachments"] or "[]")})
        return [_doc(kind, r, kinds) for r in rows]

    def media_kinds(self, ids: set[str]) -> dict[str, str]:
        """image | video | audio of each media id the media plugin knows (absent: unknown)."""
        out: dict[str, str] = {}
        wanted = sorted(ids)
        for table, sql in _MEDIA.items():
            if not wanted:
                break
            if table not in self._tables:
                self._tables = self._present()
                if table not in self._tables:
                    continue
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                rows = self.conn.execute(sql.format(",".join("?" * len(chunk))), chunk)
                out.update({r["id"]: r["kind"] for r in rows})
            wanted = [i for i in wanted if i not in out]
        return out

    def member_content(self, community: str, user: str) -> dict[str, list[str]]:
        """Ids of a member's content in a community (a ban may hide some of it)."""
        out: dict[str, list[str]] = {}
        for kind in ("message", "post", "comment"):
            if self.has(kind):
                rows = self.conn.execute(
                    f"SELECT id FROM {KINDS[kind].table} WHERE community_id = ? AND author_id = ?",
                    (community, user),
                )
                out[kind] = [r["id"] for r in rows]
        return out

    def authored(self, users: list[str]) -> dict[str, list[str]]:
        """Ids of every message, post and comment the users wrote (a node ban may hide them)."""
        out: dict[str, list[str]] = {}
        for kind in ("message", "post", "comment"):
            if self.has(kind):
                ids: list[str] = []
                for i in range(0, len(users), 500):
                    chunk = users[i : i + 500]
                    marks = ",".join("?" * len(chunk))
                    sql = f"SELECT id FROM {KINDS[kind].table} WHERE author_id IN ({marks})"
                    ids += [r["id"] for r in self.conn.execute(sql, chunk)]
                out[kind] = ids
        return out

    # -- whole tables, for a rebuild --------------------------------------------------------------

    def count(self) -> int:
        total = 0
        for kind, k in KINDS.items():
            if self.has(kind):
                total += self.conn.execute(f"SELECT count(*) FROM {k.table}").fetchone()[0]
        return total

    def scan(self, kind: str, after_rowid: int, limit: int) -> tuple[list[Doc], int, int]:
        """Up to ``limit`` rows after ``after_rowid``: (visible docs, rows read, last rowid)."""
        if not self.has(kind):
            return [], 0, after_rowid
        k = KINDS[kind]
        rows = list(
            self.conn.execute(
                f"SELECT rowid AS rowid FROM {k.table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (after_rowid, limit),
            )
        )
        if not rows:
            return [], 0, after_rowid
        last = rows[-1]["rowid"]
        found = self.conn.execute(self._select(kind, "t.rowid > ? AND t.rowid <= ?"), (after_rowid, last))
        return self._docs(kind, list(found)), len(rows), last

    def visible_keys(self) -> Iterator[str]:
        """Every key the index should hold right now (verification and tests)."""
        for kind in KINDS:
            after = 0
            while True:
                docs, n, after = self.scan(kind, after, 5000)
                if not n:
                    break
                yield from (d.key for d in docs)
