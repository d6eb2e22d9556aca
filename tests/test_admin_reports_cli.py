"""`cryb report list|resolve` as a subprocess beside a serving node: the same queue, the same rules and
the same audit as GET/PATCH /api/v1/admin/reports."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from tests.conftest import ROOT, run_cryb, write_config
from tests.content.conftest import content_config, new_user, ok
from tests.test_admin_reports import new_admin

FAST = """
[plugin.users]
argon2_opslimit = 1
argon2_memlimit = 8192
[log]
level = "WARNING"
"""


def cryb(tmp_path: Path, *args: str):
    config = write_config(tmp_path / "cryb.toml", FAST)
    return run_cryb("--config", str(config), "--data", str(tmp_path / "data"), *args)


async def test_the_cli_lists_resolves_and_dismisses_reports(tmp_path, aiohttp_client):
    c = await aiohttp_client(build_app(content_config(tmp_path / "data")))
    alice, bob = await new_user(c), await new_user(c)
    await ok(c, "PATCH", "/users/@me", bob, json={"display_name": "Bob"})
    dm = await ok(c, "POST", "/dms", alice, json={"recipients": [bob.id]})
    msg = await ok(c, "POST", f"/channels/{dm['id']}/messages", bob, json={"content": "give me money"})
    body = {"target_type": "dm_message", "target_id": msg["id"], "reason": "extortion"}
    first = await ok(c, "POST", "/reports", alice, json=body)
    second = await ok(
        c, "POST", "/reports", alice, json={"target_type": "user", "target_id": bob.id, "reason": "x"}
    )
    bob_name = (await ok(c, "GET", f"/users/{bob.id}", alice))["username"]

    text = cryb(tmp_path, "report", "list")
    assert text.returncode == 0, text.stderr
    assert f"dm_message @{bob_name}: 'give me money'" in text.stdout and ": extortion" in text.stdout
    assert f"user       Bob (@{bob_name})" in text.stdout
    listed = json.loads(cryb(tmp_path, "report", "list", "--json").stdout)
    assert [(r["id"], r["status"]) for r in listed] == [(first["id"], "open"), (second["id"], "open")]

    done = cryb(tmp_path, "report", "resolve", first["id"], "--note", "banned bob")
    assert (done.returncode, done.stdout.strip()) == (0, f"{first['id']}: resolved"), done.stderr
    dismissed = cryb(tmp_path, "report", "resolve", second["id"], "--dismiss", "--json")
    assert json.loads(dismissed.stdout)["status"] == "dismissed"
    assert cryb(tmp_path, "report", "list").stdout.strip() == "no open reports"
    closed = json.loads(cryb(tmp_path, "report", "list", "--status", "all", "--json").stdout)
    assert [(r["status"], r["note"], r["resolved_by"]) for r in closed] == [
        ("resolved", "banned bob", "node"),
        ("dismissed", "", "node"),
    ]

    again = cryb(tmp_path, "report", "resolve", first["id"])
    assert again.returncode != 0 and "already resolved" in again.stderr
    missing = cryb(tmp_path, "report", "resolve", "01m8zzzzzzzzzzzzzzzzzzzzzz")
    assert missing.returncode != 0 and "report not found" in missing.stderr
    too_long = cryb(tmp_path, "report", "resolve", second["id"], "--note", "n" * 1001)
    assert too_long.returncode == 2 and "--note" in too_long.stderr

    # the serving node sees what the CLI did, and the audit log says the CLI did it
    admin = await new_admin(c)
    page = await ok(c, "GET", "/admin/reports?status=resolved", admin)
    assert [(r["id"], r["note"]) for r in page["reports"]] == [(first["id"], "banned bob")]
    audit = await c.app[NODE].db.fetchall(
        "SELECT action, actor_id, user_id FROM users_audit WHERE action LIKE 'report.%' ORDER BY id"
    )
    assert [tuple(a) for a in audit] == [
        ("report.resolved", None, bob.id),
        ("report.dismissed", None, bob.id),
    ]


def readme_report_commands() -> list[list[str]]:
    """The `cryb report` lines of README.md's example block, as argument lists (comments dropped; the
    command list's synopsis lines, with their [options], are not examples)."""
    lines = re.findall(r"^cryb (report [^#\n]*)", (ROOT / "README.md").read_text(), re.M)
    return [shlex.split(line) for line in lines if "[" not in line]


async def test_the_readme_report_commands_work_as_written(tmp_path, aiohttp_client):
    commands = readme_report_commands()
    assert [c[:2] for c in commands] == [["report", "list"], ["report", "resolve"], ["report", "resolve"]]
    c = await aiohttp_client(build_app(content_config(tmp_path / "data")))
    alice, bob, carol = await new_user(c), await new_user(c), await new_user(c)
    ids = [
        (
            await ok(
                c, "POST", "/reports", alice, json={"target_type": "user", "target_id": u.id, "reason": "r"}
            )
        )["id"]
        for u in (bob, carol)
    ]
    listed = cryb(tmp_path, *commands[0])
    assert listed.returncode == 0 and all(i in listed.stdout for i in ids), listed.stderr
    for args, report_id in zip(commands[1:], ids, strict=True):
        done = cryb(tmp_path, *[report_id if a == "ID" else a for a in args])
        assert done.returncode == 0, done.stderr
    rows = await c.app[NODE].db.fetchall("SELECT status, note FROM users_reports ORDER BY id")
    assert [tuple(r) for r in rows] == [("resolved", "warned them"), ("dismissed", "")]
