"""What nodes send each other (msgpack) and the settings of the sync plugin.

Event bytes travel exactly as signed: ``WireEvent.body`` is the stored body, never re-encoded.
"""

from __future__ import annotations

import msgspec

USERS_SCOPE = "@users"  # profiles (user.* events with no community) of every user peers know of
DMS_SCOPE = "@dms"  # direct messages: each DM's events go only to the home nodes of its participants


class SyncSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[plugin.sync]`` (documented, commented out, in cryb.toml)"""

    auto: bool = True  # sync with peers in the background (`cryb serve` only: notify, periodic sessions)
    follow_peers: bool = True  # replicate every community a pinned peer replicates
    session_interval_s: float = 30.0  # a full session (vectors both ways) with each peer this often
    reconcile_interval_s: float = 300.0  # range reconciliation with each peer this often
    batch_events: int = 2000  # most events in one batch (one frame, one transaction)
    frame_bytes: int = 1 << 20  # most bytes of event data in one frame
    backoff_initial_s: float = 0.5  # first retry after a failed call; doubles per failure
    backoff_max_s: float = 60.0  # longest wait between retries
    breaker_failures: int = 5  # consecutive failures that open a peer's circuit
    breaker_open_s: float = 30.0  # how long an open circuit refuses calls before one trial
    timeout_s: float = 30.0  # total time one call to a peer may take
    # A peer whose logs carry this many refused (forged or unauthorised) events within the window is
    # flagged: its batches are turned away until the count falls below (refused.py).
    refused_limit: int = 50
    refused_window_s: float = 600.0


class WireEvent(msgspec.Struct, array_like=True, frozen=True):
    body: bytes
    sig: bytes
    content: bytes | None = None


class LogCert(msgspec.Struct, array_like=True, frozen=True):
    origin: bytes
    node_key: bytes
    cert: bytes


Vector = dict[str, int]  # origin hex -> seq


class Batch(msgspec.Struct, kw_only=True):
    """Events of one scope. ``after``: the receiver's vector the batch continues from; ``covered``:
    per origin, the seq up to which the sender sent everything it has (and may send) in scope."""

    scope: str
    events: list[WireEvent] = []
    certs: list[LogCert] = []
    after: Vector = {}
    covered: Vector = {}
    more: bool = False


class Hello(msgspec.Struct, kw_only=True):
    follows: list[str]


class HelloReply(msgspec.Struct, kw_only=True):
    node_key: str
    follows: list[str]
    vectors: dict[str, Vector]  # scope -> vector (for the scopes asked about)


class PullRequest(msgspec.Struct, kw_only=True):
    scope: str
    after: Vector
    max_events: int = 2000
    max_bytes: int = 1 << 20


class PushReply(msgspec.Struct, kw_only=True):
    stored: int
    rejected: int
    vector: Vector


class Notify(msgspec.Struct, kw_only=True):
    scopes: list[str]


class FetchRequest(msgspec.Struct, kw_only=True):
    scope: str
    ids: list[bytes]


class Range(msgspec.Struct, array_like=True, frozen=True):
    """Items with lo <= (hlc, id) < hi; fp summarises them (see reconcile.py)."""

    lo_hlc: int
    lo_id: bytes
    hi_hlc: int
    hi_id: bytes
    count: int = 0
    fp: bytes = b""


class ReconcileRequest(msgspec.Struct, kw_only=True):
    scope: str
    ranges: list[Range]


class RangeReply(msgspec.Struct, array_like=True):
    range: Range
    ids: list[bytes] | None = None  # the responder's ids in the range (small or leaf ranges)
    split: list[Range] | None = None  # sub-ranges with the responder's fingerprints


class ReconcileReply(msgspec.Struct, kw_only=True):
    ranges: list[RangeReply]


class StateRequest(msgspec.Struct, kw_only=True):
    """`cryb sync verify`: the state of ``community`` as far as both nodes may hold it."""

    community: str
    exclude: list[str] = []  # channels the asker holds but the answerer may not (policy.py)
    shared: bool = True  # False: the answerer may not hold the community at all


class StateReply(msgspec.Struct, kw_only=True):
    community: str
    state_hash: str
    events: int
    events_fp: str
    parts: dict[str, str]
    excluded: list[str] = []  # the channels left out of the hash (both sides' exclusions)
    shared: bool = True  # False: one side may not hold the community; nothing was compared


class NodeCard(msgspec.Struct, kw_only=True):
    """``/.well-known/cryb-node``: who this node is, for `cryb peer add`."""

    node_key: str
    log_keys: list[dict[str, str]]
    base_url: str
    name: str
    version: str
    protocols: list[str]


encode = msgspec.msgpack.Encoder().encode


def decode(data: bytes, type_: type) -> object:
    return msgspec.msgpack.decode(data, type=type_)


class UserHome(msgspec.Struct, kw_only=True):
    """``GET /api/v1/users/{id}/home``: the node an account is homed on (after a move: its new home)."""

    user_id: str
    node_key: str
    url: str | None
    moved: bool
