"""The bodies an incoming webhook accepts, read into one shape: CRYB's own JSON (``content``,
``name``), Discord's execute-webhook body (``content``, ``username``, ``embeds``; ``avatar_url`` is
accepted and ignored: the node never loads an image from a URL a caller names) and Slack's incoming
webhook body (``text``, ``blocks``; also as the ``payload`` form field Slack clients may send).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import msgspec

from cryb_node.problems import Problem

MAX_NAME = 80
DISCORD_KEYS = frozenset(
    {"username", "avatar_url", "embeds", "tts", "allowed_mentions", "components", "flags"}
)
SLACK_KEYS = frozenset({"text", "blocks", "attachments", "mrkdwn", "icon_emoji", "icon_url", "channel"})


@dataclass(frozen=True)
class Parsed:
    format: str  # cryb | discord | slack
    content: str
    name: str | None  # a per-message display name, if the body gave one


def parse(raw: bytes, content_type: str) -> Parsed:
    data = _decode(raw, content_type)
    if not isinstance(data, dict):
        raise Problem("invalid_body", 400, "the body must be a JSON object")
    keys = set(data)
    if keys & DISCORD_KEYS and "text" not in keys:
        return Parsed("discord", _discord(data), _name(data.get("username"), "username"))
    if keys & SLACK_KEYS and "content" not in keys:
        return Parsed("slack", _slack(data), _name(data.get("username"), "username"))
    content = data.get("content")
    if not isinstance(content, str):
        raise Problem("invalid_field", 400, "content must be text", field="content")
    return Parsed("cryb", content, _name(data.get("name"), "name"))


def _decode(raw: bytes, content_type: str) -> Any:
    if content_type == "application/x-www-form-urlencoded":
        form = parse_qs(raw.decode("utf-8", "replace"))
        raw = (form.get("payload") or [""])[0].encode()
    if not raw:
        raise Problem("invalid_body", 400, "a JSON request body is required")
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as err:
        raise Problem("invalid_json", 400, f"body is not valid JSON: {err}") from None


def _name(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not (0 < len(value.strip()) <= MAX_NAME):
        raise Problem("invalid_field", 400, f"{field} must be 1 to {MAX_NAME} characters", field=field)
    return value.strip()


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _discord(data: dict[str, Any]) -> str:
    """content, then each embed as Markdown (title linked to its url, description, fields, footer)."""
    parts = [_text(data.get("content"))]
    embeds = data.get("embeds") or []
    if not isinstance(embeds, list):
        raise Problem("invalid_field", 400, "embeds must be a list", field="embeds")
    for embed in embeds[:10]:
        if not isinstance(embed, dict):
            continue
        lines = []
        author = embed.get("author")
        if isinstance(author, dict) and _text(author.get("name")):
            lines.append(f"*{_text(author.get('name'))}*")
        title, url = _text(embed.get("title")), _text(embed.get("url"))
        if title:
            lines.append(
                f"**[{title}]({url})**" if url.startswith(("http://", "https://")) else f"**{title}**"
            )
        if _text(embed.get("description")):
            lines.append(_text(embed.get("description")))
        for field in embed.get("fields") or []:
            if isinstance(field, dict) and (_text(field.get("name")) or _text(field.get("value"))):
                lines.append(f"**{_text(field.get('name'))}**: {_text(field.get('value'))}")
        footer = embed.get("footer")
        if isinstance(footer, dict) and _text(footer.get("text")):
            lines.append(f"_{_text(footer.get('text'))}_")
        if lines:
            parts.append("\n".join(lines))
    return "\n\n".join(p for p in parts if p)


def _slack(data: dict[str, Any]) -> str:
    """text, else the text of the blocks (section, header, context, rich text is left out), and
    the legacy attachments' pretext/title/text. Slack's <url|label> links become Markdown links."""
    parts: list[str] = []
    text = _text(data.get("text"))
    blocks = data.get("blocks") or []
    if isinstance(blocks, list):
        for block in blocks[:50]:
            if not isinstance(block, dict):
                continue
            t = block.get("text")
            if isinstance(t, dict) and _text(t.get("text")):
                parts.append(_text(t.get("text")))
            for f in block.get("fields") or []:
                if isinstance(f, dict) and _text(f.get("text")):
                    parts.append(_text(f.get("text")))
            if block.get("type") == "context":
                for el in block.get("elements") or []:
                    if isinstance(el, dict) and _text(el.get("text")):
                        parts.append(_text(el.get("text")))
    # With blocks, Slack shows the blocks and uses text as the notification fallback.
    if not parts and text:
        parts.append(text)
    for att in data.get("attachments") or []:
        if isinstance(att, dict):
            parts += [_text(att.get(k)) for k in ("pretext", "title", "text") if _text(att.get(k))]
    return _slack_links("\n\n".join(parts))


def _slack_links(text: str) -> str:
    return re.sub(
        r"<(https?://[^|>\s]+)\|([^>]+)>", r"[\2](\1)", re.sub(r"<(https?://[^|>\s]+)>", r"\1", text)
    )
