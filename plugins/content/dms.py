"""Direct messages (1:1 and groups of up to 10, respecting blocks) and read state: per-channel read
markers, unread and mention counts for the gateway's READY."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from cryb_node.clock import new_id
from cryb_node.events import Tx
from cryb_node.problems import Problem, forbidden, not_found
from cryb_node.realtime.protocol import Dispatch
from cryb_node.services import RELATIONSHIPS, Perm

from . import events as e
from . import schemas as s
from .access import CHAT_KINDS, Gate
from .render import is_id

if TYPE_CHECKING:
    from cryb_node.node import Node

MAX_GROUP = 10
UNREAD_CAP = 1000  # unread counts stop here (a client shows "999+")


class Dms:
    def __init__(self, node: Node, gate: Gate) -> None:
        self.node = node
        self.gate = gate

    async def _out(self, ids: list[str]) -> list[s.DmOut]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        chans = await self.node.db.fetchall(
            f"SELECT id, owner_id, name FROM content_dm_channels WHERE id IN ({marks}) ORDER BY hlc DESC", ids
        )
        members = await self.node.db.fetchall(
            f"SELECT channel_id, user_id FROM content_dm_members WHERE channel_id IN ({marks}) ORDER"
            " BY user_id",
            ids,
        )
        by: dict[str, list[str]] = {}
        for cid, uid in members:
            by.setdefault(cid, []).append(uid)
        return [s.DmOut(r[0], r[1], r[2], by.get(r[0], [])) for r in chans]

    async def open(self, user_id: str, body: s.DmIn) -> s.DmOut:
        others = list(dict.fromkeys(r for r in body.recipients if r != user_id))
        for i, r in enumerate(body.recipients):
            if not is_id(r):
                raise Problem("invalid_field", 400, "not a user id", field=f"recipients[{i}]")
        if not others:
            raise Problem("invalid_field", 400, "name at least one other user", field="recipients")
        if len(others) + 1 > MAX_GROUP:
            raise Problem(
                "invalid_field", 400, f"a group DM has at most {MAX_GROUP} people", field="recipients"
            )
        rel = self.node.services.get(RELATIONSHIPS)
        if rel is not None:
            for other in others:
                if await rel.is_blocked(user_id, other):
                    raise forbidden("you cannot message this user")
        participants = sorted([user_id, *others])
        pair = "|".join(participants) if len(participants) == 2 else None
        cid = new_id()

        def write(tx: Tx) -> str:
            if pair is not None:
                row = tx.conn.execute(
                    "SELECT id FROM content_dm_channels WHERE pair_key = ? ORDER BY id LIMIT 1", (pair,)
                ).fetchone()
                if row is not None:
                    return str(row[0])
            tx.append(
                "dm.create", e.DmCreate(participants=participants, name=body.name), author=user_id, target=cid
            )
            return cid

        got = await self.node.events.transaction(write)
        return (await self._out([got]))[0]

    async def list(self, user_id: str) -> s.DmList:
        rows = await self.node.db.fetchall(
            "SELECT channel_id FROM content_dm_members WHERE user_id = ?", (user_id,)
        )
        return s.DmList(await self._out([r[0] for r in rows]))

    # -- read state -----------------------------------------------------------------------------

    async def ack(self, user_id: str, channel_id: str, message_id: str) -> None:
        await self.gate.require(
            user_id, channel_id, Perm.VIEW_CHANNEL | Perm.READ_HISTORY, kinds=CHAT_KINDS, write=False
        )
        hlc = await self.node.db.fetchval(
            "SELECT hlc FROM content_messages WHERE id = ? AND channel_id = ?", (message_id, channel_id)
        )
        if hlc is None:
            raise not_found("message")

        def job(conn: Any) -> None:
            conn.execute(
                "INSERT INTO content_read_state (user_id, channel_id, message_id, hlc) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (user_id, channel_id) DO UPDATE SET message_id = excluded.message_id,"
                " hlc = excluded.hlc",
                (user_id, channel_id, message_id, hlc),
            )

        await self.node.db.write(job)
        self.node.realtime.publish(
            Dispatch(
                "MESSAGE_ACK",
                {"channel_id": channel_id, "message_id": message_id},
                users=frozenset({user_id}),
            )
        )

    async def read_states(self, user_id: str) -> builtins.list[s.ReadState]:
        perms = self.gate.permissions
        channels = await perms.visible_channels(user_id) if perms is not None else []
        ids = [c.channel_id for c in channels if c.kind in CHAT_KINDS and c.has(Perm.READ_HISTORY)]
        ids += [r[0] for r in await self.node.db.fetchall(
            "SELECT channel_id FROM content_dm_members WHERE user_id = ?", (user_id,)
        )]  # fmt: skip
        out = []
        async with self.node.db.reader() as conn:
            for cid in ids:
                row = await (
                    await conn.execute(
                        "SELECT message_id, hlc FROM content_read_state WHERE user_id = ? AND channel_id = ?",
                        (user_id, cid),
                    )
                ).fetchone()
                last_id, last = (row[0], row[1]) if row else (None, 0)
                unread = await (
                    await conn.execute(
                        "SELECT count(*) FROM (SELECT 1 FROM content_messages WHERE channel_id = ?"
                        " AND thread_id IS NULL"
                        " AND hlc > ? AND author_id != ? AND deleted = 0 AND hidden = 0 AND purged ="
                        " 0 LIMIT ?)",
                        (cid, last, user_id, UNREAD_CAP),
                    )
                ).fetchone()
                mentions = await (
                    await conn.execute(
                        "SELECT count(*) FROM content_mentions WHERE channel_id = ? AND user_id IN"
                        " (?, '*') AND hlc > ?",
                        (cid, user_id, last),
                    )
                ).fetchone()
                assert unread is not None and mentions is not None  # count(*) always answers a row
                out.append(s.ReadState(cid, last_id, unread[0], mentions[0]))
        return out
