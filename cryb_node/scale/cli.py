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
