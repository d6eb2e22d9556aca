"""The node admin's data console (cryb_node/dataconsole.py): read-only SQL over the node's own database,
over HTTP (/api/v1/admin/db/*) and the CLI (`cryb db`). Real nodes on loopback, the real SQLite file."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import time
from pathlib import Path
from typing import Any

import pysqlite3.dbapi2 as sqlite3
import pytest
from click.testing import CliRunner
from cryb_plugins.users.service import CLI, USERS
from sqlite_utils.utils import decode_base64_values

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from cryb_node.cli import cli
from cryb_node.dataconsole import is_private
from tests.conftest import ROOT, make_config
from tests.support.waiting import eventually
from tests.users_fixtures import FAST_HASHING, PASSWORD, auth, register_user

Q = "/api/v1/admin/db/query"
ROUTES = [("GET", "/api/v1/admin/db/tables"), ("POST", Q), ("GET", "/api/v1/admin/db/export?table=node_meta")]


async def start(aiohttp_client: Any, tmp_path: Path, **console: Any) -> Any:
    cfg = make_config(
        tmp_path / "data",
        plugin={"users": FAST_HASHING},
        rate_limits={"enabled": False},
        db={"console": {"timeout_ms": 1000, **console}},
    )
    return await aiohttp_client(build_app(cfg))


async def admin_token(client: Any) -> str:
    """A node admin made the way `cryb user create --admin` does, signed in over HTTP."""
    users = client.server.app[NODE].services.require(USERS)
    await users.create_account("root", "root@example.test", PASSWORD, client=CLI, admin=True, session=False)
    resp = await client.post("/api/v1/auth/login", json={"login": "root", "password": PASSWORD})
    return (await resp.json())["access_token"]


def direct(client: Any) -> sqlite3.Connection:
    """The node's database file, opened beside the node (what the console's answers are checked against)."""
    return sqlite3.connect(f"file:{client.server.app[NODE].db_path}?mode=ro", uri=True)


async def run(client: Any, token: str, sql: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    resp = await client.post(Q, json={"sql": sql, **extra}, headers=auth(token))
    return resp.status, await resp.json()


@pytest.fixture
async def console(aiohttp_client: Any, tmp_path: Path) -> tuple[Any, str]:
    client = await start(aiohttp_client, tmp_path, default_rows=50, max_rows=200)
    token = await admin_token(client)
    for name in ("ada", "bob", "cyd"):
        await register_user(client, name)
    return client, token


# -- reading ------------------------------------------------------------------------------------


async def test_tables_lists_every_table_with_its_row_count_and_columns(console):
    client, token = console

    def counts() -> dict[str, int]:
        with direct(client) as conn:
            names = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
            ]
            return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}

    # The node's background consumers keep writing: the listing's counts lie between a count taken
    # before it and one taken after.
    before = counts()
    resp = await client.get("/api/v1/admin/db/tables", headers=auth(token))
    assert resp.status == 200
    listed = {t["name"]: t for t in (await resp.json())["tables"]}
    after = counts()
    assert set(listed) == set(before) == set(after)
    with direct(client) as conn:
        for name in before:
            low, high = sorted((before[name], after[name]))
            assert low <= listed[name]["rows"] <= high, name
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info('{name}')")]
            assert [c["name"] for c in listed[name]["columns"]] == cols, name
    assert listed["users_accounts"]["rows"] == 4  # root, ada, bob, cyd
    private = {c["name"] for c in listed["users_accounts"]["columns"] if c["private"]}
    assert private == {"email_ct", "email_index", "password_hash", "totp_secret_ct", "last_ip_ct"}
    assert not any(c["private"] for c in listed["users_profiles"]["columns"])


async def test_query_answers_the_rows_in_the_database(console):
    client, token = console
    status, body = await run(client, token, "SELECT username, admin FROM users_accounts ORDER BY username")
    assert status == 200, body
    assert body["columns"] == ["username", "admin"]
    assert body["rows"] == [["ada", 0], ["bob", 0], ["cyd", 0], ["root", 1]]
    assert body["truncated"] is False and body["hidden"] == [] and body["limit"] == 50

    # Joins with clashing names keep every column (renamed as sqlite-utils does); BLOBs come back in
    # sqlite-utils' JSON form; an empty answer still names its columns.
    status, body = await run(
        client, token,
        "SELECT a.id, p.user_id AS id, x'00ff' AS b FROM users_accounts a JOIN users_profiles p"
        " ON p.user_id = a.id WHERE a.username = 'ada'",
    )  # fmt: skip
    assert status == 200, body
    assert body["columns"] == ["id", "id_2", "b"]
    assert body["rows"][0][0] == body["rows"][0][1]
    assert body["rows"][0][2] == {"$base64": True, "encoded": "AP8="}
    status, body = await run(client, token, "SELECT id, username FROM users_accounts WHERE 0")
    assert (status, body["columns"], body["rows"]) == (200, ["id", "username"], [])


async def test_row_limit_cuts_the_answer_and_says_so(console):
    client, token = console
    counting = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120) SELECT i FROM n"
    status, body = await run(client, token, counting, limit=10)
    assert status == 200 and body["rows"] == [[i] for i in range(1, 11)]
    assert body["truncated"] is True and body["limit"] == 10
    status, body = await run(client, token, counting, limit=120)
    assert len(body["rows"]) == 120 and body["truncated"] is False
    # No limit: the default (db.console.default_rows = 50); more than max_rows (200) is refused.
    status, body = await run(client, token, counting)
    assert len(body["rows"]) == 50 and body["truncated"] is True
    status, body = await run(client, token, counting, limit=201)
    assert (status, body["code"], body["field"]) == (400, "invalid_field", "limit")
    status, body = await run(client, token, counting, limit=0)
    assert (status, body["field"]) == (400, "limit")


# -- read-only ----------------------------------------------------------------------------------

REFUSED = [
    ("INSERT INTO node_meta (key, value) VALUES ('x', 1)", "INSERT"),
    ("UPDATE users_accounts SET admin = 1", "UPDATE"),
    ("DELETE FROM users_profiles", "DELETE"),
    ("DROP TABLE users_profiles", "DROP"),
    ("DROP INDEX users_sessions_by_user", "DROP"),
    ("CREATE TABLE t (x)", "CREATE"),
    ("CREATE INDEX i ON users_profiles (bio)", "CREATE"),
    ("CREATE TEMP TABLE t (x)", "CREATE"),
    ("CREATE TEMP VIEW v AS SELECT 1", "CREATE"),
    ("ALTER TABLE users_profiles ADD COLUMN x", "ALTER"),
    ("ATTACH DATABASE 'other.db' AS other", "ATTACH"),
    ("PRAGMA writable_schema = 1", "PRAGMA writable_schema"),
    ("PRAGMA query_only = 0", "PRAGMA query_only"),
    ("PRAGMA journal_mode = DELETE", "PRAGMA journal_mode"),
    ("SELECT load_extension('/tmp/evil.so')", "load_extension"),
    ("SELECT fts3_tokenizer('simple')", "fts3_tokenizer"),
    ("SELECT length(randomblob(1000000000))", "randomblob"),
    ("WITH x AS (SELECT 1) INSERT INTO node_meta SELECT 'k', 1 FROM x", "INSERT"),
    ("REPLACE INTO node_meta VALUES ('k', 2)", "INSERT"),
    ("BEGIN IMMEDIATE", "BEGIN"),
    ("SAVEPOINT s", "SAVEPOINT"),
    ("REINDEX", "REINDEX"),
    ("ANALYZE", "not allowed"),
    ("EXPLAIN DELETE FROM users_profiles", "DELETE"),
]


async def test_anything_but_reading_is_refused_and_changes_nothing(console):
    client, token = console
    with direct(client) as conn:
        before = conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
        profiles = conn.execute("SELECT count(*) FROM users_profiles").fetchone()[0]
    for sql, named in REFUSED:
        status, body = await run(client, token, sql)
        assert (status, body["code"], body["field"]) == (400, "query_not_allowed", "sql"), (sql, body)
        assert named in body["detail"], (sql, body["detail"])
    with direct(client) as conn:
        assert conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == before
        assert conn.execute("SELECT count(*) FROM users_profiles").fetchone()[0] == profiles
        assert conn.execute("SELECT count(*) FROM node_meta").fetchone()[0] == 0
    # VACUUM asks no authorizer; the read-only file refuses it.
    status, body = await run(client, token, "VACUUM")
    assert status == 400 and body["code"] in ("query_not_allowed", "invalid_sql")


async def test_schema_introspection_is_allowed(console):
    """docs/data-console.md's example, and the statement form of the same pragma."""
    client, token = console
    for sql in ("SELECT * FROM pragma_table_info('users_accounts')", "PRAGMA table_info(users_accounts)"):
        status, body = await run(client, token, sql)
        assert status == 200, body
        names = [row[body["columns"].index("name")] for row in body["rows"]]
        assert names[:3] == ["id", "username", "username_key"] and "password_hash" in names
    status, body = await run(client, token, "SELECT name FROM sqlite_master WHERE name = 'users_accounts'")
    assert body["rows"] == [["users_accounts"]]


async def test_one_statement_at_a_time(console):
    client, token = console
    for sql in ("SELECT 1; DELETE FROM users_profiles", "SELECT 1; SELECT 2"):
        status, body = await run(client, token, sql)
        assert (status, body["code"], body["field"]) == (400, "multiple_statements", "sql")
    status, body = await run(client, token, "SELECT 1;  -- a trailing comment is fine")
    assert (status, body["rows"]) == (200, [[1]])


async def test_bad_sql_names_the_field(console):
    client, token = console
    status, body = await run(client, token, "SELEC 1")
    assert (status, body["code"], body["field"]) == (400, "invalid_sql", "sql")
    assert "syntax error" in body["detail"]
    status, body = await run(client, token, "SELECT * FROM no_such_table")
    assert (status, body["code"]) == (400, "invalid_sql") and "no_such_table" in body["detail"]
    status, body = await run(client, token, "-- nothing to run")
    assert (status, body["code"]) == (400, "invalid_sql")
    resp = await client.post(Q, json={"sql": ""}, headers=auth(token))
    assert (resp.status, (await resp.json())["field"]) == (400, "sql")
    resp = await client.post(Q, json={"sql": "SELECT 1", "drop": True}, headers=auth(token))
    assert (resp.status, (await resp.json())["field"]) == (400, "drop")


# -- private columns ----------------------------------------------------------------------------


async def test_password_hashes_and_token_material_never_come_back(console):
    client, token = console
    with direct(client) as conn:
        hashes = [r[0] for r in conn.execute("SELECT password_hash FROM users_accounts")]
        token_hashes = [r[0] for r in conn.execute("SELECT token_hash FROM users_refresh_tokens")]
        sealed_ips = [r[0] for r in conn.execute("SELECT ip_ct FROM users_sessions")]
    # The secrets are really there (else this test could not fail).
    assert len(hashes) == 4 and all(hashes) and len(token_hashes) >= 4 and all(sealed_ips)

    status, body = await run(client, token, "SELECT password_hash FROM users_accounts")
    assert status == 200 and body["rows"] == [[None]] * 4
    assert body["hidden"] == ["users_accounts.password_hash"]

    status, body = await run(client, token, "SELECT * FROM users_sessions")
    assert status == 200 and len(body["rows"]) >= 4
    ip_col = body["columns"].index("ip_ct")
    assert all(row[ip_col] is None for row in body["rows"]) and body["hidden"] == ["users_sessions.ip_ct"]

    status, body = await run(client, token, "SELECT * FROM users_refresh_tokens")
    assert all(row[body["columns"].index("token_hash")] is None for row in body["rows"])

    # Not through expressions, WHERE clauses, subqueries or functions either: they see NULL too.
    for sql in (
        "SELECT count(*) FROM users_accounts WHERE password_hash IS NOT NULL",
        "SELECT count(*) FROM users_accounts WHERE password_hash LIKE '$argon2id$%'",
        "SELECT count(*) FROM (SELECT hex(password_hash) AS h FROM users_accounts) WHERE h <> ''",
        "SELECT count(*) FROM users_refresh_tokens WHERE length(token_hash) > 0",
    ):
        status, body = await run(client, token, sql)
        assert (status, body["rows"]) == (200, [[0]]), sql
    status, body = await run(client, token, "SELECT group_concat(email_ct) FROM users_accounts")
    assert body["rows"] == [[None]]

    # After an ANALYZE, SQLite keeps sample keys of each index (the token hash index among them).
    await client.server.app[NODE].db.run_in_writer(lambda conn: conn.execute("ANALYZE"))
    with direct(client) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_stat4 WHERE sample IS NOT NULL").fetchone()[0] > 0
    status, body = await run(client, token, "SELECT count(*) FROM sqlite_stat4 WHERE sample IS NOT NULL")
    assert (status, body["rows"], body["hidden"]) == (200, [[0]], ["sqlite_stat4.sample"])

    # Nothing in any answer carries the stored bytes.
    status, body = await run(client, token, "SELECT * FROM users_accounts")
    text = json.dumps(body)
    for secret in hashes:
        assert (secret.decode() if isinstance(secret, bytes) else secret) not in text
    for th in token_hashes:
        status, body = await run(client, token, "SELECT * FROM users_refresh_tokens")
        assert th.hex() not in json.dumps(body).lower()


async def test_each_plugin_declares_its_private_columns(console):
    """The deny list, table by table, as the migrations define the columns (a renamed column would
    otherwise drop silently out of it)."""
    client, token = console
    expected = {
        "event_content": {"content"},
        "rate_state": {"key"},
        "users_accounts": {"email_ct", "email_index", "password_hash", "totp_secret_ct", "last_ip_ct"},
        "users_sessions": {"ip_ct"},
        "users_refresh_tokens": {"token_hash"},
        "users_email_tokens": {"token_hash", "email_ct", "email_index"},
        "users_recovery_codes": {"code_hash"},
        "users_oauth_links": {"subject"},
        "users_audit": {"ip_ct"},
        "users_registration_tokens": {"token_hash"},
        "users_applications": {"answer_ct"},
        "community_invites": {"code"},
        "content_messages": {"content", "original"},
        "content_edits": {"data"},
        "analytics_salts": {"salt"},
        "notif_push_subs": {"endpoint", "auth"},
        "notif_inbox": {"preview"},
        "notif_outbox": {"payload"},
        "integ_webhooks": {"token_hash"},
        "integ_subscriptions": {"secret"},
        "integ_deliveries": {"body"},
        "poll_votes": {"user_id", "choices"},
        "users_api_tokens": {"token_hash"},
        "integ_bot_endpoints": {"secret"},
        "community_onboarding": {"rules_hash"},
        "community_onboarded": {"rules_hash"},
    }
    resp = await client.get("/api/v1/admin/db/tables", headers=auth(token))
    found = {
        t["name"]: {c["name"] for c in t["columns"] if c["private"]} for t in (await resp.json())["tables"]
    }
    assert {t: cols for t, cols in found.items() if cols} == expected


@pytest.mark.parametrize(
    ("column", "private"),
    [("token_hash", True), ("email_ct", True), ("totp_secret", True), ("api_token", True), ("token", True),
     ("password", True), ("salt", True), ("tokens_left", False), ("code", False), ("created_at", False),
     ("username", False)],
)  # fmt: skip
def test_columns_named_like_secrets_are_private_in_any_table(column, private):
    """A plugin that forgets to declare a column named by the project's conventions is still covered."""
    assert is_private({}, "some_new_table", column) is private


# -- time budget --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r",
        "SELECT count(*) FROM schema_migrations a, schema_migrations b, schema_migrations c,"
        " schema_migrations d, schema_migrations e, schema_migrations f, schema_migrations g",
        "SELECT a.version FROM schema_migrations a, schema_migrations b, schema_migrations c,"
        " schema_migrations d, schema_migrations e, schema_migrations f ORDER BY random() LIMIT 1",
    ],
    ids=["endless-recursion", "cross-join", "cross-join-sorted"],
)
async def test_a_runaway_query_is_stopped_within_its_budget(console, sql):
    client, token = console  # db.console.timeout_ms = 1000
    began = time.monotonic()
    status, body = await run(client, token, sql)
    took = time.monotonic() - began
    assert (status, body["code"], body["field"]) == (422, "query_timeout", "sql")
    assert "1000 ms" in body["detail"]
    assert 1.0 <= took < 3.0, took


async def test_the_node_keeps_answering_while_a_slow_query_runs(aiohttp_client, tmp_path):
    client = await start(aiohttp_client, tmp_path, timeout_ms=2500)
    token = await admin_token(client)
    slow = asyncio.create_task(
        run(
            client,
            token,
            "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r",
        )
    )
    await asyncio.sleep(0.2)
    answered = []
    while not slow.done():
        began = time.monotonic()
        resp = await client.get("/healthz")
        assert resp.status == 200
        answered.append(time.monotonic() - began)
        await asyncio.sleep(0.1)
    status, body = await slow
    assert (status, body["code"]) == (422, "query_timeout")
    assert len(answered) >= 10 and max(answered) < 0.25, answered


# -- exports ------------------------------------------------------------------------------------


async def test_a_table_exports_as_csv_with_private_columns_empty(console):
    client, token = console
    resp = await client.get("/api/v1/admin/db/export?table=users_accounts&format=csv", headers=auth(token))
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert resp.headers["Content-Disposition"] == 'attachment; filename="users_accounts.csv"'
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    with direct(client) as conn:
        conn.row_factory = sqlite3.Row
        stored = {r["id"]: r for r in conn.execute("SELECT * FROM users_accounts")}
    assert {r["id"] for r in rows} == set(stored)
    for row in rows:
        assert row["username"] == stored[row["id"]]["username"]
        assert row["created_at"] == str(stored[row["id"]]["created_at"])
        assert row["password_hash"] == row["email_ct"] == row["email_index"] == ""
    assert list(rows[0]) == list(stored[rows[0]["id"]].keys())


async def test_a_query_exports_as_json(console):
    client, token = console
    sql = "SELECT username, admin, x'cafe' AS b FROM users_accounts ORDER BY username"
    resp = await client.get(
        "/api/v1/admin/db/export", params={"sql": sql, "format": "json"}, headers=auth(token)
    )
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("application/json")
    assert resp.headers["Content-Disposition"] == 'attachment; filename="query.json"'
    exported = json.loads(await resp.text())
    assert exported == [
        {"username": n, "admin": int(n == "root"), "b": {"$base64": True, "encoded": "yv4="}}
        for n in ("ada", "bob", "cyd", "root")
    ]
    # sqlite-utils reads the file back as it wrote it: BLOBs as bytes again.
    assert decode_base64_values(exported[0]) == {"username": "ada", "admin": 0, "b": b"\xca\xfe"}
    # CSV of the same query: BLOBs as hex.
    resp = await client.get("/api/v1/admin/db/export", params={"sql": sql}, headers=auth(token))
    assert (await resp.text()).splitlines() == [
        "username,admin,b",
        "ada,0,cafe",
        "bob,0,cafe",
        "cyd,0,cafe",
        "root,1,cafe",
    ]


async def test_exports_refuse_what_queries_refuse_before_sending_anything(console):
    client, token = console
    cases = [
        ({"table": "no_such_table"}, 404, "not_found", "table"),
        ({"sql": "DELETE FROM users_profiles"}, 400, "query_not_allowed", "sql"),
        ({"sql": "SELECT 1; SELECT 2"}, 400, "multiple_statements", "sql"),
        ({"sql": "SELEC"}, 400, "invalid_sql", "sql"),
        ({"table": "users_profiles", "sql": "SELECT 1"}, 400, "invalid_query", "table"),
        ({}, 400, "invalid_query", "table"),
        ({"table": "users_profiles", "format": "xml"}, 400, "invalid_query", "format"),
    ]
    for params, status, code, field in cases:
        resp = await client.get("/api/v1/admin/db/export", params=params, headers=auth(token))
        body = await resp.json()
        assert (resp.status, body["code"], body.get("field")) == (status, code, field), params


async def test_an_export_stops_at_its_row_cap(aiohttp_client, tmp_path):
    client = await start(aiohttp_client, tmp_path, export_max_rows=25)
    token = await admin_token(client)
    sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n"
    resp = await client.get("/api/v1/admin/db/export", params={"sql": sql}, headers=auth(token))
    assert resp.status == 200 and resp.headers["X-Cryb-Row-Cap"] == "25"
    assert (await resp.text()).split() == ["i", *map(str, range(1, 26))]


async def test_an_export_past_its_budget_is_cut_off_not_left_looking_whole(aiohttp_client, tmp_path):
    import aiohttp

    client = await start(aiohttp_client, tmp_path, export_timeout_ms=300)
    token = await admin_token(client)
    sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i, hex(i) FROM n"
    resp = await client.get("/api/v1/admin/db/export", params={"sql": sql}, headers=auth(token))
    assert resp.status == 200
    with pytest.raises(aiohttp.ClientPayloadError):
        await resp.read()


# -- who may, and the audit log -----------------------------------------------------------------


async def test_only_node_admins_reach_the_console(console):
    client, _ = console
    _, member = await register_user(client)
    for method, path in ROUTES:
        body = {"json": {"sql": "SELECT 1"}} if method == "POST" else {}
        resp = await client.request(method, path, **body)
        assert (resp.status, (await resp.json())["code"]) == (401, "unauthorized"), path
        resp = await client.request(method, path, headers=auth(member), **body)
        assert (resp.status, (await resp.json())["code"]) == (403, "forbidden"), path


async def test_a_demoted_or_disabled_admin_is_refused_at_once(console):
    """The access token still says admin until it expires; the console reads the account itself."""
    client, token = console
    node = client.server.app[NODE]
    root_id = await node.db.fetchval("SELECT id FROM users_accounts WHERE username = 'root'")
    assert (await run(client, token, "SELECT 1"))[0] == 200
    await node.db.write(lambda c: c.execute("UPDATE users_accounts SET admin = 0 WHERE id = ?", (root_id,)))
    for method, path in ROUTES:
        body = {"json": {"sql": "SELECT 1"}} if method == "POST" else {}
        resp = await client.request(method, path, headers=auth(token), **body)
        assert (resp.status, (await resp.json())["code"]) == (403, "forbidden"), path


async def test_every_query_and_export_is_audited_with_its_sql_but_not_its_rows(console):
    client, token = console
    node = client.server.app[NODE]
    root_id = await node.db.fetchval("SELECT id FROM users_accounts WHERE username = 'root'")
    await run(client, token, "SELECT username FROM users_profiles ORDER BY username")
    await run(client, token, "DELETE FROM users_profiles")
    async with client.get(
        "/api/v1/admin/db/export?table=users_profiles&format=json", headers=auth(token)
    ) as r:
        await r.read()  # the export is audited as its stream closes
    resp = await client.get("/api/v1/admin/audit?action=db.query", headers=auth(token))
    entries = (await resp.json())["entries"]
    assert [e["detail"]["sql"] for e in entries] == [
        "DELETE FROM users_profiles",
        "SELECT username FROM users_profiles ORDER BY username",
    ]
    assert [e["detail"]["outcome"] for e in entries] == ["query_not_allowed", "ok"]
    assert entries[1]["detail"]["rows"] == 4 and entries[1]["actor_id"] == root_id
    assert entries[1]["ip"] == "127.0.0.1"
    assert not re.search(r"\b(ada|bob|cyd)\b", json.dumps(entries))  # the SQL, never the answer

    async def audited() -> list:  # written just after the last byte went out
        resp = await client.get("/api/v1/admin/audit?action=db.export", headers=auth(token))
        return (await resp.json())["entries"]

    (export,) = await eventually(audited, 5)
    assert export["detail"]["table"] == "users_profiles" and export["detail"]["outcome"] == "ok"
    assert export["actor_id"] == root_id


# -- the CLI ------------------------------------------------------------------------------------


def cryb(data: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--data", str(data), *args], catch_exceptions=False)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no cryb.toml: defaults
    data = tmp_path / "data"
    assert cryb(data, "init").exit_code == 0
    for name, admin in (("ada", True), ("bob", False)):
        args = ["user", "create", name, "--email", f"{name}@example.test", "--password", PASSWORD]
        out = cryb(data, *args, *(["--admin"] if admin else []))
        assert out.exit_code == 0, out.output
    return data


def test_cli_lists_tables_queries_and_exports(data_dir: Path, tmp_path: Path):
    out = cryb(data_dir, "db", "tables", "--json")
    assert out.exit_code == 0, out.output
    tables = {t["name"]: t for t in json.loads(out.output)["tables"]}
    assert tables["users_accounts"]["rows"] == 2
    text = cryb(data_dir, "db", "tables").output
    assert re.search(r"^users_accounts\s+2\s+id, username", text, re.M)
    assert "password_hash (private)" in text

    out = cryb(
        data_dir,
        "db",
        "query",
        "SELECT username, admin, password_hash FROM users_accounts ORDER BY username",
        "--csv",
    )
    assert out.exit_code == 0
    assert out.stdout.splitlines() == ["username,admin,password_hash", "ada,1,", "bob,0,"]
    assert "private, read as NULL: users_accounts.password_hash" in out.stderr

    out = cryb(
        data_dir,
        "db",
        "query",
        "SELECT username FROM users_accounts ORDER BY username",
        "--json",
        "--limit",
        "1",
    )
    body = json.loads(out.stdout)
    assert (body["rows"], body["truncated"]) == ([["ada"]], True)
    assert "stopped at 1 rows" in out.stderr

    out = cryb(data_dir, "db", "query", "DROP TABLE users_profiles")
    assert out.exit_code == 1 and "is not allowed: the data console only reads" in out.stderr

    target = tmp_path / "profiles.json"
    out = cryb(data_dir, "db", "export", "users_profiles", "--format", "json", "-o", str(target))
    assert out.exit_code == 0, out.output
    assert sorted(p["username"] for p in json.loads(target.read_text())) == ["ada", "bob"]
    out = cryb(data_dir, "db", "export", "--sql", "SELECT username FROM users_accounts ORDER BY 1")
    assert out.stdout.splitlines() == ["username", "ada", "bob"]
    assert cryb(data_dir, "db", "export").exit_code == 2

    # The CLI's queries are audited too (actor: none, via: cli).
    out = cryb(data_dir, "audit", "--action", "db.query", "--json")
    sqls = [e["detail"]["sql"] for e in json.loads(out.output)]
    assert "DROP TABLE users_profiles" in sqls and all(e["actor_id"] is None for e in json.loads(out.output))


def readme_examples() -> list[str]:
    """The `cryb db` lines of README.md's data console section, as written there."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### The data console", 1)[1].split("\n#", 1)[0]
    return [line.split("  #")[0].strip() for line in section.splitlines() if line.startswith("cryb db ")]


def test_the_readme_examples_run(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import shlex

    examples = readme_examples()
    assert len(examples) >= 5
    for example in examples:
        out = cryb(data_dir, *shlex.split(example)[1:])
        assert out.exit_code == 0, (example, out.output)
    assert {p["username"] for p in json.loads((tmp_path / "accounts.json").read_text())} == {"ada", "bob"}
    assert (tmp_path / "profiles.csv").read_text().startswith("user_id,username,")
