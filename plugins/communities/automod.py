"""Automod: per-community rules checked against text a member is about to post.

Rules are governance events (automod.set/delete); what they catch is recorded as automod.action
events (the mod log) and flagged text lands in the reports queue. Regex rules run on RE2, whose
matching time is linear in the text (no backtracking, so `(a|aa)+$` cannot explode); patterns RE2
cannot run (backreferences, lookaround) are refused when a rule is set. A community holds at most
MAX_PATTERNS patterns, and a message is checked in a worker thread within EVALUATION_BUDGET_S, so
no set of rules can stall the event loop. Refusals name the rule, never its pattern: members do not
get to read the rules they trip.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import msgspec

from cryb_node import lazy
from cryb_node.clock import new_id
from cryb_node.db import Database
from cryb_node.problems import Problem, forbidden, not_found
from cryb_node.services import AutomodVerdict, Perm

from . import events as ev
from . import queries, queries_moderation
from . import schemas as s
from .moderation import Moderation
from .service import Actor, Communities, Step

if TYPE_CHECKING:
    import re2
    import regex
else:  # RE2 and regex (~4 MiB) are loaded by the first community with automod rules
    re2 = lazy.module("re2")
    regex = lazy.module("regex")

log = logging.getLogger(__name__)

# Regex patterns across all of a community's rules (20 rules of 10, or 10 of 20), and rules in all.
MAX_PATTERNS = 200
MAX_RULES = 50
# Wall time one message's check may take; rules not reached by then count as no match (logged).
EVALUATION_BUDGET_S = 0.5
SEVERITY = {"allow": 0, "flag": 1, "block": 2, "timeout": 3}
_LINK = re.compile(r"(?i)\b(?:https?://|www\.)([^\s/?#<>\"']+)")
_INVITE = re.compile(r"(?i)\b(?:discord(?:app)?\.com/invite|discord\.gg|/invites?)/[\w-]{2,}")
_MENTION = re.compile(r"<@[!&]?([\w-]+)>|@(everyone|here)\b|(?<![\w.])@([\w.-]{2,32})")
_CROCKFORD = {c: i for i, c in enumerate("0123456789abcdefghjkmnpqrstvwxyz")}

Matcher = Callable[[str, "Context"], str | None]


@dataclass(frozen=True)
class Context:
    user_id: str
    now: int
    joined_at: int | None


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    kind: str
    action: str
    timeout_s: int
    match: Matcher


@cache
def _re2_options() -> re2.Options:
    options = lazy.ready(re2).Options()
    options.case_sensitive = False
    options.log_errors = False  # a refused pattern is the member's 400, not a line on stderr
    options.max_mem = 1 << 20  # per pattern; past it RE2 falls back to a slower linear matcher
    return options


def compile_pattern(pattern: str) -> re2._Regexp:
    """Compile with RE2; raises re2.error for what it cannot run."""
    return re2.compile(pattern, _re2_options())


def validate(config: s.AutomodConfigIn, kind: str) -> None:
    """Refuse rules that cannot work (400 naming the field) before they become events."""
    if kind == "regex":
        if not config.patterns:
            raise Problem("invalid_field", 400, "a regex rule needs patterns", field="config.patterns")
        for i, pattern in enumerate(config.patterns):
            try:
                compile_pattern(pattern)
            except re2.error as err:
                why = (
                    err.args[0].decode(errors="replace")
                    if err.args and isinstance(err.args[0], bytes)
                    else err
                )
                raise Problem(
                    "invalid_regex", 400,
                    f"RE2 cannot compile this pattern ({why}); no backreferences or lookaround",
                    field=f"config.patterns[{i}]",
                ) from None  # fmt: skip
    if kind == "words" and not config.words:
        raise Problem("invalid_field", 400, "a words rule needs words", field="config.words")


def account_created_ms(user_id: str) -> int | None:
    """Node user ids are time-sortable (cryb_node.clock.new_id): the first 10 characters are ms."""
    if len(user_id) != 26:
        return None
    try:
        value = 0
        for ch in user_id[:10].lower():
            value = value * 32 + _CROCKFORD[ch]
    except KeyError:
        return None
    return value  # 26 chars hold 130 bits of a 128-bit value: the first 10 are exactly the ms


def compile_rule(
    rule_id: str, name: str, kind: str, config: ev.AutomodConfig, action: str, timeout_s: int
) -> Rule:
    match: Matcher
    if kind == "words":
        words = lazy.ready(regex).compile(
            r"\b(?:" + "|".join(re.escape(w) for w in config.words) + r")\b", regex.IGNORECASE
        )

        def match(text: str, ctx: Context) -> str | None:
            m = words.search(text)
            return f"blocked word {m.group(0).lower()!r}" if m else None

    elif kind == "regex":
        patterns = []
        for p in config.patterns:
            try:
                patterns.append(compile_pattern(p))
            except re2.error:
                # Only a peer's rule can get here (ours are refused when set).
                log.warning("automod rule %s: pattern RE2 cannot run; skipped", rule_id)

        def match(text: str, ctx: Context) -> str | None:
            for i, p in enumerate(patterns):
                if p.search(text):
                    return f"matched pattern {i + 1}"  # not the pattern itself: see the docstring
            return None

    elif kind == "links":
        allowed = [d.lower().lstrip(".") for d in config.allowed_domains]

        def match(text: str, ctx: Context) -> str | None:
            for m in _LINK.finditer(text):
                host = m.group(1).rsplit("@", 1)[-1].split(":", 1)[0].lower().rstrip(".")
                if not any(host == d or host.endswith("." + d) for d in allowed):
                    return f"link to {host}"
            return None

    elif kind == "invites":

        def match(text: str, ctx: Context) -> str | None:
            return "invite link" if _INVITE.search(text) else None

    elif kind == "mentions":
        limit = config.max_mentions

        def match(text: str, ctx: Context) -> str | None:
            found = {next(g for g in m.groups() if g) for m in _MENTION.finditer(text)}
            return f"{len(found)} mentions (limit {limit})" if len(found) > limit else None

    else:  # new_account

        def match(text: str, ctx: Context) -> str | None:
            created = account_created_ms(ctx.user_id)
            if created is not None and ctx.now - created < config.min_account_age_s * 1000:
                return f"account younger than {config.min_account_age_s}s"
            if ctx.joined_at is not None and ctx.now - ctx.joined_at < config.min_member_age_s * 1000:
                return f"member for less than {config.min_member_age_s}s"
            return None

    return Rule(rule_id, name, kind, action, timeout_s, match)


def _match_all(
    rules: list[Rule], text: str, ctx: Context, deadline: float, monotonic: Callable[[], float]
) -> tuple[list[tuple[Rule, str]], int]:
    """Every rule's verdict on ``text`` until ``deadline`` (on the ``monotonic`` clock); returns the
    hits and how many rules were left unchecked."""
    hits: list[tuple[Rule, str]] = []
    for n, rule in enumerate(rules):
        if monotonic() > deadline:
            return hits, len(rules) - n
        reason = rule.match(text, ctx)
        if reason is not None:
            hits.append((rule, reason))
    return hits, 0


_decode_config = msgspec.json.Decoder(ev.AutomodConfig).decode


class AutomodService:
    """Implements cryb_node.services.Automod."""

    def __init__(self, communities: Communities, moderation: Moderation) -> None:
        self.c = communities
        self.mod = moderation
        self._compiled: dict[str, tuple[int, list[Rule]]] = {}

    @property
    def db(self) -> Database:
        return self.c.node.db

    async def compiled(self, community_id: str) -> list[Rule]:
        gen = self.c.perms.generation(community_id)
        hit = self._compiled.get(community_id)
        if hit is not None and hit[0] == gen:
            return hit[1]
        rows = await queries_moderation.enabled_rules(self.db, community_id)
        rules, patterns = [], 0
        for r in rows[:MAX_RULES]:
            config, kind = _decode_config(r["config"]), r["kind"]
            patterns += len(config.patterns) if kind == "regex" else 0
            if patterns > MAX_PATTERNS:
                # Rules set here are capped when set; rules from a peer are capped here.
                log.warning("automod: community %s has over %d patterns; later rules skipped", community_id,
                            MAX_PATTERNS)  # fmt: skip
                break
            rules.append(compile_rule(r["id"], r["name"], kind, config, r["action"], r["timeout_s"]))
        if self.c.perms.generation(community_id) == gen:
            self._compiled[community_id] = (gen, rules)
        return rules

    async def evaluate(self, community_id: str, user_id: str, text: str) -> list[tuple[Rule, str]]:
        rules = await self.compiled(community_id)
        if not rules:
            return []  # most communities have none: no read per message for them
        joined = await queries.joined_at(self.db, community_id, user_id)
        clock = self.c.node.clock
        ctx = Context(user_id, clock.time_ms(), joined)
        # Off the event loop: the loop keeps serving everyone else while rules run.
        deadline = clock.monotonic() + EVALUATION_BUDGET_S
        hits, skipped = await asyncio.to_thread(_match_all, rules, text, ctx, deadline, clock.monotonic)
        if skipped:
            log.warning("automod: budget spent in community %s; %d rules not checked", community_id, skipped)
        return hits

    async def check(
        self,
        community_id: str,
        user_id: str,
        text: str,
        *,
        channel_id: str | None = None,
        target_type: str = "text",
        target_id: str | None = None,
        dry_run: bool = False,
    ) -> AutomodVerdict:
        """What content calls before posting: allow, flag (post it; a report is filed), block (refuse),
        or timeout (refuse, and the member is timed out). Members who manage the community are exempt."""
        if not dry_run and await self.c.perms.community(user_id, community_id) & Perm.MANAGE_COMMUNITY:
            return AutomodVerdict("allow")
        hits = await self.evaluate(community_id, user_id, text)
        if not hits:
            return AutomodVerdict("allow")
        worst, why = max(hits, key=lambda h: SEVERITY[h[0].action])
        verdict = AutomodVerdict(worst.action, worst.id, f"{worst.name}: {why}")
        if dry_run:
            return verdict
        now = self.c.node.clock.time_ms()
        steps = [
            Step(
                "automod.action",
                community_id,
                user_id,
                ev.AutomodAction(
                    rule_id=rule.id,
                    action=rule.action,
                    reason=f"{rule.name}: {reason}",
                    until=now + rule.timeout_s * 1000 if rule.action == "timeout" else None,
                ),
            )
            for rule, reason in hits
        ]
        await self.c.write(Actor(None), *steps)
        for rule, reason in hits:
            if rule.action == "flag":
                await self.mod.file_report(
                    community_id, None, target_type, target_id or channel_id or "", user_id,
                    f"automod {rule.name}: {reason}", text[:500], rule.id,
                )  # fmt: skip
        return verdict

    # -- rules ------------------------------------------------------------------------------------

    async def rules(self, actor: Actor, community_id: str) -> s.AutomodRuleList:
        await self.c.require(actor, community_id, Perm.MANAGE_COMMUNITY, "automod rules")
        return s.AutomodRuleList(await queries_moderation.automod_rules(self.db, community_id))

    async def set_rule(
        self, actor: Actor, community_id: str, body: s.AutomodRuleIn, rule_id: str | None = None
    ) -> s.AutomodRuleOut:
        await self.c.require(actor, community_id, Perm.MANAGE_COMMUNITY, "automod rules")
        validate(body.config, body.kind)
        await self._check_caps(community_id, body, rule_id)
        if body.action == "timeout" and body.timeout_s < 1:
            raise Problem("invalid_field", 400, "a timeout rule needs timeout_s", field="timeout_s")
        rule_id = rule_id or new_id()
        config = msgspec.convert(msgspec.structs.asdict(body.config), ev.AutomodConfig)
        payload = ev.AutomodSet(
            name=body.name, kind=body.kind, config=config, action=body.action,
            timeout_s=body.timeout_s, enabled=body.enabled,
        )  # fmt: skip
        await self.c.write(actor, Step("automod.set", community_id, rule_id, payload))
        return await self.rule(community_id, rule_id)

    async def _check_caps(self, community_id: str, body: s.AutomodRuleIn, rule_id: str | None) -> None:
        rows = await queries_moderation.rule_sizes(self.db, community_id)
        others = [r for r in rows if r["id"] != rule_id]
        if len(others) + 1 > MAX_RULES:
            raise Problem("too_many_rules", 400, f"a community has at most {MAX_RULES} automod rules")
        used = sum(len(_decode_config(r["config"]).patterns) for r in others if r["kind"] == "regex")
        new = len(body.config.patterns) if body.kind == "regex" else 0
        if used + new > MAX_PATTERNS:
            raise Problem(
                "too_many_patterns", 400,
                f"a community's regex rules hold at most {MAX_PATTERNS} patterns in all ({used} in use)",
                field="config.patterns",
            )  # fmt: skip

    async def delete_rule(self, actor: Actor, community_id: str, rule_id: str) -> None:
        await self.c.require(actor, community_id, Perm.MANAGE_COMMUNITY, "automod rules")
        await self.c.write(actor, Step("automod.delete", community_id, rule_id, ev.Empty()))

    async def rule(self, community_id: str, rule_id: str) -> s.AutomodRuleOut:
        found = await queries_moderation.automod_rule(self.db, community_id, rule_id)
        if found is None:
            raise not_found("automod rule")
        return found

    async def test(self, actor: Actor, community_id: str, body: s.AutomodCheckIn) -> s.AutomodCheckOut:
        """The route behind POST .../automod/check: as content would check a member's text."""
        await self.c.community_row(community_id, actor)
        if body.dry_run:
            await self.c.require(actor, community_id, Perm.MANAGE_COMMUNITY, "testing automod rules")
        elif actor.user_id is None or not (await self.c.perms.member(community_id, actor.user_id)).member:
            raise forbidden("only members post in this community")
        elif not await self.c.perms.community(actor.user_id, community_id) & Perm.SEND_MESSAGES:
            raise Problem("cannot_send", 403, "you may not post here now (timed out?)")
        verdict = await self.check(
            community_id, actor.user_id or "", body.text, channel_id=body.channel_id, dry_run=body.dry_run
        )
        if not body.dry_run and verdict.action in ("block", "timeout"):
            raise Problem("automod_blocked", 422, f"blocked by automod: {verdict.reason}", field="text")
        return s.AutomodCheckOut(action=verdict.action, rule_id=verdict.rule_id, reason=verdict.reason)
