"""The sign-up control documentation works as written: README's config example is a valid config
with the values it claims, cryb.toml's commented [plugin.users] block is exactly the defaults, and
every sign-up command the README names runs (CliRunner) against a node in approval mode.
(The CRYB_PLUGIN__USERS__REGISTRATION example is run by tests/test_hardening_config.py.)"""

from __future__ import annotations

import asyncio
import re
import tomllib

import msgspec
from click.testing import CliRunner
from cryb_plugins.users.schemas import Settings

from cryb_node import config as configmod
from cryb_node.appkeys import NODE
from cryb_node.cli import cli
from cryb_node.plugins import load as load_plugins
from tests.conftest import ROOT
from tests.users.registration_fixtures import signup
from tests.users.test_registration_cli import config_file, served
from tests.users_fixtures import PASSWORD

README = (ROOT / "README.md").read_text(encoding="utf-8")
_START = README.index("- Sign-up control")
SECTION = README[_START : README.index("\n### ", _START)]


def test_the_readme_config_example_is_valid_and_means_what_it_says(tmp_path):
    example = re.search(r"```toml\n(.*?)```", SECTION, re.S).group(1)
    path = tmp_path / "cryb.toml"
    path.write_text(example)
    cfg = configmod.load(path, environ={})
    load_plugins(cfg)  # validates [plugin.users] against the plugin's schema
    s = msgspec.convert(cfg.plugin["users"], Settings)
    assert (s.registration, s.registration_question, s.registration_pow_bits) == (
        "approval", "Which garden do you tend?", 16,
    )  # fmt: skip


def test_the_commented_users_block_of_cryb_toml_is_the_defaults():
    lines = (ROOT / "cryb.toml").read_text(encoding="utf-8").splitlines()
    start = lines.index(next(line for line in lines if line.startswith("# [plugin.users]")))
    block = []
    for line in lines[start + 1 :]:
        if not line.startswith("# ") or line.startswith("# ["):
            break
        text = line[2:]
        if text.strip() and not text.startswith((" ", "#")):
            block.append(text)
    shown = tomllib.loads("\n".join(block))
    defaults = Settings()
    assert {k for k in shown if k.startswith("registration")} == {
        f for f in Settings.__struct_fields__ if f.startswith("registration")
    }
    for key, value in shown.items():
        assert getattr(defaults, key) == value, key


async def test_every_sign_up_command_in_the_readme_runs(aiohttp_client, tmp_path):
    commands = re.findall(
        r"`(cryb (?:token|user applications|user approve|user reject|user create|audit)[^`]*)`", SECTION
    )
    assert len(commands) == 8, commands
    config = config_file(tmp_path, "approval")
    client = await served(aiohttp_client, config)
    for name in ("applicant_a", "applicant_b"):
        assert (await signup(client, name, answer="hello"))[0] == 202
    await signup(client, "bot", website="x")  # an audited refusal for `cryb audit --action ...`
    names = iter(["applicant_a", "applicant_b", "made_by_cli"])
    token = None
    for command in commands:
        args = re.findall(r'"[^"]*"|\S+', command)[1:]
        args = [a.strip('"') for a in args]
        if "TOKEN" in args:
            args[args.index("TOKEN")] = token
        if "NAME" in args:
            args[args.index("NAME")] = next(names)
        if "E" in args:
            args[args.index("E")] = "made@example.test"
        res = await asyncio.to_thread(
            CliRunner().invoke, cli, ["--config", str(config), *args], input=f"{PASSWORD}\n{PASSWORD}\n"
        )
        assert res.exit_code == 0, (command, res.output)
        if args[:2] == ["token", "create"]:
            token = res.output.splitlines()[0]
            assert token.startswith("rg_")
    rows = await client.app[NODE].db.fetchall("SELECT username, status FROM users_accounts")
    assert {r[0]: r[1] for r in rows} == {
        "applicant_a": "active",
        "deleted": "deleted",
        "made_by_cli": "active",
    }
