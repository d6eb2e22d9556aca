"""API fuzzing with schemathesis against the node's own /api/openapi.json.

A real node (a `cryb serve` subprocess) is seeded with a community, channels, messages, posts and
comments; schemathesis then generates requests for every operation, as a member and as the owner,
with path parameters often pointing at the real objects so requests get past the 404s. Every response
must be a non-5xx that matches its own schema, and the node's log must hold no unhandled exception.
Operations that end their caller's session (logout, password, deactivate...) run with a fresh account.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import urllib.request
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import NodeProcess, cryb_env

EXAMPLES = 10  # per operation and role: ~150 operations x 2 roles -> thousands of cases
DESTRUCTIVE = re.compile(r"/auth/logout|/users/@me(/deactivate|/password|/email|/sessions|/totp|$)")


def _call(base: str, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
    req = urllib.request.Request(
        base + path, method=method, data=None if body is None else json.dumps(body).encode()
    )
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


def _register(base: str, name: str) -> tuple[str, str]:
    body = {"username": name, "email": f"{name}@fuzz.test", "password": "fuzzing password 123"}
    out = _call(base, "POST", "/api/v1/auth/register", body=body)
    return out["user"]["id"], out["access_token"]


class Seeded:
    """A node with real objects to aim at."""

    def __init__(self, node: NodeProcess) -> None:
        self.node = node
        self.base = node.url
        n = random.Random(7).randrange(10**6)
        link = (node.data_dir / "setup-link.txt").read_text()
        setup = {"token": re.search(r"#token=([\w-]+)", link)[1], "username": f"admin{n}",
                 "email": f"admin{n}@fuzz.test", "password": "fuzzing password 123"}  # fmt: skip
        self.admin = _call(self.base, "POST", "/api/v1/auth/setup", body=setup)["access_token"]
        self.owner_id, self.owner = _register(self.base, f"owner{n}")
        self.member_id, self.member = _register(self.base, f"member{n}")
        b = self.base
        community = _call(b, "POST", "/api/v1/communities", self.owner, {"name": "Fuzz club", "public": True})
        cid = community["id"]
        _call(b, "PUT", f"/api/v1/communities/{cid}/members/@me", self.member, {})
        text = _call(b, "POST", f"/api/v1/communities/{cid}/channels", self.owner, {"name": "chat"})
        forum = _call(
            b, "POST", f"/api/v1/communities/{cid}/channels", self.owner, {"name": "forum", "kind": "forum"}
        )
        msg = _call(
            b, "POST", f"/api/v1/channels/{text['id']}/messages", self.member, {"content": "hello **fuzz**"}
        )
        post = _call(
            b,
            "POST",
            f"/api/v1/channels/{forum['id']}/posts",
            self.member,
            {"title": "A post", "body": "body"},
        )
        comment = _call(b, "POST", f"/api/v1/posts/{post['id']}/comments", self.owner, {"body": "a comment"})
        roles = _call(b, "GET", f"/api/v1/communities/{cid}/roles", self.owner)
        invite = _call(b, "POST", f"/api/v1/communities/{cid}/invites", self.owner, {})
        self.ids = {
            "community_id": cid,
            "channel_id": text["id"],
            "message_id": msg["id"],
            "post_id": post["id"],
            "comment_id": comment["id"],
            "target_id": msg["id"],
            "user_id": self.member_id,
            "role_id": roles["roles"][0]["id"] if roles.get("roles") else "none",
            "code": invite.get("code", "none"),
            "emoji": "👍",
            "target_type": "role",
        }


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Any:
    tmp = tmp_path_factory.mktemp("fuzz")
    env = cryb_env(
        CRYB_RATE_LIMITS__ENABLED="false",
        CRYB_PLUGIN__USERS__ARGON2_OPSLIMIT="1",
        CRYB_PLUGIN__USERS__ARGON2_MEMLIMIT="8192",
        CRYB_LOG__LEVEL="WARNING",
    )
    node = NodeProcess(tmp / "data", None, env).start()
    try:
        yield Seeded(node)
    finally:
        node.terminate()
        log = node.log.read_text()
        errors = [ln for ln in log.splitlines() if '"level":"error"' in ln or "Traceback" in ln]
        assert errors == [], "unhandled errors in the node log:\n" + "\n".join(errors[:20])


@pytest.fixture(scope="module")
def api_schema(seeded: Seeded):
    return schemathesis.openapi.from_url(seeded.base + "/api/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


def test_the_fuzzer_reaches_real_objects(seeded: Seeded):
    # Guard against a fuzz run that only ever sees 404s: the seeded objects answer 200.
    got = _call(seeded.base, "GET", f"/api/v1/channels/{seeded.ids['channel_id']}/messages", seeded.member)
    assert any(m["id"] == seeded.ids["message_id"] for m in got["messages"])
    users = _call(seeded.base, "GET", "/api/v1/admin/users", seeded.admin)  # and the admin is one
    assert {u["id"] for u in users["users"]} >= {seeded.owner_id, seeded.member_id}


def _exercise(case, seeded: Seeded, token: str) -> None:
    rng = random.Random(repr(case.path_parameters))
    # Aim at the seeded objects, except to delete them (later cases still need them).
    for name in list(case.path_parameters or {}):
        if name in seeded.ids and case.method != "DELETE" and rng.random() < 0.7:
            case.path_parameters[name] = seeded.ids[name]
    if DESTRUCTIVE.search(case.operation.path):
        _, token = _register(seeded.base, f"t{secrets.token_hex(6)}")
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    case.validate_response(response, checks=(not_a_server_error, response_schema_conformance))


FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@schema.exclude(path="/gateway").parametrize()
@FUZZ
def test_every_operation_as_a_member_stays_within_its_schema_and_never_5xx(case, seeded: Seeded):
    _exercise(case, seeded, seeded.member)


@schema.exclude(path="/gateway").parametrize()
@FUZZ
def test_every_operation_as_the_owner_stays_within_its_schema_and_never_5xx(case, seeded: Seeded):
    _exercise(case, seeded, seeded.owner)


# What only a node admin may do (the console's users, media, bans, peers, backups, reports, data), fuzzed
# with admin powers so the handlers behind the 403 are reached too.
ADMIN_ONLY = r"^/api/v1/(admin|search/stats|analytics)"


@schema.include(path_regex=ADMIN_ONLY).parametrize()
@FUZZ
def test_every_admin_operation_as_the_node_admin_stays_within_its_schema_and_never_5xx(case, seeded: Seeded):
    _exercise(case, seeded, seeded.admin)
