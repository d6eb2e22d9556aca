"""`cryb backup`: status, now, list, restore, verify. Thin: each command is one call into replica.py
(or the status the running node writes) plus output formatting."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click
import msgspec

from cryb_node.backup import blobs, replica, replication
from cryb_node.backup.litestream import LitestreamError
from cryb_node.db import DB_FILE


def _db_path(settings: Any) -> tuple[Any, Path]:
    cfg = settings.config()
    return cfg, cfg.data_path / DB_FILE


def _media(settings: Any, cfg: Any) -> blobs.Source:
    return blobs.source(settings.plugins(cfg), cfg.data_path)


def _fail(err: Exception) -> None:
    click.echo(f"cryb backup: {err}", err=True)
    sys.exit(1)


def _ago(stamp: float | None) -> str:
    if stamp is None:
        return "never"
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(stamp))
    return f"{when}Z ({time.time() - stamp:.1f}s ago)"


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return str(n)


@click.group("backup")
def backup_group() -> None:
    """Replication to object storage: status, snapshots, restores (needs [replication])."""


@backup_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def status_cmd(settings: Any, as_json: bool) -> None:
    """Replication lag, last successful sync, errors and restarts of the running node."""
    cfg, _ = _db_path(settings)
    st = replication.read_status(cfg.data_path)
    running = st is not None and st.state != "stopped" and replication.node_alive(st.node_pid)
    if as_json:
        data = msgspec.to_builtins(st) if st is not None else None
        out = {"enabled": cfg.replication.enabled, "node_running": running, "status": data}
        click.echo(msgspec.json.format(msgspec.json.encode(out), indent=2))
    elif not cfg.replication.enabled:
        click.echo("replication: not configured ([replication] enabled = false)")
    elif st is None:
        click.echo("replication: no status yet (the node has not run with replication)")
    else:
        click.echo(f"target:        {st.target}")
        click.echo(f"state:         {st.state if running else 'node not running (last known below)'}")
        click.echo(f"lag:           {st.lag_s:.1f}s")
        click.echo(f"last sync:     {_ago(st.last_sync_at)}")
        click.echo(f"replica txid:  {st.replica_txid} (local {st.db_txid})")
        click.echo(f"restarts:      {st.restarts}")
        click.echo(f"errors:        {st.errors}")
        click.echo(f"last error:    {st.last_error or 'none'}")
        click.echo(f"media:         {st.media or 'unknown'}")
        if st.media_runs:
            click.echo(
                f"media copied:  {st.media_copied} blobs ({_size(st.media_bytes)}) since the node started; "
                f"{st.media_blobs} local blobs at the last run"
            )
            click.echo(f"media run:     {_ago(st.media_last_run_at)}")
        if st.media_error:
            click.echo(f"media error:   {st.media_error}")
        if st.problem and st.problem not in (st.last_error, st.media_error):
            click.echo(f"problem:       {st.problem}")
    if cfg.replication.enabled and (st is None or st.problem or not running):
        sys.exit(1)


@backup_group.command("now")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for the snapshot.")
@click.pass_obj
def now_cmd(settings: Any, timeout: float) -> None:
    """Take a full snapshot into the replica now, and copy new media blobs (local media backend)."""
    cfg, db_path = _db_path(settings)
    try:
        click.echo(replica.snapshot_now(cfg, db_path, timeout=timeout, media=_media(settings, cfg)))
    except (replica.BackupError, LitestreamError) as err:
        _fail(err)


@backup_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_cmd(settings: Any, as_json: bool) -> None:
    """What the replica holds: snapshots and the restorable time range."""
    cfg, db_path = _db_path(settings)
    try:
        listing = replica.list_backups(cfg, db_path)
    except (replica.BackupError, LitestreamError) as err:
        _fail(err)
        return
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(listing), indent=2))
        return
    click.echo(f"target:      {listing.target}")
    click.echo(f"restorable:  {listing.earliest or '-'} .. {listing.latest or '-'} (txid {listing.max_txid})")
    click.echo(f"files:       {listing.files} ({_size(listing.bytes)}); per level {listing.levels}")
    click.echo("snapshots:")
    for snap in listing.snapshots:
        click.echo(f"  {snap.timestamp}  txid {snap.max_txid:<8} {_size(snap.size)}")


def _progress_printer() -> replica.ProgressFn:
    last = {"line": ""}

    def show(stage: str, done: int, total: int, written: int) -> None:
        line = f"\rrestore: {stage:<11} {done}/{total} files, {_size(written)} written"
        if line != last["line"]:
            click.echo(line, nl=False, err=True)
            last["line"] = line

    return show


@backup_group.command("restore")
@click.option("--timestamp", help="Restore to this moment (ISO 8601; UTC unless an offset is given).")
@click.option(
    "--to", "to", type=click.Path(dir_okay=False), help="Write here instead of the node's database."
)
@click.option("--force", is_flag=True, help="Replace the node's existing database (kept as a copy).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def restore_cmd(settings: Any, timestamp: str | None, to: str | None, force: bool, as_json: bool) -> None:
    """Restore the database from the replica (the node must be stopped unless --to is given)."""
    cfg, db_path = _db_path(settings)
    progress = None if as_json else _progress_printer()
    copied: blobs.Copied | None = None
    try:
        when = replica.parse_timestamp(timestamp) if timestamp else None
        if to:
            result = replica.restore_file(cfg, db_path, Path(to), timestamp=when, progress=progress)
        else:
            result = replica.restore_in_place(cfg, db_path, timestamp=when, force=force, progress=progress)
            if progress is not None:
                click.echo("\rrestore: media blobs ...", nl=False, err=True)
            copied = replica.restore_media(cfg, _media(settings, cfg))
    except (replica.BackupError, LitestreamError) as err:
        if progress is not None:
            click.echo(err=True)
        _fail(err)
        return
    if as_json:
        out = msgspec.to_builtins(result)
        if not to:
            out["media"] = msgspec.to_builtins(copied) if copied is not None else None
        click.echo(msgspec.json.format(msgspec.json.encode(out), indent=2))
        return
    click.echo(err=True)
    click.echo(
        f"restored txid {result.txid} to {result.path} ({_size(result.bytes)} in {result.seconds:.1f}s)"
    )
    if to:
        click.echo("media blobs are only copied back by a restore in place")
    elif copied is None:
        click.echo(f"media: {_media(settings, cfg).note}")
    else:
        bad = f", {copied.skipped_bad} damaged blobs skipped" if copied.skipped_bad else ""
        click.echo(
            f"media: {copied.copied} blobs copied back ({_size(copied.bytes)}), "
            f"{copied.blobs} in the replica{bad}"
        )
    if not to:
        click.echo("a new log key will be made at the next start (the old one is never reused)")


@backup_group.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def verify_cmd(settings: Any, as_json: bool) -> None:
    """Restore into a temporary file and check its integrity and every event's signature."""
    cfg, db_path = _db_path(settings)
    plugins = settings.plugins(cfg)
    try:
        result = replica.verify(cfg, db_path, plugins)
    except (replica.BackupError, LitestreamError) as err:
        _fail(err)
        return
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(result), indent=2))
    else:
        click.echo(f"restored txid {result.txid} ({_size(result.bytes)}) in {result.seconds:.1f}s")
        for c in result.checks:
            click.echo(f"{'ok ' if c['ok'] else 'BAD'} {c['check']:<14} {c['detail']}")
    if not result.ok:
        sys.exit(1)
