"""The tamper-evident audit trail: append-only records, each hashed over its content and the
previous record's hash. Appends happen inside the transaction of the act they record."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent_console.db import from_db, to_db
from agent_console.services.store import Store
from agent_console.text import mask_id_number, mask_phone

GENESIS = "0" * 64
PII_KEYS = frozenset({"phone", "id_number", "contact_phone", "old", "new"})


class Action:
    """What is recorded. Strings, so the trail reads plainly in an export."""

    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    LOCKOUT = "lockout"
    SIGN_OUT = "sign_out"
    SCREEN_LOCK = "screen_lock"
    REVEAL = "reveal"
    CUSTOMER_CHANGE = "customer_change"
    TICKET_STATUS = "ticket_status"
    TICKET_ASSIGN = "ticket_assign"
    KB_CREATE = "kb_create"
    KB_EDIT = "kb_edit"
    KB_RETIRE = "kb_retire"
    KB_IMPORT = "kb_import"
    AGENT_ADMIN = "agent_admin"
    EXPORT = "export"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: datetime
    agent_code: str
    action: str
    target: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    count: int
    first_bad_id: int | None = None
    problem: str = ""


def _digest(prev_hash: str, record_id: int, at: str, agent: str, action: str, target: str,
            detail: str) -> str:
    body = json.dumps([record_id, at, agent, action, target, detail], ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def append(conn: sqlite3.Connection, *, at: datetime, agent: str, action: str, target: str = "",
           detail: dict[str, Any] | None = None) -> int:
    """Add one record. Call inside the write transaction of the act, so both or neither land."""
    head = conn.execute("SELECT last_id, last_hash FROM audit_head WHERE one = 1").fetchone()
    last_id, prev_hash = head if head else (0, GENESIS)
    record_id = last_id + 1
    stamp = to_db(at)
    text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True)
    digest = _digest(prev_hash, record_id, stamp, agent, action, target, text)
    conn.execute("INSERT INTO audit_log (id, at, agent_code, action, target, detail, prev_hash, "
                 "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 (record_id, stamp, agent, action, target, text, prev_hash, digest))
    conn.execute("INSERT INTO audit_head (one, last_id, last_hash) VALUES (1, ?, ?) "
                 "ON CONFLICT(one) DO UPDATE SET last_id = excluded.last_id, "
                 "last_hash = excluded.last_hash", (record_id, digest))
    return record_id


def record(store: Store, *, agent: str, action: str, target: str = "",
           detail: dict[str, Any] | None = None) -> int:
    """An act that is only the record itself (a sign-in, a failed PIN, an export)."""
    with store.connection() as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            record_id = append(conn, at=store.clock.now(), agent=agent, action=action,
                               target=target, detail=detail)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return record_id


def verify(store: Store) -> VerifyResult:
    """Walk the chain; name the first record that was altered, inserted or deleted."""
    expected_id, prev_hash, count = 1, GENESIS, 0
    with store.connection() as conn:
        rows = conn.execute("SELECT id, at, agent_code, action, target, detail, prev_hash, hash "
                            "FROM audit_log ORDER BY id")
        for record_id, at, agent, action, target, detail, stored_prev, stored_hash in rows:
            if record_id != expected_id:
                return VerifyResult(False, count, expected_id,
                                    f"record {expected_id} is missing (deleted)")
            if stored_prev != prev_hash:
                return VerifyResult(False, count, record_id,
                                    f"record {record_id} does not follow record {record_id - 1} "
                                    "(inserted or reordered)")
            if _digest(prev_hash, record_id, at, agent, action, target, detail) != stored_hash:
                return VerifyResult(False, count, record_id, f"record {record_id} was altered")
            prev_hash, expected_id, count = stored_hash, expected_id + 1, count + 1
        head = conn.execute("SELECT last_id, last_hash FROM audit_head WHERE one = 1").fetchone()
    if head is not None and (head[0] != count or head[1] != prev_hash):
        return VerifyResult(False, count, count + 1,
                            f"records after {count} are missing (the trail was cut short)")
    return VerifyResult(True, count)


def _masked(detail: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in detail.items():
        if key in PII_KEYS and isinstance(value, str) and value:
            field = detail.get("field", key)
            out[key] = mask_id_number(value) if field == "id_number" else (
                mask_phone(value) if field in ("phone", "contact_phone") else value)
        else:
            out[key] = value
    return out


def export(store: Store, *, since: datetime | None = None, agent: str | None = None,
           reveal: bool = False) -> Iterator[AuditRecord]:
    """Records for a compliance review; phone and ID numbers masked unless `reveal`."""
    sql = "SELECT id, at, agent_code, action, target, detail FROM audit_log WHERE 1 = 1"
    params: list[Any] = []
    if since is not None:
        sql += " AND at >= ?"
        params.append(to_db(since))
    if agent:
        sql += " AND agent_code = ?"
        params.append(agent)
    with store.connection() as conn:
        for record_id, at, code, action, target, detail in conn.execute(sql + " ORDER BY id", params):
            data = json.loads(detail)
            yield AuditRecord(record_id, from_db(at), code, action, target,
                              data if reveal else _masked(data))
