"""Direct messages (1:1 and groups of up to 10, respecting blocks) and read state: per-channel read
markers, unread and mention counts for the gateway's READY."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from cryb_node.clock import new_id
from cryb_node.db import Connection
from cryb_node.events import Tx
from cryb_node.problems import Problem, forbidden, not_found
from cryb_node.realtime.protocol import Dispatch
from cryb_node.services import RELATIONSHIPS, Perm

from . import events as e
from . import queries_chat
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
        chans, members = await queries_chat.dm_channels(self.node.db, ids)
        return [s.DmOut(c["id"], c["owner_id"], c["name"], members.get(c["id"], [])) for c in chans]

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
            if pair is not None and (known := queries_chat.dm_of_pair(tx.conn, pair)) is not None:
                return known
            tx.append(
                "dm.create", e.DmCreate(participants=participants, name=body.name), author=user_id, target=cid
            )
            return cid

        got = await self.node.events.transaction(write)
        return (await self._out([got]))[0]

    async def list(self, user_id: str) -> s.DmList:
        return s.DmList(await self._out(await queries_chat.dm_channel_ids(self.node.db, user_id)))

    # -- read state -----------------------------------------------------------------------------

    async def ack(self, user_id: str, channel_id: str, message_id: str) -> None:
        await self.gate.require(
            user_id, channel_id, Perm.VIEW_CHANNEL | Perm.READ_HISTORY, kinds=CHAT_KINDS, write=False
        )
        hlc = await queries_chat.message_hlc(self.node.db, channel_id, message_id)
        if hlc is None:
            raise not_found("message")

        def job(conn: Connection) -> None:
            queries_chat.mark_read(conn, user_id, channel_id, message_id, hlc)

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
        ids += await queries_chat.dm_channel_ids(self.node.db, user_id)
        return await queries_chat.read_states(self.node.db, user_id, ids, UNREAD_CAP)
