"""The saved plugin: a member's private bookmarks of messages, posts and comments. Node-local rows,
never events; access is checked through the content and permission services at save and list time."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from importlib.abc import Traversable

import msgspec

from cryb_node.db import Connection
from cryb_node.events import Event, Projection
from cryb_node.export import ExportSink
from cryb_node.http.api import Api
from cryb_node.node import Node
from cryb_node.plugins import Plugin
from cryb_node.services import ServiceKey

from . import queries
from .service import Saved

SAVED: ServiceKey[Saved] = ServiceKey("saved")


class SavedRow(msgspec.Struct):
    target_type: str
    target_id: str
    saved_at: int


def _erased(conn: Connection, ev: Event) -> None:
    # An erased account's bookmarks go with it.
    if ev.body.target:
        queries.delete_all(conn, ev.body.target)


class SavedPlugin(Plugin):
    name = "saved"

    def migrations(self) -> Traversable:
        return resources.files(__package__) / "migrations"

    def setup(self, node: Node) -> None:
        node.services.provide(SAVED, Saved(node))

    def routes(self, api: Api, node: Node) -> None:
        from .routes import routes

        routes(api, node, lambda: node.services.require(SAVED))

    def projections(self) -> Mapping[str, Projection]:
        return {"user.erased": _erased}

    async def export_user(self, node: Node, user_id: str, sink: ExportSink) -> None:
        rows = await node.db.fetchall(queries.ALL, (user_id,))
        items = [SavedRow(r["target_type"], r["target_id"], r["saved_at"]) for r in rows]
        await sink.write_json("saved_items.json", items)
        await sink.advance(len(rows) or 1)
        sink.describe("saved_items.json", "The messages, posts and comments you saved (ids and when).")


plugin = SavedPlugin()
