"""Automod (block, flag, timeout, regex safety), the reports queue, and the mod log over HTTP and
through the `cryb mod` CLI against the same database."""

# ruff: noqa: E501  (request bodies read best on one line)

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from cryb_node.appkeys import NODE
from cryb_node.services import AUTOMOD, Perm
from tests.communities.conftest import call, new_user, ok
from tests.conftest import DEMO, ROOT, run_cryb, write_config
from tests.support.waiting import eventually

MOD = int(
    Perm.KICK_MEMBERS | Perm.BAN_MEMBERS | Perm.MODERATE_MEMBERS | Perm.VIEW_AUDIT_LOG | Perm.MANAGE_MESSAGES
)


async def community_with_mod(client):
    owner, mod, member = await new_user(client), await new_user(client), await new_user(client)
    cid = (await ok(client, "POST", "/communities", owner, json={"name": "Mods"}))["id"]
    for u in (mod, member):
        await ok(client, "PUT", f"/communities/{cid}/members/@me", u, json={})
    role = await ok(
        client, "POST", f"/communities/{cid}/roles", owner, json={"name": "mod", "perms": MOD, "position": 2}
    )
    await ok(client, "PUT", f"/communities/{cid}/members/{mod.id}/roles/{role['id']}", owner)
    return cid, owner, mod, member


async def test_blocked_word_is_refused_and_logged_flagged_text_lands_in_reports(cclient):
    cid, owner, mod, member = await community_with_mod(cclient)
    block = await ok(cclient, "POST", f"/communities/{cid}/automod/rules", owner,
                     json={"name": "slurs", "kind": "words", "config": {"words": ["badword"]}})  # fmt: skip
    flag = await ok(cclient, "POST", f"/communities/{cid}/automod/rules", owner,
                    json={"name": "scam", "kind": "regex", "config": {"patterns": [r"free\s+money"]}, "action": "flag"})  # fmt: skip

    status, body = await call(
        cclient, "POST", f"/communities/{cid}/automod/check", member, json={"text": "you BadWord"}
    )
    assert status == 422 and body["code"] == "automod_blocked" and body["field"] == "text"
    assert "slurs" in body["detail"] and "badword" in body["detail"]
    log = await ok(cclient, "GET", f"/communities/{cid}/modlog?action=automod_block", mod)
    [entry] = log["entries"]
    assert entry["actor"] == "automod" and entry["target"] == member.id and "slurs" in entry["reason"]
    assert entry["details"]["rule_id"] == block["id"] and entry["time"] > 0
    assert (await ok(cclient, "GET", f"/communities/{cid}/reports", mod))[
        "reports"
    ] == []  # blocked: nothing to review

    verdict = await ok(
        cclient, "POST", f"/communities/{cid}/automod/check", member, json={"text": "get FREE   money now"}
    )
    assert verdict["action"] == "flag" and verdict["rule_id"] == flag["id"]
    [report] = (await ok(cclient, "GET", f"/communities/{cid}/reports", mod))["reports"]
    assert (
        report["reporter_id"] is None
        and report["rule_id"] == flag["id"]
        and report["target_user"] == member.id
    )
    assert report["excerpt"] == "get FREE   money now" and report["status"] == "open"
    assert (await ok(cclient, "POST", f"/communities/{cid}/automod/check", member, json={"text": "hello"}))[
        "action"
    ] == "allow"

    # Content calls the same check through the core's Automod service.
    automod = cclient.app[NODE].services.get(AUTOMOD)
    assert (await automod.check(cid, member.id, "badword")).action == "block"
    assert (await automod.check(cid, owner.id, "badword")).action == "allow"  # managers are exempt

    resolved = await ok(cclient, "PATCH", f"/communities/{cid}/reports/{report['id']}", mod,
                        json={"status": "resolved", "action_taken": "removed the post"})  # fmt: skip
    assert resolved["status"] == "resolved" and resolved["resolved_by"] == mod.id
    assert (await ok(cclient, "GET", f"/communities/{cid}/reports", mod))["reports"] == []


async def test_automod_timeout_links_mentions_and_catastrophic_regex(cclient):
    cid, owner, mod, member = await community_with_mod(cclient)
    rules = [
        {"name": "links", "kind": "links", "config": {"allowed_domains": ["example.com"]}, "action": "flag"},
        {
            "name": "mass",
            "kind": "mentions",
            "config": {"max_mentions": 2},
            "action": "timeout",
            "timeout_s": 600,
        },
        {"name": "evil", "kind": "regex", "config": {"patterns": ["(a+)+$"]}, "action": "flag"},
    ]
    for rule in rules:
        await ok(cclient, "POST", f"/communities/{cid}/automod/rules", owner, json=rule)
    check = f"/communities/{cid}/automod/check"
    assert (await ok(cclient, "POST", check, member, json={"text": "see https://docs.example.com/x"}))[
        "action"
    ] == "allow"
    assert (await ok(cclient, "POST", check, member, json={"text": "see https://evil.test/x"}))[
        "action"
    ] == "flag"
    # The catastrophic pattern is cut off by the regex timeout instead of stalling the node.
    assert (await ok(cclient, "POST", check, member, json={"text": "a" * 40 + "!"}))["action"] in (
        "allow",
        "flag",
    )
    status, body = await call(cclient, "POST", check, member, json={"text": "@ann @bob @cat hi"})
    assert status == 422 and body["code"] == "automod_blocked"
    me = await ok(cclient, "GET", f"/communities/{cid}/members/{member.id}", mod)
    assert me["timeout_until"] is not None  # automod timed the member out
    status, body = await call(cclient, "POST", check, member, json={"text": "hello"})
    assert status == 403 and body["code"] == "cannot_send"


async def test_bad_regex_is_refused_naming_the_pattern_and_nothing_is_written(cclient):
    cid, owner, _, _ = await community_with_mod(cclient)
    status, body = await call(cclient, "POST", f"/communities/{cid}/automod/rules", owner,
                              json={"name": "x", "kind": "regex", "config": {"patterns": ["ok", "(unclosed"]}})  # fmt: skip
    assert status == 400 and body["code"] == "invalid_regex" and body["field"] == "config.patterns[1]"
    status, body = await call(cclient, "POST", f"/communities/{cid}/automod/rules", owner,
                              json={"name": "x", "kind": "regex", "config": {"patterns": ["a" * 201]}})  # fmt: skip
    assert status == 400 and body["field"] == "config.patterns[0]"
    assert (await ok(cclient, "GET", f"/communities/{cid}/automod/rules", owner))["rules"] == []


async def test_mod_log_names_actor_target_reason_and_time_and_respects_visibility(cclient):
    cid, owner, mod, member = await community_with_mod(cclient)
    victim = await new_user(cclient)
    await ok(cclient, "PUT", f"/communities/{cid}/members/@me", victim, json={})
    await ok(
        cclient,
        "PUT",
        f"/communities/{cid}/members/{member.id}/timeout",
        mod,
        json={"duration_s": 60, "reason": "cool off"},
    )
    await ok(
        cclient, "POST", f"/communities/{cid}/members/{victim.id}/kick", mod, json={"reason": "spam links"}
    )
    await ok(
        cclient,
        "PUT",
        f"/communities/{cid}/bans/{victim.id}",
        mod,
        json={"reason": "came back", "delete_message_seconds": 3600},
    )
    await ok(cclient, "DELETE", f"/communities/{cid}/bans/{victim.id}?reason=appeal%20accepted", owner)
    log = (await ok(cclient, "GET", f"/communities/{cid}/modlog?limit=4", mod))["entries"]
    assert [(e["action"], e["actor"], e["target"], e["reason"]) for e in log] == [
        ("unban", owner.id, victim.id, "appeal accepted"),
        ("ban", mod.id, victim.id, "came back"),
        ("kick", mod.id, victim.id, "spam links"),
        ("timeout", mod.id, member.id, "cool off"),
    ]
    assert all(e["time"] > 1_700_000_000_000 for e in log)
    assert {e["target_type"] for e in log} == {"user"}
    assert log[1]["details"] == {"delete_message_seconds": 3600}
    page2 = await ok(cclient, "GET", f"/communities/{cid}/modlog?limit=2&before={log[1]['id']}", mod)
    assert [e["action"] for e in page2["entries"]] == ["kick", "timeout"]

    status, body = await call(cclient, "GET", f"/communities/{cid}/modlog", member)
    assert status == 403 and body["code"] == "forbidden"
    await ok(cclient, "PATCH", f"/communities/{cid}", owner, json={"modlog_public": True})
    assert len((await ok(cclient, "GET", f"/communities/{cid}/modlog", member))["entries"]) >= 4


def cli_config(client, tmp_path: Path) -> Path:
    """A config for `cryb` commands against the test node's database."""
    return write_config(
        tmp_path / "cryb.toml",
        f'[node]\ndata_dir = "{client.app[NODE].data_dir}"\n[plugins]\nextra = ["{DEMO}"]\n[log]\nlevel = "WARNING"\n'
        "[plugin.users]\nargon2_opslimit = 1\nargon2_memlimit = 8192\n",
    )


async def test_cli_mod_commands_use_the_same_database_and_show_the_same_log(cclient, tmp_path: Path):
    cid, owner, mod, member = await community_with_mod(cclient)
    cfg = cli_config(cclient, tmp_path)
    await ok(cclient, "POST", f"/communities/{cid}/members/{member.id}/kick", mod, json={"reason": "first"})
    await ok(cclient, "PUT", f"/communities/{cid}/members/@me", member, json={})

    done = await asyncio.to_thread(
        run_cryb, "--config", str(cfg), "mod", "ban", cid, member.id, "--reason", "from the cli", cwd=ROOT
    )
    assert done.returncode == 0, done.stderr

    # The running node notices the other process's event and stops serving the banned member.
    async def refused() -> tuple[int, dict] | None:
        status, body = await call(cclient, "GET", f"/communities/{cid}/channels", member)
        return (status, body) if status == 403 else None

    status, body = await eventually(refused, 6, what="the running node to refuse the banned member")
    assert (status, body["code"]) == (403, "banned")

    api = (await ok(cclient, "GET", f"/communities/{cid}/modlog", owner))["entries"]
    assert (api[0]["action"], api[0]["actor"], api[0]["target"], api[0]["reason"]) == (
        "ban",
        "node",
        member.id,
        "from the cli",
    )
    shown = await asyncio.to_thread(run_cryb, "--config", str(cfg), "mod", "log", cid, cwd=ROOT)
    assert shown.returncode == 0, shown.stderr
    import msgspec
    from cryb_plugins.communities.cli import format_log
    from cryb_plugins.communities.schemas import ModlogEntry

    assert shown.stdout.strip() == format_log([msgspec.convert(e, ModlogEntry) for e in api])
    lines = shown.stdout.strip().splitlines()
    assert lines[0].split()[2:] == ["node", "ban", member.id, "from", "the", "cli"]
    assert lines[1].split()[2:] == [mod.id, "kick", member.id, "first"]

    refused = await asyncio.to_thread(run_cryb, "--config", str(cfg), "mod", "kick", cid, owner.id, cwd=ROOT)
    assert refused.returncode == 1 and "target_is_owner" in refused.stderr
    listed = await asyncio.to_thread(run_cryb, "--config", str(cfg), "community", "list", cwd=ROOT)
    assert listed.returncode == 0 and cid in listed.stdout and "Mods" in listed.stdout


async def test_cli_mod_timeout_lasts_the_minutes_given_and_zero_lifts_it(cclient, tmp_path: Path):
    cid, owner, _, member = await community_with_mod(cclient)
    cfg = cli_config(cclient, tmp_path)
    before = time.time_ns() // 1_000_000
    done = await asyncio.to_thread(
        run_cryb, "--config", str(cfg), "mod", "timeout", cid, member.id, "--minutes", "10", cwd=ROOT
    )
    after = time.time_ns() // 1_000_000
    assert done.returncode == 0 and f"timed out {member.id} until" in done.stdout, done.stderr
    entry = (await ok(cclient, "GET", f"/communities/{cid}/modlog", owner))["entries"][0]
    assert (entry["action"], entry["actor"], entry["target"]) == ("timeout", "node", member.id)
    assert before + 600_000 <= entry["details"]["until"] <= after + 600_000

    lifted = await asyncio.to_thread(
        run_cryb, "--config", str(cfg), "mod", "timeout", cid, member.id, "--minutes", "0", cwd=ROOT
    )
    assert lifted.returncode == 0 and f"lifted timeout of {member.id}" in lifted.stdout, lifted.stderr
    entry = (await ok(cclient, "GET", f"/communities/{cid}/modlog", owner))["entries"][0]
    assert (entry["action"], entry["details"]) == ("timeout_remove", {})


async def test_modlog_entries_say_what_their_target_is(cclient):
    """A channel or a role is not a user: the web UI showed "Unknown user" for them (issue 21, 10)."""
    cid, owner, _mod, member = await community_with_mod(cclient)
    ch = await ok(cclient, "POST", f"/communities/{cid}/channels", owner, json={"name": "ops"})
    role = await ok(cclient, "POST", f"/communities/{cid}/roles", owner, json={"name": "helpers"})
    await ok(cclient, "PUT", f"/communities/{cid}/members/{member.id}/roles/{role['id']}", owner)
    log = (await ok(cclient, "GET", f"/communities/{cid}/modlog?limit=3", owner))["entries"]
    assert [(e["action"], e["target"], e["target_type"]) for e in log] == [
        ("role_assign", member.id, "user"),
        ("role_create", role["id"], "role"),
        ("channel_create", ch["id"], "channel"),
    ]
