"""`cryb token create|list|revoke` and `cryb user applications|approve|reject|create` (click's
CliRunner, the real command tree with the plugin's commands), against a node served on the same data
directory, which sees at once what the CLI did."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner

from cryb_node import config as configmod
from cryb_node.app import build_app
from cryb_node.cli import cli
from tests.users.registration_fixtures import login, signup
from tests.users_fixtures import PASSWORD


def config_file(tmp_path: Path, mode: str, extra: str = "") -> Path:
    path = tmp_path / "cryb.toml"
    path.write_text(
        f'[node]\ndata_dir = "{tmp_path / "data"}"\n[log]\nlevel = "WARNING"\n'
        "[rate_limits]\nenabled = false\n"
        f'[plugin.users]\nargon2_opslimit = 1\nargon2_memlimit = 8192\nregistration = "{mode}"\n{extra}'
    )
    return path


def cryb(config: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


async def served(aiohttp_client, config: Path):
    return await aiohttp_client(build_app(configmod.load(config, environ={})))


async def run(config: Path, *args: str):
    """The CLI runs its own event loop: off this one, as beside a running node."""
    return await asyncio.to_thread(cryb, config, *args)


async def test_token_create_list_and_revoke(aiohttp_client, tmp_path):
    config = config_file(tmp_path, "invite")
    client = await served(aiohttp_client, config)

    made = await run(config, "token", "create", "--uses", "2", "--expires", "7d", "--json")
    assert made.exit_code == 0, made.output
    first = json.loads(made.output)
    assert first["max_uses"] == 2 and first["expires_at"] - first["created_at"] == 7 * 86_400
    assert first["created_by"] is None and first["token"].startswith("rg_")
    plain = await run(config, "token", "create")
    assert plain.exit_code == 0
    second_token = plain.output.splitlines()[0]
    assert second_token.startswith("rg_") and "active" in plain.output.splitlines()[1]

    listed = json.loads((await run(config, "token", "list", "--json")).output)
    assert len(listed) == 2 and all("token" not in t for t in listed)
    assert {t["hint"] for t in listed} == {first["token"][:9], second_token[:9]}

    # the served node takes the CLI's token
    status, out = await signup(client, "cli_invited", invite=first["token"])
    assert status == 201, out

    # revoke by the token itself, or by id; an unknown one fails with a message
    gone = await run(config, "token", "revoke", second_token)
    assert gone.exit_code == 0 and "revoked" in gone.output
    status, out = await signup(client, "too_late", invite=second_token)
    assert (status, out["code"]) == (410, "invite_revoked")
    by_id = await run(config, "token", "revoke", first["id"], "--json")
    assert json.loads(by_id.output)["state"] == "revoked"
    assert (await run(config, "token", "list", "--active")).output.strip() == "no tokens"
    missing = await run(config, "token", "revoke", "rg_nothing")
    assert missing.exit_code == 1 and "not found" in missing.output


def test_token_options_are_checked(tmp_path):
    config = config_file(tmp_path, "invite")
    for args, complaint in (
        (["--expires", "7x"], "not a duration"),
        (["--expires", "0d"], "not a duration"),
        (["--uses", "0"], "--uses"),
    ):
        res = cryb(config, "token", "create", *args)
        assert res.exit_code == 2 and complaint in res.output, (args, res.output)
    assert json.loads(cryb(config, "token", "list", "--json").output) == []


async def test_cli_approves_and_rejects_applications_and_mails_both(aiohttp_client, tmp_path, smtp_server):
    inbox, port = smtp_server
    mail = f'[mail]\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nsecurity = "none"\n'
    config = config_file(tmp_path, "approval", 'registration_question = "Favourite tree?"\n' + mail)
    client = await served(aiohttp_client, config)
    for name, answer in (("oak_fan", "The oak"), ("bot_9000", "buy now")):
        status, _ = await signup(client, name, answer=answer)
        assert status == 202
    await inbox.wait(2)  # the two verification mails
    apps = json.loads((await run(config, "user", "applications", "--json")).output)
    assert apps["question"] == "Favourite tree?"
    assert [(a["username"], a["answer"]) for a in apps["applications"]] == [
        ("oak_fan", "The oak"),
        ("bot_9000", "buy now"),
    ]
    shown = (await run(config, "user", "applications")).output
    assert "Question: Favourite tree?" in shown and "The oak" in shown

    # enabling is not approving: the application goes through approve or reject
    enable = await run(config, "user", "enable", "oak_fan")
    assert enable.exit_code == 1 and "waits for approval" in enable.output
    assert (await login(client, "oak_fan"))[1]["code"] == "account_pending"
    ok = await run(config, "user", "approve", "oak_fan")
    assert ok.exit_code == 0 and ok.output.strip() == "oak_fan: approved (mailed)"
    no = await run(config, "user", "reject", "bot_9000@example.test", "--reason", "No ads please.")
    assert no.exit_code == 0 and "rejected" in no.output and "(mailed)" in no.output
    await inbox.wait(4)
    subjects = {(m["To"], m["Subject"]) for m in inbox.messages[2:]}
    assert subjects == {
        ("oak_fan@example.test", "Welcome to CRYB node: your account is approved"),
        ("bot_9000@example.test", "Your application to CRYB node"),
    }
    assert (await login(client, "oak_fan"))[0] == 200
    assert (await run(config, "user", "applications")).output.strip() == "no applications waiting"
    again = await run(config, "user", "approve", "oak_fan")
    assert again.exit_code == 1 and "application not found" in again.output


async def test_when_closed_the_cli_still_creates_accounts(aiohttp_client, tmp_path):
    config = config_file(tmp_path, "closed")
    client = await served(aiohttp_client, config)
    status, out = await signup(client, "walk_in")
    assert (status, out["code"]) == (403, "registration_closed")
    res = await run(
        config, "user", "create", "walk_in", "--email", "walk_in@example.test", "--password", PASSWORD
    )
    assert res.exit_code == 0, res.output
    assert (await login(client, "walk_in"))[0] == 200
