"""What goes through the stream: one message per log position, the event's exact signed bytes."""

from __future__ import annotations

import msgspec

POS_HEADER = "Cryb-Pos"
# On the primary's answer to a write: its log length once the write committed; an edge waits until
# its replica has applied that far before answering (read your own writes).
LOG_POSITION_HEADER = "Cryb-Log-Position"


class StreamEvent(msgspec.Struct, array_like=True, frozen=True):
    pos: int
    body: bytes  # exactly as signed and stored
    sig: bytes
    content: bytes | None  # None once erased (or never held)
    # The origin's certificate (identity key, signature over the log key): an edge stores it the way
    # the primary did, so its log_keys match.
    node_key: bytes | None
    cert: bytes | None


encode = msgspec.msgpack.Encoder().encode
decode = msgspec.msgpack.Decoder(StreamEvent).decode


def subject(stream: str) -> str:
    return f"cryb.{stream.lower()}.events"
