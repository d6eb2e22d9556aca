"""The content plugin's parts, built once per node and shared by routes, jobs and the gateway hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryb_node.services import ServiceKey

from .access import Gate
from .comments import Comments
from .dms import Dms
from .messages import Chat
from .moderation import Moderation
from .posts import Posts
from .reactions import Reactions

if TYPE_CHECKING:
    from cryb_node.node import Node


class Content:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.gate = Gate(node)
        self.moderation = Moderation(node, self.gate)
        self.chat = Chat(node, self.gate, self.moderation)
        self.posts = Posts(node, self.gate, self.chat, self.moderation)
        self.comments = Comments(node, self.gate, self.chat, self.moderation)
        self.reactions = Reactions(node, self.gate)
        self.dms = Dms(node, self.gate)


CONTENT: ServiceKey[Content] = ServiceKey("content")
