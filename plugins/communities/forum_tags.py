"""Per-channel tag sets of forum channels: the kind that sets one (channel.tags, MANAGE_CHANNELS),
and the rule book's check that a post's tags come from its channel's set (verdicts.check calls
``tag_refusal``, so a peer's post is judged as a local one)."""

from __future__ import annotations

import json

import msgspec

from cryb_node.refusals import Refusal
from cryb_node.services import Perm

from .authority import Change, Ctx, Denied, handles
from .gov import Gov
from .perms import CommunityState

MAX_TAGS = 20
MAX_TAG_CHARS = 32


class ChannelTags(Gov):
    """A forum channel's tag set (target: the channel); empty: any tags (none set)."""

    tags: list[str] = []


TAG_KINDS: dict[str, type[msgspec.Struct]] = {"channel.tags": ChannelTags}


def normal(tag: str) -> str:
    return tag.strip().lower()


def tag_refusal(state: CommunityState, kind: str, payload: object) -> Refusal | None:
    """Why a post's tags are refused in its channel (None: they are fine)."""
    if kind not in ("post.create", "post.edit"):
        return None
    allowed = state.tag_sets.get(getattr(payload, "channel_id", "") or "")
    if not allowed:
        return None
    unknown = [t for t in getattr(payload, "tags", None) or [] if normal(t) not in allowed]
    if unknown:
        return Refusal("unknown_tag", f"this channel's tags are {', '.join(sorted(allowed))}")
    return None


@handles("channel.tags")
def channel_tags(c: Ctx) -> Change:
    p: ChannelTags = c.p
    channel_id = c.target or ""
    c.require(Perm.MANAGE_CHANNELS, c.channel_perms(c.actor, channel_id))
    if c.state.channels[channel_id].kind != "forum":
        raise Denied("wrong_channel_kind", 400, "tag sets are for forum channels", "channel_id")
    tags = list(dict.fromkeys(normal(t) for t in p.tags))
    if len(tags) > MAX_TAGS or any(not t or len(t) > MAX_TAG_CHARS for t in tags):
        raise Denied(
            "invalid_event", 400, f"at most {MAX_TAGS} tags of 1 to {MAX_TAG_CHARS} characters", "tags"
        )

    def change() -> None:
        c.sql(
            "INSERT OR REPLACE INTO community_channel_tags (community_id, channel_id, tags) VALUES (?, ?, ?)",
            c.cid, channel_id, json.dumps(tags),
        )  # fmt: skip
        c.modlog("channel_tags", channel_id, tags=tags)

    return change
