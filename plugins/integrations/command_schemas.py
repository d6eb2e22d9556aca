"""Request and response types of slash commands and interactions (docs/integrations.md "Bots")."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

CommandName = Annotated[str, Meta(pattern="^[a-z0-9_-]{1,32}$")]
OptionType = Literal["string", "integer", "boolean", "user", "channel"]
OptionValue = str | int | bool


class CommandOption(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: CommandName
    description: Annotated[str, Meta(min_length=1, max_length=100)]
    type: OptionType
    required: bool = False


class CommandIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    description: Annotated[str, Meta(min_length=1, max_length=100)]
    options: Annotated[list[CommandOption], Meta(max_length=25)] = []


class CommandOut(msgspec.Struct, kw_only=True):
    id: str
    community_id: str
    bot_id: str
    bot_name: str
    name: str
    description: str
    options: list[CommandOption]


class CommandList(msgspec.Struct):
    commands: list[CommandOut]


class EndpointIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    url: Annotated[str, Meta(max_length=2000)] | None  # None: back to gateway dispatches


class EndpointOut(msgspec.Struct, kw_only=True):
    url: str | None
    secret: str | None = None  # signs the POSTs (X-Cryb-Signature); shown when the URL is set


class InvokeIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    command_id: Annotated[str, Meta(min_length=1, max_length=64)]
    options: Annotated[dict[CommandName, OptionValue], Meta(max_length=25)] = {}


class Interaction(msgspec.Struct, kw_only=True):
    """What the bot receives (INTERACTION_CREATE, or the body of the signed POST), and the caller."""

    id: str
    command_id: str
    name: str
    community_id: str
    channel_id: str
    user_id: str
    options: dict[str, OptionValue]
    deadline_at: int  # ms: answer before then


class InteractionAnswerIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    content: Annotated[str, Meta(min_length=1, max_length=4000)]
    ephemeral: bool = False  # only the caller sees it (their sessions), nothing is stored


class InteractionAnswerOut(msgspec.Struct, kw_only=True):
    interaction_id: str
    message_id: str | None  # the public message; None for an ephemeral answer
