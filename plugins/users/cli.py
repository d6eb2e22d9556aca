"""`cryb user ...` and `cryb audit`: the same service functions the HTTP API calls, on a node opened
without HTTP (cryb_node.cli.run_with_node). Safe to run beside a serving node: revocations it makes
reach the server's authenticator within revocation_poll_s."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
import msgspec

from cryb_node.command import emit, run_with_node
from cryb_node.node import Node
from cryb_node.problems import Problem

from . import accounts, console, emails
from .service import CLI, USERS, Users

T = TypeVar("T")


def with_users(settings: Any, fn: Callable[[Users], Awaitable[T]]) -> T:
    cfg = settings.config()

    async def go(node: Node) -> T:
        users = node.services.get(USERS)
        if users is None:
            raise click.ClickException("the users plugin is disabled")
        return await fn(users)

    try:
        return run_with_node(cfg, settings.plugins(cfg), go)
    except Problem as problem:
        where = f" ({problem.field})" if problem.field else ""
        raise click.ClickException(f"{problem.detail}{where}") from None


def _row(a: accounts.AccountSummary) -> str:
    flags = " ".join(f for f, on in (("admin", a.admin), ("2fa", a.totp_enabled)) if on)
    return f"{a.id}  {a.username:<24} {a.status:<11} {a.email or '-':<32} {flags}"


def _user_row(a: console.AdminUser) -> str:
    flags = " ".join(f for f, on in (("admin", a.admin), ("2fa", a.totp_enabled)) if on)
    seen = _day(a.last_seen_at) if a.last_seen_at else "never"
    when = f"{_day(a.created_at)} {seen:<10}"
    return f"{a.id}  {a.username:<24} {a.status:<11} {a.email or '-':<32} {when} {flags}"


def _day(ts: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def _detail(d: console.UserDetail) -> str:
    lines = [
        _user_row(d),
        f"  display name: {d.display_name or '-'}",
        f"  sessions: {d.sessions}",
    ]
    if d.written is not None:
        w = d.written
        lines.append(f"  wrote: {w.messages} messages, {w.posts} posts, {w.comments} comments")
    lines += [f"  {_audit_line(e)}" for e in d.audit[:10]]
    return "\n".join(lines)


def _parse(type_: type[T], **values: Any) -> T:
    """Options checked by the same Struct the HTTP route decodes, so the CLI refuses the same input."""
    try:
        return msgspec.convert({k: v for k, v in values.items() if v is not None}, type_)
    except msgspec.ValidationError as err:
        raise click.BadParameter(str(err)) from None


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group("user")
def user_group() -> None:
    """Manage local accounts."""


@user_group.command("create")
@click.argument("username")
@click.option("--email", required=True, help="Email address (stored encrypted).")
@click.password_option(help="Password (prompted, hidden, when not given).")
@click.option(
    "--admin", is_flag=True, help="Make the account a node admin (the first one bootstraps the node)."
)
@json_option
@click.pass_obj
def create(settings: Any, username: str, email: str, password: str, admin: bool, as_json: bool) -> None:
    """Create an account (email counts as verified: the operator vouches for it)."""

    async def go(users: Users) -> accounts.AccountSummary:
        user_id, _ = await users.create_account(
            username, email, password, client=CLI, admin=admin, verified=True, session=False
        )
        if admin:
            users.first_run.done()  # a serving node's setup link dies with an admin in place
        return await accounts.find(users, user_id)

    emit(with_users(settings, go), as_json, lambda a: f"created {_row(a)}")


@user_group.command("list")
@click.option("--search", "q", default="", help="Part of a username or display name, an email, or an id.")
@click.option("--status", default=None, help="Only this status: active, disabled, deactivated or deleted.")
@click.option("--admin", "admins", is_flag=True, help="Only node admins.")
@click.option("--after", default=None, help="The last id of the previous page (newest first).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 200))
@json_option
@click.pass_obj
def list_cmd(
    settings: Any, q: str, status: str | None, admins: bool, after: str | None, limit: int, as_json: bool
) -> None:
    """List and search accounts, newest first (erased ones only with --status deleted)."""
    search = _parse(
        console.UserSearch, q=q, status=status, admin=True if admins else None, after=after, limit=limit
    )
    page = with_users(settings, lambda users: console.search(users, search))
    emit(page.users, as_json, lambda rs: "\n".join(_user_row(a) for a in rs) or "no accounts")
    if page.next_after and not as_json:
        click.echo(f"more: --after {page.next_after}")


@user_group.command("show")
@click.argument("who")
@json_option
@click.pass_obj
def show(settings: Any, who: str, as_json: bool) -> None:
    """Show one account (by id, username or email): sessions, what it wrote, latest audit entries."""

    async def go(users: Users) -> console.UserDetail:
        return await console.show(users, (await accounts.find(users, who)).id)

    emit(with_users(settings, go), as_json, _detail)


def _update_command(name: str, patch: console.UserPatch, done: str, help_text: str) -> None:
    @user_group.command(name, help=help_text)
    @click.argument("who")
    @click.pass_obj
    def command(settings: Any, who: str) -> None:
        async def go(users: Users) -> None:
            await console.update(users, (await accounts.find(users, who)).id, patch, CLI)

        with_users(settings, go)
        click.echo(f"{who}: {done}")


_update_command(
    "disable", console.UserPatch(status="disabled"), "disabled",
    "Disable an account: it is signed out everywhere and cannot sign in.",
)  # fmt: skip
_update_command(
    "enable", console.UserPatch(status="active"), "active", "Enable a disabled or deactivated account again."
)
_update_command("promote", console.UserPatch(admin=True), "node admin", "Make an account a node admin.")
_update_command(
    "demote", console.UserPatch(admin=False), "no longer a node admin",
    "Make a node admin an ordinary account (never the last active admin).",
)  # fmt: skip


@user_group.command("sign-out")
@click.argument("who")
@click.pass_obj
def sign_out(settings: Any, who: str) -> None:
    """End every session of an account (it can sign in again)."""

    async def go(users: Users) -> int:
        return await console.sign_out(users, (await accounts.find(users, who)).id, CLI)

    click.echo(f"{who}: {with_users(settings, go)} session(s) signed out")


def _confirming_command(name: str, help_text: str) -> Callable[[Callable[..., Any]], Any]:
    """erase and purge-content: the account's username must be typed (or --yes given)."""

    def wrap(act: Callable[[Users, str, str], Awaitable[str]]) -> Any:
        @user_group.command(name, help=help_text)
        @click.argument("who")
        @click.option("--yes", is_flag=True, help="Do not ask; the account's username counts as typed.")
        @click.pass_obj
        def command(settings: Any, who: str, yes: bool) -> None:
            account = with_users(settings, lambda users: accounts.find(users, who))
            typed = (
                account.username if yes else click.prompt(f"Type {account.username} to {name} it", default="")
            )
            click.echo(f"{who}: {with_users(settings, lambda users: act(users, account.id, typed))}")

        return command

    return wrap


@_confirming_command("erase", "Erase an account and everything it wrote, on every node (final).")
async def erase(users: Users, account_id: str, typed: str) -> str:
    await console.erase(users, account_id, typed, CLI)
    return "erased"


@_confirming_command(
    "purge-content", "Delete everything an account wrote, on every node (final); the account stays."
)
async def purge_content(users: Users, account_id: str, typed: str) -> str:
    return f"{await console.purge_content(users, account_id, typed, CLI)} item(s) deleted"


@user_group.command("reset-password")
@click.argument("who")
@click.option("--password", default=None, help="Set this password now (else: print a single-use reset link).")
@click.pass_obj
def reset_password(settings: Any, who: str, password: str | None) -> None:
    """Reset a password: set it directly, or issue a reset link (mailed when SMTP is set up)."""

    async def go(users: Users) -> str | None:
        account = await accounts.find(users, who)
        if password is not None:
            if len(password) < 10:
                raise click.BadParameter("at least 10 characters", param_hint="--password")
            await accounts.set_password(users, account.id, password, CLI)
            return None
        return await emails.send_reset(users, account.id, CLI)

    url = with_users(settings, go)
    click.echo(f"{who}: password set; every session signed out" if url is None else f"reset link: {url}")


@user_group.command("verify-link")
@click.argument("who")
@click.pass_obj
def verify_link(settings: Any, who: str) -> None:
    """Issue an email verification link (mailed when SMTP is set up) and print it."""

    async def go(users: Users) -> str:
        return await emails.send_verification(users, (await accounts.find(users, who)).id, CLI)

    click.echo(f"verification link: {with_users(settings, go)}")


@click.command("audit")
@click.option("--user", "who", default=None, help="Only entries about this account (id, username or email).")
@click.option("--action", default=None, help="Only this action, e.g. login.failed.")
@click.option("--limit", default=50, show_default=True)
@json_option
@click.pass_obj
def audit_cmd(settings: Any, who: str | None, action: str | None, limit: int, as_json: bool) -> None:
    """Show the audit log, newest first."""

    async def go(users: Users) -> Any:
        user_id = (await accounts.find(users, who)).id if who else None
        return await users.audit_page(user_id, action, None, limit)

    page = with_users(settings, go)
    emit(page.entries, as_json, lambda es: "\n".join(_audit_line(e) for e in es) or "no entries")


def _audit_line(e: Any) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e.at / 1000))
    who = f"user={e.user_id or '-'} actor={e.actor_id or '-'} ip={e.ip or '-'}"
    return f"{e.id:>6} {when} {e.action:<26} {who}"


COMMANDS: list[click.Command] = [user_group, audit_cmd]
