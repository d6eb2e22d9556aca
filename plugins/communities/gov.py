"""The base of every governance payload (events.py, onboarding_events.py)."""

from __future__ import annotations

import msgspec


class Gov(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Common to every governance payload. ``as_admin``: a node admin acting as moderator."""

    as_admin: bool = False
