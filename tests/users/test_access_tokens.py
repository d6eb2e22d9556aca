"""Access tokens are verified once and remembered until they expire; the node's clock decides expiry
for remembered and fresh tokens alike, and a revoked session is refused on every use."""

from __future__ import annotations

import jwt
from cryb_plugins.users.tokens import ALGORITHM, VERIFIED_MAX, AccessTokens

KEY = b"k" * 32


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_a_remembered_token_still_expires_and_still_honours_revocation():
    clock = Clock(1_000_000.0)
    tokens = AccessTokens(KEY, ttl_s=60, db=None, poll_s=1.0, clock=clock)  # type: ignore[arg-type]
    token = tokens.issue("u1", "s1", admin=False)
    first = await tokens.authenticate(token)
    assert first is not None and (first.user_id, first.session_id, first.admin) == ("u1", "s1", False)
    assert token in tokens._verified  # the second use skips the JWT check
    clock.now += 59
    assert (await tokens.authenticate(token)) == first
    clock.now += 1  # exp reached: refused although it was remembered
    assert await tokens.authenticate(token) is None
    assert token not in tokens._verified

    other = tokens.issue("u2", "s2", admin=False)  # admin claims are re-read from the database
    assert await tokens.authenticate(other) is not None
    tokens.revoked("s2")
    assert await tokens.authenticate(other) is None


async def test_forged_and_foreign_tokens_are_not_remembered():
    clock = Clock(1_000_000.0)
    tokens = AccessTokens(KEY, ttl_s=60, db=None, poll_s=1.0, clock=clock)  # type: ignore[arg-type]
    claims = {"sub": "u1", "sid": "s1", "adm": True, "iat": 1_000_000, "exp": 1_000_060, "typ": "access"}
    forged = jwt.encode(claims, b"x" * 32, algorithm=ALGORITHM)
    refresh = jwt.encode({**claims, "typ": "refresh"}, KEY, algorithm=ALGORITHM)
    expired = jwt.encode({**claims, "exp": 999_999}, KEY, algorithm=ALGORITHM)
    for bad in (forged, refresh, expired, "not.a.jwt"):
        assert await tokens.authenticate(bad) is None
    assert not tokens._verified


async def test_the_memory_of_verified_tokens_is_bounded():
    tokens = AccessTokens(KEY, ttl_s=600, db=None, poll_s=1.0, clock=Clock(1_000_000.0))  # type: ignore[arg-type]
    for i in range(VERIFIED_MAX + 50):
        assert await tokens.authenticate(tokens.issue(f"u{i}", f"s{i}", admin=False)) is not None
    assert len(tokens._verified) == VERIFIED_MAX
