"""`cryb doctor`: checks config, data dir, keys, database integrity, migrations and the event log."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryb_node import db as dbmod
from cryb_node import identity, migrate
from cryb_node.config import Config
from cryb_node.db import DB_FILE
from cryb_node.events import InvalidEvent, verify
from cryb_node.plugins import Loaded

MAX_REPORTED = 20


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str


def run(config: Config, plugins: list[Loaded]) -> list[Finding]:
    return list(_checks(config, plugins))


def _checks(config: Config, plugins: list[Loaded]) -> Iterator[Finding]:
    yield Finding("config", True, "valid")
    data = config.data_path
    if not data.is_dir():
        yield Finding("data_dir", False, f"{data} does not exist (run `cryb init`)")
        return
    yield Finding(
        "data_dir",
        os.access(data, os.W_OK),
        f"{data} {'writable' if os.access(data, os.W_OK) else 'not writable'}",
    )
    yield from _check_keys(config)
    try:
        dbmod.check_sqlite_version()
        yield Finding("sqlite", True, dbmod.sqlite3.sqlite_version)
    except dbmod.SQLiteTooOld as err:
        yield Finding("sqlite", False, str(err))
    path = data / DB_FILE
    if not path.exists():
        yield Finding("database", False, f"{path} does not exist (run `cryb init`)")
        return
    yield from check_database(path, plugins, busy_timeout_ms=config.db.busy_timeout_ms)


def check_database(path: Path, plugins: list[Loaded], *, busy_timeout_ms: int = 5000) -> Iterator[Finding]:
    """Integrity, foreign keys, migrations and every event of one database file (also used by
    `cryb backup verify` on a restored copy)."""
    conn = dbmod.connect(path, busy_timeout_ms=busy_timeout_ms, readonly=True)
    try:
        result = [r["integrity_check"] for r in conn.execute("PRAGMA integrity_check")]
        yield Finding("integrity", result == ["ok"], "; ".join(result[:MAX_REPORTED]))
        fk = conn.execute("PRAGMA foreign_key_check").fetchall()
        yield Finding("foreign_keys", not fk, f"{len(fk)} dangling references" if fk else "ok")
        statuses = migrate.status(conn, migrate.all_migrations(plugins))
        bad = [f"{s.source}/{s.version:04d}_{s.name}: {s.state}" for s in statuses if s.state != "applied"]
        yield Finding("migrations", not bad, "; ".join(bad) or f"{len(statuses)} applied")
        yield from _check_events(conn)
    finally:
        conn.close()


def _check_keys(config: Config) -> Iterator[Finding]:
    kd = identity.key_dir(config.data_path)
    for name in ("node.key", "log.key"):
        path = kd / name
        if not path.exists():
            yield Finding(f"keys:{name}", False, f"{path} is missing")
            continue
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            yield Finding(f"keys:{name}", False, f"{path} is readable by others (mode {mode:o}); chmod 600")
            continue
        yield Finding(f"keys:{name}", True, "present, mode 600")
    try:
        ident = identity.load(config.data_path)
    except (identity.KeyFileError, FileNotFoundError) as err:
        yield Finding("keys", False, str(err))
        return
    ok = identity.verify_log_cert(ident.node_public, ident.origin, ident.log_cert)
    yield Finding(
        "keys", ok, f"node key {ident.node_public.hex()[:16]}…, log key certified" if ok else "bad cert"
    )


def _check_events(conn: dbmod.Connection) -> Iterator[Finding]:
    problems: list[str] = []
    count = 0
    heads: dict[bytes, tuple[int, bytes]] = {}
    certs = {
        r["origin"]: identity.verify_log_cert(r["node_key"], r["origin"], r["cert"])
        for r in conn.execute("SELECT origin, node_key, cert FROM log_keys")
    }
    # Our own logs (current and earlier log keys) have heads; every seq of them must be here.
    own = {r["origin"] for r in conn.execute("SELECT origin FROM log_heads")}
    rows = conn.execute(
        "SELECT e.pos, e.id, e.origin, e.seq, e.hlc, e.community, e.kind, e.body, e.sig, c.content"
        " FROM events e LEFT JOIN event_content c ON c.event_id = e.id ORDER BY e.origin, e.seq"
    )
    for r in rows:
        count += 1
        eid, origin, seq, raw = r["id"], r["origin"], r["seq"], r["body"]
        where = f"event pos {r['pos']} ({r['kind']})"
        try:
            body = verify(raw, r["sig"], r["content"])
        except InvalidEvent as err:
            problems.append(f"{where}: {err}")
            continue
        if hashlib.sha256(raw).digest() != eid:
            problems.append(f"{where}: id is not sha256(body)")
        signed = (body.origin, body.seq, body.hlc, body.community, body.kind)
        if signed != (origin, seq, r["hlc"], r["community"], r["kind"]):
            problems.append(f"{where}: columns disagree with the signed body")
        if not certs.get(origin, False):
            problems.append(f"{where}: origin key has no valid certificate")
        if origin not in own:
            continue  # a peer's log: we hold only the parts replicated to us (cryb_node/sync)
        prev_seq, prev_id = heads.get(origin, (0, None))
        if seq != prev_seq + 1:
            problems.append(f"{where}: seq {seq} follows {prev_seq} (gap)")
        elif body.prev != prev_id:
            problems.append(f"{where}: prev does not link to seq {prev_seq}")
        heads[origin] = (seq, eid)
    for origin, (seq, eid) in heads.items():
        head = conn.execute("SELECT seq, event_id FROM log_heads WHERE origin = ?", (origin,)).fetchone()
        if head is None or (head["seq"], head["event_id"]) != (seq, eid):
            problems.append(f"log head for origin {origin.hex()[:16]}… does not match its last event")
    detail = "; ".join(problems[:MAX_REPORTED]) if problems else f"{count} events verified"
    if len(problems) > MAX_REPORTED:
        detail += f"; and {len(problems) - MAX_REPORTED} more"
    yield Finding("event_log", not problems, detail)
