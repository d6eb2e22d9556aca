"""`cryb db tables|query|export`: the admin data console on the command line, the same functions as
GET /api/v1/admin/db/tables, POST .../query and GET .../export (cryb_node/dataconsole.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click
import msgspec

from cryb_node.command import run_with_node
from cryb_node.problems import Problem

if TYPE_CHECKING:
    from cryb_node.dataconsole import ExportFormat, QueryResult, Tables
    from cryb_node.node import Node


def _run(settings: Any, fn: Any) -> Any:
    cfg = settings.config()
    try:
        return run_with_node(cfg, settings.plugins(cfg), fn)
    except Problem as problem:
        click.echo(f"cryb: {problem.detail}", err=True)
        sys.exit(1)


def _table(rows: list[Any], headers: list[str]) -> str:
    from tabulate import tabulate  # sqlite-utils' table output, installed with it

    return tabulate(rows, headers=headers, tablefmt="simple")


def _shown(value: Any) -> Any:
    from cryb_node.dataconsole import blob_of

    blob = blob_of(value)
    return value if blob is None else f"x'{blob.hex()}'"  # a BLOB, as SQL would write it


@click.group("db")
def db_group() -> None:
    """Read-only SQL over the node's database (node admins; private columns read as NULL)."""


@db_group.command("tables")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def tables_cmd(settings: Any, as_json: bool) -> None:
    """List every table and view with its row count and columns."""

    from cryb_node.dataconsole import DataConsole  # imported when used: `cryb` starts faster

    async def go(node: Node) -> Tables:
        return await DataConsole(node).tables()

    found: Tables = _run(settings, go)
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(found), indent=2))
        return
    rows = [
        (
            t.name,
            "—" if t.rows is None else t.rows,
            ", ".join(c.name + (" (private)" if c.private else "") for c in t.columns),
        )
        for t in found.tables
    ]
    click.echo(_table(rows, ["table", "rows", "columns"]))


@db_group.command("query")
@click.argument("sql")
@click.option(
    "--limit", type=click.IntRange(min=1), help="Most rows to print (default db.console.default_rows)."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (columns, rows, truncated, hidden).")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@click.pass_obj
def query_cmd(settings: Any, sql: str, limit: int | None, as_json: bool, as_csv: bool) -> None:
    """Run one read-only SQL statement (audited)."""
    if as_json and as_csv:
        raise click.UsageError("choose --json or --csv")

    from cryb_node.dataconsole import DataConsole, csv_lines

    async def go(node: Node) -> QueryResult:
        return await DataConsole(node).query(sql, limit, via="cli")

    result: QueryResult = _run(settings, go)
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(result), indent=2))
    elif as_csv:
        click.echo("".join(csv_lines(result.columns, result.rows)), nl=False)  # as the CSV export
    else:
        click.echo(_table([[_shown(v) for v in r] for r in result.rows], result.columns))
    notes = []
    if result.truncated:
        notes.append(f"stopped at {result.limit} rows (--limit)")
    if result.hidden:
        notes.append(f"private, read as NULL: {', '.join(result.hidden)}")
    for note in notes:
        click.echo(note, err=True)


@db_group.command("export")
@click.argument("table", required=False)
@click.option("--sql", help="Export a query's rows instead of a table.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, writable=True), help="File to write (default: stdout)."
)
@click.pass_obj
def export_cmd(settings: Any, table: str | None, sql: str | None, fmt: str, output: str | None) -> None:
    """Export a table (or view), or a query's rows with --sql, as CSV or JSON (audited)."""
    if (table is None) == (sql is None):
        raise click.UsageError("name a TABLE or give --sql, not both")
    from cryb_node.dataconsole import DataConsole

    out = open(output, "wb") if output else sys.stdout.buffer  # noqa: SIM115 (closed below)

    async def go(node: Node) -> tuple[int, bool]:
        fmt_checked = cast("ExportFormat", fmt)  # click.Choice checked it
        export = await DataConsole(node).export(table=table, sql=sql, fmt=fmt_checked, via="cli")
        written = 0
        try:
            async for chunk in export:
                out.write(chunk)
                written += len(chunk)
        finally:
            await export.close()
        return written, export.truncated

    try:
        written, truncated = _run(settings, go)
    finally:
        if output:
            out.close()
    if output:
        click.echo(f"wrote {written} bytes to {Path(output)}", err=True)
    if truncated:
        click.echo(
            f"stopped at {settings.config().db.console.export_max_rows} rows (db.console.export_max_rows)",
            err=True,
        )
