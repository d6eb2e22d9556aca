"""`cryb scale`: preparing edges (docs/scaling.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import snapshot


@click.group("scale")
def scale_group() -> None:
    """Edges and workers: run the node on more cores and machines (docs/scaling.md)."""


@scale_group.command("snapshot")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def snapshot_cmd(settings, dest: Path) -> None:
    """Copy this node's database and keys into DEST, a new edge's data directory (safe while serving)."""
    cfg = settings.config()
    try:
        position = snapshot.take(cfg.data_path, dest)
    except (FileNotFoundError, FileExistsError) as err:
        click.echo(f"cryb: {err}", err=True)
        sys.exit(1)
    click.echo(f"snapshot at log position {position} in {dest}")
    click.echo(f"start the edge: cryb serve --data {dest} --role edge --primary URL --nats URL")


@scale_group.command("promote")
@click.pass_obj
def promote_cmd(settings) -> None:
    """Make this stopped edge's data directory a primary's (the old primary is gone for good).

    Gives the node a new log key, so it never reuses a sequence number the old primary handed out,
    and sets its publisher's cursor to its last position: the other edges continue from the same
    stream. Start it after with `cryb serve --role primary --nats URL`."""
    cfg = settings.config()
    try:
        position = snapshot.promote(cfg.data_path)
    except FileNotFoundError as err:
        click.echo(f"cryb: {err}", err=True)
        sys.exit(1)
    click.echo(f"promoted at log position {position}: start it with cryb serve --role primary --nats URL")


@scale_group.command("reset-stream")
@click.option("--nats", "nats_url", help="The NATS server (default: scale.nats_url).")
@click.option("--yes", is_flag=True, help="Do not ask.")
@click.pass_obj
def reset_stream_cmd(settings, nats_url: str | None, yes: bool) -> None:
    """Delete the event stream; the primary publishes its whole log again (after a restore from
    backup: edges then start from new snapshots)."""
    import asyncio

    cfg = settings.config()
    url = nats_url or cfg.scale.nats_url
    if not url:
        click.echo("cryb: no NATS server: give --nats or set scale.nats_url", err=True)
        sys.exit(2)
    if not yes:
        click.confirm(f"delete stream {cfg.scale.stream} on {url}?", abort=True)

    async def go() -> bool:
        import nats
        from nats.js.errors import NotFoundError

        nc = await nats.connect(url, connect_timeout=3, max_reconnect_attempts=0)
        try:
            await nc.jetstream().delete_stream(cfg.scale.stream)
            return True
        except NotFoundError:
            return False
        finally:
            await nc.close()

    deleted = asyncio.run(go())
    click.echo(f"stream {cfg.scale.stream} {'deleted' if deleted else 'did not exist'}")
