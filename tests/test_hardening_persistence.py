"""Sign-in lockouts and rate-limit windows are kept in SQLite: restarting the node (a real
`cryb serve` process) does not hand an attacker a fresh set of guesses."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

HASHING = {"CRYB_PLUGIN__USERS__ARGON2_OPSLIMIT": "1", "CRYB_PLUGIN__USERS__ARGON2_MEMLIMIT": "8192"}
ALICE = {"username": "alice", "email": "alice@example.test", "password": "a long member password"}


def _post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _login(node, password: str) -> tuple[int, dict]:
    return _post(node.url + "/api/v1/auth/login", {"login": "alice", "password": password})


def test_signin_lockout_survives_a_restart(node_process, tmp_path):
    env = {**HASHING, "CRYB_RATE_LIMITS__ENABLED": "false", "CRYB_PLUGIN__USERS__ACCOUNT_FAILURE_LIMIT": "3",
           "CRYB_PLUGIN__USERS__SLOWDOWN_AFTER": "10"}  # fmt: skip
    node = node_process(data_dir=tmp_path / "data", **env).start()
    assert _post(node.url + "/api/v1/auth/register", ALICE)[0] == 201
    assert [_login(node, "wrong password!")[0] for _ in range(3)] == [401, 401, 401]
    status, body = _login(node, ALICE["password"])
    assert (status, body["code"]) == (429, "login_locked")
    assert node.terminate() == 0

    again = node_process(data_dir=tmp_path / "data", **env).start()
    status, body = _login(again, ALICE["password"])
    assert (status, body["code"]) == (429, "login_locked"), body


def test_rate_limit_window_survives_a_restart(node_process, tmp_path):
    env = {**HASHING, "CRYB_RATE_LIMITS__BUCKETS__AUTH__LIMIT": "3",
           "CRYB_RATE_LIMITS__BUCKETS__AUTH__WINDOW_S": "600"}  # fmt: skip
    node = node_process(data_dir=tmp_path / "data", **env).start()
    assert [_login(node, "wrong password!")[0] for _ in range(3)] == [401, 401, 401]
    status, body = _login(node, "wrong password!")
    assert (status, body["code"]) == (429, "rate_limited")
    assert node.terminate() == 0

    again = node_process(data_dir=tmp_path / "data", **env).start()
    status, body = _login(again, "wrong password!")
    assert (status, body["code"]) == (429, "rate_limited"), body
