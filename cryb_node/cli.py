"""The `cryb` command: a thin layer over the same functions the HTTP API uses. What every command
shares (Settings, run_with_node, emit) is in command.py, which plugins' commands import too.

Exit codes: 0 ok, 1 a check or operation failed, 2 bad configuration or usage.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import asdict
from typing import Any

import click

from cryb_node import __version__, doctor, logs, migrate
from cryb_node import config as configmod
from cryb_node.backup.cli import backup_group
from cryb_node.clock import Clock
from cryb_node.command import Settings, emit, fail_config, run_with_node
from cryb_node.dataconsole_cli import db_group
from cryb_node.node import Node
from cryb_node.plugins import load as load_plugins
from cryb_node.scale.cli import scale_group


class CrybGroup(click.Group):
    """Adds each enabled plugin's commands; a broken config leaves the core commands working."""

    def _plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        settings = (
            ctx.ensure_object(Settings)
            if ctx.obj
            else Settings(ctx.params.get("config_path"), ctx.params.get("data_dir"))
        )
        try:
            cfg = configmod.load(settings.config_path)
            loaded = load_plugins(cfg)
        except configmod.ConfigError:
            return {}
        out: dict[str, click.Command] = {}
        for item in loaded:
            cmds = item.plugin.cli()
            for cmd in cmds if isinstance(cmds, list) else [cmds] if cmds is not None else []:
                out[cmd.name or item.plugin.name] = cmd
        return out

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._plugin_commands(ctx)})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or self._plugin_commands(ctx).get(name)


@click.group(cls=CrybGroup)
@click.version_option(__version__, prog_name="cryb")
# Eager so `cryb --config F --help` already knows which plugins' commands to list.
@click.option(
    "--config",
    "config_path",
    envvar="CRYB_CONFIG",
    type=click.Path(dir_okay=False),
    is_eager=True,
    help="Config file (default: ./cryb.toml if present, else built-in defaults).",
)
@click.option("--data", "data_dir", help="Data directory (overrides node.data_dir).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, data_dir: str | None) -> None:
    """CRYB node: a self-hostable community platform in one process."""
    ctx.obj = Settings(config_path, data_dir)


@cli.command()
@click.option("--host", help="Address to listen on (server.host).")
@click.option("--port", type=int, help="Port to listen on (server.port; 0 picks a free one).")
@click.option("--data", "data_dir", help="Data directory (node.data_dir).")
@click.option(
    "--role",
    type=click.Choice(["primary", "edge"]),
    help="scale.role: the writer, or an edge (docs/scaling.md).",
)
@click.option("--primary", "primary_url", help="scale.primary_url: where an edge forwards writes.")
@click.option("--nats", "nats_url", help="scale.nats_url: the NATS server carrying the event stream.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    help="Processes: the primary plus N-1 local edges sharing the port (docs/scaling.md).",
)
@click.option("--reuse-port", is_flag=True, hidden=True, help="Share the port (SO_REUSEPORT): --workers.")
@click.option(
    "--private-port", type=int, hidden=True, help="--workers: the primary's loopback port for edges."
)
@click.pass_obj
def serve(
    settings: Settings,
    host: str | None,
    port: int | None,
    data_dir: str | None,
    role: str | None,
    primary_url: str | None,
    nats_url: str | None,
    workers: int,
    reuse_port: bool,
    private_port: int | None,
) -> None:
    """Run the node until SIGTERM or Ctrl-C."""
    from cryb_node.server import serve as run_server

    if data_dir:
        settings.data_dir = data_dir
    scale = {"role": role, "primary_url": primary_url, "nats_url": nats_url}
    cfg = settings.config(server={"host": host, "port": port}, scale=scale)
    plugins = settings.plugins(cfg)
    logs.setup(cfg.log.level, cfg.log.format)
    if workers > 1:
        from cryb_node.scale import workers as workersmod

        sys.exit(workersmod.run(cfg, settings.config_path, workers))
    try:
        asyncio.run(run_server(cfg, plugins, reuse_port=reuse_port, private_port=private_port))
    except (migrate.MigrationError, OSError) as err:
        click.echo(f"cryb: cannot start: {err}", err=True)
        sys.exit(1)


@cli.command()
@click.pass_obj
def init(settings: Settings) -> None:
    """Create the data directory, node keys and database."""
    cfg = settings.config()
    plugins = settings.plugins(cfg)

    async def go(node: Node) -> None:
        click.echo(f"data dir: {node.data_dir}")
        click.echo(f"node key: {node.identity.node_public.hex()}")
        click.echo(f"database: {node.db_path}")

    run_with_node(cfg, plugins, go)


@cli.command("migrate")
@click.option("--status", "show_status", is_flag=True, help="Only show which migrations are applied.")
@click.option("--dry-run", is_flag=True, help="Apply pending migrations to a copy; report changes and time.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def migrate_cmd(settings: Settings, show_status: bool, dry_run: bool, as_json: bool) -> None:
    """Apply pending migrations (or show their status); an existing database is backed up first."""
    cfg = settings.config()
    plugins = settings.plugins(cfg)
    from cryb_node import db as dbmod
    from cryb_node import upgrade

    path = cfg.data_path / "cryb.db"
    clock = Clock()  # the command's own: no node runs here
    if dry_run:
        try:
            planned = upgrade.dry_run(path, migrate.all_migrations(plugins), clock)
        except migrate.MigrationError as err:
            click.echo(f"cryb: {err}", err=True)
            sys.exit(1)
        emit([asdict(p) for p in planned], as_json, _plan_table)
        return
    cfg.data_path.mkdir(parents=True, exist_ok=True)
    conn = dbmod.connect(path, busy_timeout_ms=cfg.db.busy_timeout_ms)
    try:
        migrations = migrate.all_migrations(plugins)
        if not show_status:
            try:
                migrate.check(conn, migrations)
                if upgrade.pending(conn, migrations) and upgrade.has_history(conn):
                    copy = upgrade.backup_before_upgrade(conn, cfg.data_path, clock)
                    if not as_json:
                        click.echo(f"backed up the database to {copy}")
                applied = migrate.apply(conn, migrations, clock)
            except migrate.MigrationError as err:
                click.echo(f"cryb: {err}", err=True)
                sys.exit(1)
            if not as_json:
                click.echo(f"applied {len(applied)} migration(s)")
        rows = [asdict(s) for s in migrate.status(conn, migrations)]
    finally:
        conn.close()

    def table(rows: list[dict[str, Any]]) -> str:
        return "\n".join(
            f"{r['state']:<9} {r['source']}/{r['version']:04d}_{r['name']}  {r['applied_at'] or ''}"
            for r in rows
        )

    emit(rows, as_json, table)
    if any(r["state"] == "modified" for r in rows):
        sys.exit(1)


def _plan_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "nothing to do: every migration is applied"
    lines = [
        f"{r['source']}/{r['version']:04d}_{r['name']}: {r['statements']} statement(s), "
        f"{r['seconds'] * 1000:.0f} ms on a copy; creates {', '.join(r['created']) or 'nothing'}"
        + (f"; drops {', '.join(r['dropped'])}" if r["dropped"] else "")
        for r in rows
    ]
    total = sum(r["seconds"] for r in rows)
    return "\n".join([*lines, f"estimated time: {total:.1f} s (measured on a copy of this database)"])


@cli.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--replay", is_flag=True, help="Also rebuild every projection from the event log and compare.")
@click.option(
    "--offline", is_flag=True, help="Skip the go-live checks (port, disk, SMTP, replication, peers)."
)
@click.pass_obj
def doctor_cmd(settings: Settings, as_json: bool, replay: bool, offline: bool) -> None:
    """Check config, data dir, keys, database integrity, migrations and event signatures."""
    cfg = settings.config()
    plugins = settings.plugins(cfg)
    findings = doctor.run(cfg, plugins)
    if not offline:
        from cryb_node import preflight

        findings += preflight.checks(cfg)
    if replay and all(f.ok for f in findings):
        from cryb_node import replay as replaymod

        count, diff = asyncio.run(replaymod.differences(cfg, plugins))
        detail = "; ".join(f"{d.community}: {d.part}" for d in diff[:10]) or f"{count} events replayed: equal"
        findings.append(doctor.Finding("replay", not diff, detail))
    rows = [asdict(f) for f in findings]
    emit(
        rows,
        as_json,
        lambda rs: "\n".join(f"{'ok ' if r['ok'] else 'BAD'} {r['check']:<14} {r['detail']}" for r in rs),
    )
    if not all(f.ok for f in findings):
        sys.exit(1)


cli.add_command(backup_group)
cli.add_command(db_group)
cli.add_command(scale_group)


def main() -> None:
    cli(prog_name="cryb")


__all__ = ["Settings", "cli", "emit", "fail_config", "main", "run_with_node"]
