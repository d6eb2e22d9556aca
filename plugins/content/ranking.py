"""Sort keys for feeds and comment trees (Reddit's published formulas), kept as pure functions so the
tests can check them against hand-computed orders.

hot(ups, downs, t)   = sign(s) * log10(max(|s|, 1)) + (t - 1134028003) / 45000, s = ups - downs,
                       t = creation time in seconds; rounded to 7 places. Ten times the score is worth
                       12.5 hours of age.
controversy(u, d)    = 0 if u == 0 or d == 0, else (u + d) ** (min(u, d) / max(u, d)): many votes,
                       evenly split, rank highest.
best(u, d)           = the lower bound of the Wilson score interval (z = 1.281551565545, 80%) for the
                       share of up votes: a comment with 10 up 0 down beats one with 1 up 0 down.
top                  = score (ups - downs) within a time window.
"""

from __future__ import annotations

import math

EPOCH_S = 1134028003
WINDOWS_S = {
    "hour": 3600,
    "day": 86400,
    "week": 7 * 86400,
    "month": 30 * 86400,
    "year": 365 * 86400,
    "all": None,
}
_Z = 1.281551565545


def hot(ups: int, downs: int, created_ms: int) -> float:
    s = ups - downs
    order = math.log10(max(abs(s), 1))
    sign = 1 if s > 0 else -1 if s < 0 else 0
    return round(sign * order + (created_ms / 1000 - EPOCH_S) / 45000, 7)


def controversy(ups: int, downs: int) -> float:
    if ups <= 0 or downs <= 0:
        return 0.0
    balance = downs / ups if ups > downs else ups / downs
    return float((ups + downs) ** balance)


def best(ups: int, downs: int) -> float:
    n = ups + downs
    if n == 0:
        return 0.0
    p = ups / n
    left = p + _Z * _Z / (2 * n)
    right = _Z * math.sqrt(p * (1 - p) / n + _Z * _Z / (4 * n * n))
    return (left - right) / (1 + _Z * _Z / n)
