"""Links the CLI prints point at the node as it is served, not at the default port 8080."""

from __future__ import annotations

import re

from tests.conftest import cryb_env, run_cryb

HASHING = {"CRYB_PLUGIN__USERS__ARGON2_OPSLIMIT": "1", "CRYB_PLUGIN__USERS__ARGON2_MEMLIMIT": "8192"}


def test_cli_links_use_the_port_the_node_serves_on(node_process, tmp_path):
    data = tmp_path / "data"
    node = node_process(data_dir=data, **HASHING).start()
    setup_link = (data / "setup-link.txt").read_text().strip()
    assert setup_link.startswith(f"{node.url}/setup#token="), setup_link

    env = cryb_env(**HASHING)
    made = run_cryb("--data", str(data), "user", "create", "alice", "--email", "alice@example.test",
                    "--password", "a long member password", env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    reset = run_cryb("--data", str(data), "user", "reset-password", "alice", env=env)
    assert reset.returncode == 0, reset.stderr
    url = re.search(r"reset link: (\S+)", reset.stdout).group(1)
    assert url.startswith(f"{node.url}/reset-password?token="), url
    verify = run_cryb("--data", str(data), "user", "verify-link", "alice", env=env)
    assert verify.returncode == 0, verify.stderr
    assert re.search(r"verification link: (\S+)", verify.stdout).group(1).startswith(node.url + "/")


def test_cli_links_prefer_the_configured_public_url(node_process, tmp_path):
    data = tmp_path / "data"
    env = {**HASHING, "CRYB_NODE__BASE_URL": "https://chat.example.test"}
    node_process(data_dir=data, **env).start()
    made = run_cryb("--data", str(data), "user", "create", "bob", "--email", "bob@example.test",
                    "--password", "a long member password", env=cryb_env(**env))  # fmt: skip
    assert made.returncode == 0, made.stderr
    reset = run_cryb("--data", str(data), "user", "reset-password", "bob", env=cryb_env(**env))
    assert "reset link: https://chat.example.test/reset-password?token=" in reset.stdout, reset.stdout
