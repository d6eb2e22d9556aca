"""`cryb token create|list|revoke` and `cryb user applications|approve|reject`: sign-up control from
the command line, through the same functions as the admin API (registration.py,
registration_tokens.py)."""

from __future__ import annotations

import time
from typing import Any

import click

from cryb_node.command import emit

from . import accounts
from . import registration_tokens as tokens
from .cli import json_option, user_group, with_users
from .registration import registration_of
from .registration_schemas import ApplicationDecision, ApplicationList, RegistrationTokenOut
from .service import CLI, Users


def _when(ts: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts)) if ts else "never"


def _token_line(t: RegistrationTokenOut) -> str:
    uses = f"{t.uses}/{t.max_uses}" if t.max_uses is not None else f"{t.uses}/-"
    return f"{t.id}  {t.hint}…  {t.state:<8} uses {uses:<9} expires {_when(t.expires_at)}"


@click.group("token")
def token_group() -> None:
    """Registration tokens: what lets someone sign up when registration = "invite"."""


def _duration(ctx: Any, param: Any, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return tokens.parse_duration(value)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None


@token_group.command("create")
@click.option(
    "--uses",
    type=click.IntRange(min=1),
    default=None,
    help="How many sign-ups it admits (default: no limit).",
)
@click.option(
    "--expires", callback=_duration, default=None, help="Lifetime, e.g. 30m, 12h, 7d, 2w (default: never)."
)
@json_option
@click.pass_obj
def create_cmd(settings: Any, uses: int | None, expires: int | None, as_json: bool) -> None:
    """Make a token. It is printed once: only its hash is kept."""

    async def go(users: Users) -> RegistrationTokenOut:
        return await tokens.create(users, CLI, uses=uses, expires_in_s=expires)

    emit(with_users(settings, go), as_json, lambda t: f"{t.token}\n{_token_line(t)}")


@token_group.command("list")
@click.option("--active", is_flag=True, help="Only tokens that still admit someone.")
@json_option
@click.pass_obj
def list_cmd(settings: Any, active: bool, as_json: bool) -> None:
    """List tokens, newest first (their hints; the tokens themselves are not kept)."""

    async def go(users: Users) -> list[RegistrationTokenOut]:
        return await tokens.list_tokens(users, include_spent=not active)

    emit(with_users(settings, go), as_json, lambda ts: "\n".join(_token_line(t) for t in ts) or "no tokens")


@token_group.command("revoke")
@click.argument("token")
@json_option
@click.pass_obj
def revoke_cmd(settings: Any, token: str, as_json: bool) -> None:
    """Revoke a token, given itself or its id."""

    async def go(users: Users) -> RegistrationTokenOut:
        return await tokens.revoke(users, token, CLI)

    emit(with_users(settings, go), as_json, lambda t: f"revoked {_token_line(t)}")


@user_group.command("applications")
@json_option
@click.pass_obj
def applications_cmd(settings: Any, as_json: bool) -> None:
    """Sign-ups waiting for approval (registration = "approval"), oldest first, with their answers."""
    page = with_users(settings, lambda users: registration_of(users).applications())

    def text(p: ApplicationList) -> str:
        lines = [f"Question: {p.question}"] if p.applications else []
        for a in p.applications:
            lines.append(f"{a.user_id}  {a.username:<24} {a.email or '-':<32} applied {_when(a.created_at)}")
            lines.append(f"    {a.answer}")
        return "\n".join(lines) or "no applications waiting"

    emit(page, as_json, text)


def _decide(settings: Any, who: str, approve: bool, reason: str = "") -> ApplicationDecision:
    async def go(users: Users) -> ApplicationDecision:
        account = await accounts.find(users, who)
        return await registration_of(users).decide(account.id, approve, CLI, reason=reason)

    return with_users(settings, go)


@user_group.command("approve")
@click.argument("who")
@json_option
@click.pass_obj
def approve_cmd(settings: Any, who: str, as_json: bool) -> None:
    """Approve an application (by id, username or email); the applicant is mailed."""
    emit(_decide(settings, who, True), as_json, lambda d: f"{who}: approved{' (mailed)' if d.mailed else ''}")


@user_group.command("reject")
@click.argument("who")
@click.option("--reason", default="", help="A note for the applicant's mail (not stored).")
@json_option
@click.pass_obj
def reject_cmd(settings: Any, who: str, reason: str, as_json: bool) -> None:
    """Reject an application; the applicant is mailed and their personal data is wiped."""
    decision = _decide(settings, who, False, reason)
    emit(decision, as_json, lambda d: f"{who}: rejected, details wiped{' (mailed)' if d.mailed else ''}")
