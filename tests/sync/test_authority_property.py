"""Property (hypothesis): three nodes' logs of one community — an owner on the first granting and
revoking a poster role, setting and lifting channel overwrites, banning, unbanning and timing out,
while members on the other two post, react and vote — reach every receiver in a different random
interleaving of the three logs. Every receiver ends with the same state hash and the same refused
events, whatever the order: verdicts are a function of the events, decided at each one's place."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import nacl.signing
from cryb_plugins.communities import events as g
from cryb_plugins.content import events as c
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryb_node.events import DOMAIN, EventBody
from cryb_node.identity import CERT_DOMAIN
from cryb_node.node import Node
from cryb_node.services import Perm
from cryb_node.sync.statehash import community_state
from tests.conftest import make_config

CID = "01m8propcommunity0000000000"
TEXT = "01m8proptext00000000000000"
FORUM = "01m8propforum0000000000000"
POST = "01m8proppost00000000000000"
POSTER = "01m8proprole00000000000000"
OWNER, ALICE, BOB = "01m8propowner0000000000000", "01m8propalice0000000000000", "01m8propbob000000000000000"
SEND = int(Perm.SEND_MESSAGES)
_enc = msgspec.msgpack.Encoder().encode


@dataclass
class Log:
    """One node's log: its own certified key, seq and clock."""

    log_key: nacl.signing.SigningKey = field(default_factory=nacl.signing.SigningKey.generate)
    node_key: nacl.signing.SigningKey = field(default_factory=nacl.signing.SigningKey.generate)
    seq: int = 0
    prev: bytes | None = None
    hlc: int = 0
    events: list[tuple[bytes, bytes, bytes]] = field(default_factory=list)

    def cert(self) -> tuple:
        origin = bytes(self.log_key.verify_key)
        return (
            origin,
            bytes(self.node_key.verify_key),
            self.node_key.sign(CERT_DOMAIN + origin).signature,
            0,
        )

    def add(self, at: int, kind: str, payload: msgspec.Struct, author: str, target: str) -> None:
        self.seq += 1
        self.hlc = max(self.hlc + 1, at)
        content = _enc(payload)
        body = EventBody(
            1,
            CID,
            bytes(self.log_key.verify_key),
            self.seq,
            self.prev,
            self.hlc,
            author,
            kind,
            target,
            [],
            hashlib.sha256(content).digest(),
        )
        raw = _enc(body)
        self.prev = hashlib.sha256(raw).digest()
        self.events.append((raw, self.log_key.sign(DOMAIN + raw).signature, content))


# What the owner's node does (governance), and what the members' nodes do (content).
OWNER_ACTIONS = [
    "grant",
    "revoke",
    "deny_send",
    "lift_deny",
    "ban_alice",
    "unban_alice",
    "ban_bob",
    "unban_bob",
    "timeout_bob",
    "untimeout_bob",
]
MEMBER_ACTIONS = ["post", "post", "react", "vote", "comment"]

steps = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 9), st.integers(0, 40)),  # node, action, clock skew (ms)
    min_size=4,
    max_size=24,
)


def history(schedule: list[tuple[int, int, int]]) -> list[Log]:
    base = (int(time.time() * 1000) - 60_000) << 16
    logs = [Log(), Log(), Log()]
    owner, a_log, b_log = logs
    ms = lambda t: base + (t << 16)  # noqa: E731
    owner.add(ms(0), "community.create", g.CommunityCreate(name="prop", public=True), OWNER, CID)
    owner.add(ms(1), "channel.create", g.ChannelCreate(kind="text", name="t"), OWNER, TEXT)
    owner.add(ms(2), "channel.create", g.ChannelCreate(kind="forum", name="f"), OWNER, FORUM)
    owner.add(ms(3), "role.create", g.RoleCreate(name="poster", perms=SEND, position=1), OWNER, POSTER)
    # in #t, a deny on @everyone (when set) leaves sending to the poster role
    allow = g.OverwriteSet(target_type="role", target_id=POSTER, allow=SEND)
    owner.add(ms(4), "overwrite.set", allow, OWNER, TEXT)
    owner.add(ms(5), "post.create", c.PostCreate(channel_id=FORUM, title="p"), OWNER, POST)
    a_log.add(ms(6), "member.join", g.MemberJoin(), ALICE, ALICE)
    b_log.add(ms(7), "member.join", g.MemberJoin(), BOB, BOB)
    for n, (node, action, skew) in enumerate(schedule):
        at = ms(10 + n * 20 + skew)
        if node == 0:
            name = OWNER_ACTIONS[action]
            match name:
                case "grant" | "revoke":
                    kind = "role.assign" if name == "grant" else "role.unassign"
                    owner.add(at, kind, g.RoleMember(role_id=POSTER), OWNER, ALICE)
                case "deny_send":
                    ow = g.OverwriteSet(target_type="role", target_id=CID, deny=SEND)
                    owner.add(at, "overwrite.set", ow, OWNER, TEXT)
                case "lift_deny":
                    owner.add(
                        at,
                        "overwrite.delete",
                        g.OverwriteDelete(target_type="role", target_id=CID),
                        OWNER,
                        TEXT,
                    )
                case "ban_alice" | "ban_bob" | "unban_alice" | "unban_bob":
                    who = ALICE if name.endswith("alice") else BOB
                    if name.startswith("ban"):
                        owner.add(at, "member.ban", g.MemberBan(), OWNER, who)
                    else:
                        owner.add(at, "member.unban", g.Reasoned(), OWNER, who)
                case "timeout_bob" | "untimeout_bob":
                    until = (at >> 16) + 30 if name == "timeout_bob" else None
                    owner.add(at, "member.timeout", g.MemberTimeout(until=until), OWNER, BOB)
        else:
            log_, who = (a_log, ALICE) if node == 1 else (b_log, BOB)
            target = f"01m8prop{node}{n:018d}"
            match MEMBER_ACTIONS[action % len(MEMBER_ACTIONS)]:
                case "post":
                    log_.add(
                        at, "message.create", c.MessageCreate(channel_id=TEXT, content=f"m{n}"), who, target
                    )
                case "react":
                    log_.add(
                        at,
                        "reaction.add",
                        c.ReactionAdd(target_type="post", channel_id=FORUM, emoji="👍"),
                        who,
                        POST,
                    )
                case "vote":
                    log_.add(
                        at, "vote.set", c.VoteSet(target_type="post", channel_id=FORUM, value=1), who, POST
                    )
                case "comment":
                    log_.add(
                        at,
                        "comment.create",
                        c.CommentCreate(channel_id=FORUM, post_id=POST, body="c"),
                        who,
                        target,
                    )
    return logs


def interleave(logs: list[Log], seed: int) -> list[tuple[bytes, bytes, bytes]]:
    """A random merge of the three logs, each in its own order (as sync delivers an origin's log)."""
    rng = random.Random(seed)
    queues = [list(lg.events) for lg in logs]
    out = []
    while any(queues):
        q = rng.choice([q for q in queues if q])
        out.append(q.pop(0))
    return out


async def receive(data_dir: Path, logs: list[Log], order: list[tuple[bytes, bytes, bytes]]) -> tuple:
    node = Node(make_config(data_dir))
    async with node.running(background=False):

        def job(conn) -> None:
            conn.executemany("INSERT OR IGNORE INTO log_keys VALUES (?, ?, ?, ?)", [lg.cert() for lg in logs])
            for raw, sig, content in order:
                node.events.ingest(conn, raw, sig, content)

        await node.db.write(job)
        state = await community_state(node, CID)
        refused = await node.db.fetchall("SELECT event_id, code FROM event_refusals ORDER BY event_id")
        shown = await node.db.fetchval("SELECT count(*) FROM content_messages WHERE community_id = ?", (CID,))
    return state.state_hash, [tuple(r) for r in refused], shown


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schedule=steps, seeds=st.lists(st.integers(0, 10**6), min_size=3, max_size=3))
def test_every_interleaving_reaches_the_same_state_and_the_same_refusals(
    tmp_path: Path, schedule, seeds
) -> None:
    logs = history(schedule)
    # one receiver in the total order itself, three in random interleavings of the logs
    in_order = sorted((e for lg in logs for e in lg.events), key=lambda e: msgspec.msgpack.decode(e[0])[5])
    orders = [in_order] + [interleave(logs, s) for s in seeds]
    run = f"{time.monotonic_ns()}"
    results = [asyncio.run(receive(tmp_path / run / str(i), logs, order)) for i, order in enumerate(orders)]
    assert len({r[0] for r in results}) == 1, [r[0][:12] for r in results]
    assert all(r[1] == results[0][1] for r in results), results
    assert all(r[2] == results[0][2] for r in results)
