"""Bot defences for sign-up that need no third-party service (the node may run offline): sign-up rate
limits per client address and node-wide, and a stateless proof-of-work challenge.

Both keep what must outlive a restart in the core ``rate_state`` table (ExpiringStore): the limit
windows, and the challenges already used (until they expire), so a restart neither lifts a limit
nor lets a solved challenge be replayed. Times are wall-clock seconds from ``clock`` (the node's,
which tests move forward).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Callable

from cryb_node.config import RateLimitSection, RateRule
from cryb_node.db import Database
from cryb_node.http.ratelimit import RateLimiter
from cryb_node.http.ratestore import ExpiringStore
from cryb_node.problems import Problem

from .registration_schemas import PowChallenge
from .schemas import PowSolution, Settings

Clock = Callable[[], float]


class Refusal(Exception):
    """A sign-up turned away: ``reason`` goes to the audit log, ``problem`` to the client (which may
    say less than the reason: the honeypot's answer does not tell the bot why)."""

    def __init__(self, reason: str, problem: Problem) -> None:
        super().__init__(reason)
        self.reason = reason
        self.problem = problem


class SignupLimits:
    """Sign-ups per client address and in all, in fixed windows (the gateway's RateLimiter, with two
    rules of our own). The address is checked first, so one address that is over its limit cannot
    use up the node-wide allowance."""

    def __init__(self, s: Settings, enabled: bool, clock: Clock) -> None:
        self.enabled = enabled
        self._clock = clock
        self.limiter = RateLimiter(
            RateLimitSection(
                default=RateRule(
                    limit=s.registration_address_limit, window_s=s.registration_address_window_s
                ),
                buckets={
                    "all": RateRule(
                        limit=s.registration_global_limit, window_s=s.registration_global_window_s
                    )
                },
            ),
            clock=clock,
        )

    async def attach(self, db: Database) -> None:
        await self.limiter.attach(ExpiringStore(db, "users.signup", clock=self._clock))

    async def detach(self) -> None:
        await self.limiter.detach()

    def hit(self, address: str) -> None:
        if not self.enabled:
            return
        for bucket, caller, reason, who in (
            ("address", address, "rate_address", "from your address"),
            ("all", "*", "rate_global", "on this node"),
        ):
            verdict = self.limiter.hit(bucket, caller)
            if not verdict.allowed:
                wait = max(1, math.ceil(verdict.reset_after))
                raise Refusal(
                    reason,
                    Problem(
                        "signup_rate_limited", 429, f"too many sign-ups {who}; try again in {wait} s",
                        headers={"Retry-After": str(wait)},
                    ),
                )  # fmt: skip


def _pow_problem(code: str, detail: str) -> Problem:
    return Problem(code, 400, detail, field="pow")


def zero_bits(digest: bytes) -> int:
    """How many leading zero bits a hash has."""
    return len(digest) * 8 - int.from_bytes(digest, "big").bit_length()


class ProofOfWork:
    """Challenges are ``bits.expires.id.mac``: HMAC-signed, so the node keeps nothing per challenge
    it hands out; only a used one is remembered (by id, until it expires) so it works once."""

    def __init__(self, key: bytes, clock: Clock) -> None:
        self._key = key
        self._clock = clock
        self._used: dict[str, float] = {}
        self._store: ExpiringStore | None = None
        self._next_sweep = 0.0

    async def attach(self, db: Database) -> None:
        store = ExpiringStore(db, "users.pow", clock=self._clock)
        for challenge_id, expires in (await store.load()).items():
            self._used[challenge_id] = float(expires)
        self._store = store
        store.start()

    async def detach(self) -> None:
        if self._store is not None:
            await self._store.close()
            self._store = None

    def _mac(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self, bits: int, ttl_s: int) -> PowChallenge:
        expires = int(self._clock()) + ttl_s
        text = f"{bits}.{expires}.{secrets.token_hex(12)}"
        return PowChallenge(f"{text}.{self._mac(text)}", bits, expires)

    def check(self, solution: PowSolution | None, bits_needed: int) -> None:
        """Accept a solved challenge once, or raise Refusal (pow_missing | invalid | expired | replayed)."""
        if solution is None:
            raise Refusal("pow_missing", _pow_problem("pow_required", "solve the sign-up challenge first"))
        parts = solution.challenge.split(".")
        bad = Refusal("pow_invalid", _pow_problem("pow_invalid", "the sign-up challenge is not solved"))
        if len(parts) != 4 or not parts[0].isdigit() or not parts[1].isdigit():
            raise bad
        text = ".".join(parts[:3])
        if not hmac.compare_digest(self._mac(text), parts[3]) or int(parts[0]) < bits_needed:
            raise bad
        now, expires, challenge_id = self._clock(), int(parts[1]), parts[2]
        if expires <= now:
            raise Refusal(
                "pow_expired", _pow_problem("pow_expired", "the sign-up challenge expired; get a new one")
            )
        self._sweep(now)
        if challenge_id in self._used:
            raise Refusal(
                "pow_replayed", _pow_problem("pow_replayed", "this sign-up challenge was already used")
            )
        digest = hashlib.sha256(f"{solution.challenge}:{solution.nonce}".encode()).digest()
        if zero_bits(digest) < int(parts[0]):
            raise bad
        self._used[challenge_id] = float(expires)
        if self._store is not None:
            self._store.put(challenge_id, expires, float(expires))

    def _sweep(self, now: float) -> None:
        # Forget used challenges once they could not be accepted anyway (at most once a minute).
        if now < self._next_sweep:
            return
        self._next_sweep = now + 60
        for challenge_id in [c for c, until in self._used.items() if until <= now]:
            del self._used[challenge_id]


def solve(challenge: str, bits: int) -> str:
    """A reference solver: what the browser does (web/js/pow.js), for scripted clients and tests."""
    for n in range(1 << 40):
        if zero_bits(hashlib.sha256(f"{challenge}:{n}".encode()).digest()) >= bits:
            return str(n)
    raise AssertionError("unreachable")
