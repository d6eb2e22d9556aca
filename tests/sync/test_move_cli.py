"""`cryb sync move-account` beside a running `cryb serve`: it moves an account the CLI itself made a
moment before, and the account's tokens stop working on the old node as soon as the move is
written, with a code that says why."""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import NodeProcess, run_cryb, write_config
from tests.test_bus_external_appends import CONFIG
from tests.users_fixtures import PASSWORD

# The new home only has to be pinned: the move is a signed event on this node's log.
NEW_HOME = "http://127.0.0.1:9"


def _cryb(config: Path, data: Path, *args: str):
    done = run_cryb("--config", str(config), "--data", str(data), *args)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


def _call(url: str, path: str, token: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + "/api/v1" + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def _serve(node_process, tmp_path: Path) -> tuple[NodeProcess, Path, Path]:
    config = write_config(tmp_path / "cryb.toml", CONFIG)
    data = tmp_path / "data"
    node = node_process(config).start()
    _cryb(config, data, "peer", "add", NEW_HOME, "--key", secrets.token_hex(32), "--name", "b", "--yes")
    return node, config, data


def test_move_account_moves_an_account_the_cli_just_made(node_process, tmp_path) -> None:
    node, config, data = _serve(node_process, tmp_path)
    _cryb(config, data, "user", "create", "dora", "--email", "dora@example.test", "--password", PASSWORD)
    done = _cryb(config, data, "sync", "move-account", "dora", "b")
    assert f"dora now lives on {NEW_HOME}" in done.stdout
    status, problem = _call(node.url, "/auth/login", body={"login": "dora", "password": PASSWORD})
    assert status == 410 and problem["code"] == "account_moved", problem


def test_old_tokens_are_refused_on_the_old_node_right_after_the_move(node_process, tmp_path) -> None:
    node, config, data = _serve(node_process, tmp_path)
    status, reg = _call(
        node.url, "/auth/register",
        body={"username": "eli", "email": "eli@example.test", "password": PASSWORD},
    )  # fmt: skip
    assert status == 201, reg
    token = reg["access_token"]
    assert _call(node.url, "/users/@me", token)[0] == 200
    _cryb(config, data, "sync", "move-account", "eli", "b")
    moved = time.monotonic()
    # The move is in the log when the command returns; the node learns of it through its bus
    # within a poll interval, so a request made now is refused (give a loaded machine a second).
    while True:
        status, problem = _call(node.url, "/users/@me", token)
        if status != 200 or time.monotonic() - moved > 1.0:
            break
        time.sleep(0.02)
    assert status == 401, (status, problem)
    assert problem["code"] == "account_moved" and "moved" in problem["detail"], problem
    assert problem.get("moved_to") == NEW_HOME
