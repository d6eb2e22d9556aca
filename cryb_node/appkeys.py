"""Typed keys for what the aiohttp Application holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry

if TYPE_CHECKING:
    from cryb_node.node import Node

NODE: web.AppKey[Node] = web.AppKey("node")
METRICS = web.AppKey("metrics", CollectorRegistry)
