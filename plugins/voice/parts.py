"""The voice plugin's one object per node, kept in the service registry under a private key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryb_node.services import ServiceKey

if TYPE_CHECKING:
    from cryb_node.node import Node

    from .rooms import Rooms

ROOMS: ServiceKey[Rooms] = ServiceKey("voice-rooms")


def rooms_of(node: Node) -> Rooms:
    return node.services.require(ROOMS)
