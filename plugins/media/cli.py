"""`cryb media ...`: cleanup and figures (gc, stats) and the node admin's take-downs (list, takedown,
block, unblock, blocklist), calling the same functions as the scheduled job and the HTTP API. Actions
here are audited as the operator's (no actor id, `via: cli`)."""

from __future__ import annotations

from typing import Any

import click
import msgspec

from cryb_node.command import run_with_node
from cryb_node.node import Node
from cryb_node.problems import Problem

from . import gc, takedown
from .listing import list_media
from .schemas import AdminMediaItem, AdminMediaQuery, BlockEntry
from .service import MEDIA


def _run(settings: Any, fn: Any) -> Any:
    cfg = settings.config()

    async def go(node: Node) -> Any:
        media = node.services.get(MEDIA)
        if media is None:
            raise click.ClickException("the media plugin is not enabled")
        return await fn(media)

    try:
        return run_with_node(cfg, settings.plugins(cfg), go)
    except Problem as problem:
        where = f" ({problem.field})" if problem.field else ""
        raise click.ClickException(f"{problem.detail}{where}") from None


def _print(value: msgspec.Struct, as_json: bool) -> None:
    data = msgspec.to_builtins(value)
    if as_json:
        click.echo(msgspec.json.encode(data).decode())
        return
    for key, item in data.items():
        if isinstance(item, dict):
            item = ", ".join(f"{k}={v}" for k, v in item.items()) or "-"
        click.echo(f"{key:<20} {item}")


def media_group() -> click.Group:
    @click.group("media")
    def group() -> None:
        """Uploaded media: cleanup, figures, take-downs and the block list."""

    @group.command("gc")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_obj
    def gc_cmd(settings: Any, as_json: bool) -> None:
        """Delete orphaned uploads, unreferenced stored files and stale temp files now."""
        _print(_run(settings, gc.collect), as_json)

    @group.command("stats")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_obj
    def stats_cmd(settings: Any, as_json: bool) -> None:
        """Uploads, stored bytes (each distinct file once) and orphans, by kind."""
        _print(_run(settings, gc.stats), as_json)

    _admin_commands(group)
    return group


def _emit_json(value: Any) -> None:
    click.echo(msgspec.json.format(msgspec.json.encode(value), indent=2))


def _item_line(m: AdminMediaItem) -> str:
    state = "TAKEN DOWN" if m.taken_down else ("attached" if m.attached else "unattached")
    return (
        f"{m.id}  {m.kind:<5} {m.size:>10}  {m.sha256[:12]}  {m.owner_id}  {state:<10}  {m.filename or '-'}"
    )


def _entry_line(e: BlockEntry) -> str:
    derived = f" (+{e.derived} derived)" if e.derived else ""
    return f"{e.sha256}{derived}  {e.reason}"


def _check_sha(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not (len(value) == 64 and all(c in "0123456789abcdef" for c in value)):
        raise click.BadParameter("a sha256 is 64 lowercase hex digits")
    return value


def _admin_commands(group: click.Group) -> None:
    json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    reason_option = click.option(
        "--reason", required=True, help="Why (kept with the block list and audited)."
    )

    @group.command("list")
    @click.option(
        "--user", "user_id", help="Only this user's uploads (a user id: `cryb user show NAME` prints it)."
    )
    @click.option("--sha256", callback=_check_sha, help="Only uploads of these bytes.")
    @click.option("--after", help="Continue after this media id (the previous page's last).")
    @click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 200))
    @json_option
    @click.pass_obj
    def list_cmd(
        settings: Any, user_id: str | None, sha256: str | None, after: str | None, limit: int, as_json: bool
    ) -> None:
        """List uploads, newest first: id, kind, size, sha256, owner, state, filename."""
        q = AdminMediaQuery(user_id=user_id, sha256=sha256, after=after, limit=limit)
        page = _run(settings, lambda media: list_media(media, q))
        if as_json:
            _emit_json(page)
        else:
            click.echo("\n".join(_item_line(m) for m in page.items) or "no uploads")

    @group.command("takedown")
    @click.argument("media_id", required=False)
    @click.option("--sha256", callback=_check_sha, help="Take down every upload of these bytes instead.")
    @reason_option
    @json_option
    @click.pass_obj
    def takedown_cmd(
        settings: Any, media_id: str | None, sha256: str | None, reason: str, as_json: bool
    ) -> None:
        """Take down an upload (MEDIA_ID) or all uploads of some bytes (--sha256): served 404, refused
        to peers, stored files deleted, and the bytes refused at upload from now on."""
        if (media_id is None) == (sha256 is None):
            raise click.UsageError("give a MEDIA_ID or --sha256, not both")
        out = _run(
            settings,
            lambda media: takedown.take_down(
                media, takedown.CONSOLE, reason, media_id=media_id, sha256=sha256
            ),
        )
        if as_json:
            _emit_json(out)
            return
        click.echo(
            f"taken down: {len(out.media_ids)} uploads, {len(out.remote_ids)} remote media;"
            f" {out.blobs_deleted} stored files deleted; {len(out.blocked)} hashes blocked"
        )
        if out.blobs_pending:
            click.echo(f"{out.blobs_pending} stored files could not be deleted yet: `cryb media gc` retries")

    @group.command("block")
    @click.argument("sha256", callback=_check_sha)
    @reason_option
    @json_option
    @click.pass_obj
    def block_cmd(settings: Any, sha256: str, reason: str, as_json: bool) -> None:
        """Refuse these bytes at upload and from peers (uploads that already have them stay until
        taken down)."""
        out = _run(settings, lambda media: takedown.block(media, takedown.CONSOLE, sha256, reason))
        if as_json:
            _emit_json(out)
            return
        click.echo(f"blocked {sha256}")
        if out.matches:
            click.echo(
                f"{len(out.matches)} uploads here already have these bytes;"
                f" take them down with `cryb media takedown --sha256 {sha256} --reason ...`"
            )

    @group.command("unblock")
    @click.argument("sha256", callback=_check_sha)
    @click.pass_obj
    def unblock_cmd(settings: Any, sha256: str) -> None:
        """Accept these bytes again (taken-down media stays taken down)."""
        freed = _run(settings, lambda media: takedown.unblock(media, takedown.CONSOLE, sha256))
        click.echo(f"unblocked {sha256}" + (f" and {len(freed) - 1} derived" if len(freed) > 1 else ""))

    @group.command("blocklist")
    @click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 500))
    @json_option
    @click.pass_obj
    def blocklist_cmd(settings: Any, limit: int, as_json: bool) -> None:
        """The sha256 block list, newest first."""
        page = _run(settings, lambda media: takedown.blocklist(media, None, limit))
        if as_json:
            _emit_json(page)
        else:
            click.echo("\n".join(_entry_line(e) for e in page.entries) or "the block list is empty")
