"""The tamper-evident audit trail: append-only records, each hashed over its content and the
previous record's hash. Appends happen inside the transaction of the act they record."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from agent_console import db
from agent_console.db import from_db, to_db
from agent_console.services.actor import Actor
from agent_console.services.store import Store, Tx
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
    TICKET_CREATE = "ticket_create"
    TICKET_STATUS = "ticket_status"
    TICKET_ASSIGN = "ticket_assign"
    TICKET_NOTE = "ticket_note"
    TICKET_CASE = "ticket_case"
    TICKET_CLASSIFY = "ticket_classify"
    CONTACT_FINISH = "contact_finish"
    CONTACT_ABANDON = "contact_abandon"
    CONTACT_LINK = "contact_link"
    SCRIPT_RUN = "script_run"
    KB_CREATE = "kb_create"
    KB_EDIT = "kb_edit"
    KB_RETIRE = "kb_retire"
    KB_RESTORE = "kb_restore"
    KB_IMPORT = "kb_import"
    AGENT_ADMIN = "agent_admin"
    EXPORT = "export"
    BACKUP = "backup"
    RESTORE = "restore"
    RETENTION = "retention"
    ERASURE = "erasure"
    SITE_ADD = "site_add"


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


def _stored_time(value: Any) -> str:
    """A time read back from the store, as the text SQLite holds (PostgreSQL gives datetimes)."""
    if isinstance(value, datetime):
        return to_db(from_db(value))
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def append(tx: Tx, *, at: datetime, agent: str, action: str, target: str = "",
           detail: dict[str, Any] | None = None) -> int:
    """Add one record. Call inside the write transaction of the act, so both or neither land."""
    head = tx.one("SELECT last_id, last_hash FROM audit_head WHERE one = 1")
    last_id, prev_hash = head if head else (0, GENESIS)
    record_id = last_id + 1
    stamp = to_db(at)
    text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=_stored_time)
    digest = _digest(prev_hash, record_id, stamp, agent, action, target, text)
    tx.execute("INSERT INTO audit_log (id, at, agent_code, action, target, detail, prev_hash, "
                 "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 (record_id, stamp, agent, action, target, text, prev_hash, digest))
    tx.execute("INSERT INTO audit_head (one, last_id, last_hash) VALUES (1, ?, ?) "
                 "ON CONFLICT(one) DO UPDATE SET last_id = excluded.last_id, "
                 "last_hash = excluded.last_hash", (record_id, digest))
    tx.head = (record_id, digest)
    return record_id


def record(store: Store, *, agent: str, action: str, target: str = "",
           detail: dict[str, Any] | None = None) -> int:
    """An act that is only the record itself (a sign-in, a failed PIN, an export)."""
    with store.write() as tx:
        return tx.audit(action, target, detail, agent=agent)


class Witness:
    """Where the trail's head is written outside the store after every audited write: a file
    the store's users cannot rewrite (its location is a setting) and, where there is one, the
    system log. `audit verify` checks the chain against every head the witness saw, so
    re-hashing, re-chaining, cutting the tail or emptying the trail is caught."""

    def __init__(self, path: Path, *, syslog: bool = False) -> None:
        self.path = path
        self.syslog = syslog

    def anchor(self, record_id: int, digest: str, *, at: datetime) -> None:
        line = json.dumps({"id": record_id, "hash": digest, "at": to_db(at)})
        try:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError:
            pass  # the act is done and recorded in the store; verify will show the gap
        if self.syslog:
            import syslog

            syslog.syslog(syslog.LOG_INFO | syslog.LOG_AUTH, f"agent-console audit head {line}")

    def heads(self) -> tuple[list[tuple[int, str]], str]:
        """The anchored (id, hash) pairs in order, and a problem with the witness itself."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return [], ""
        except (OSError, UnicodeDecodeError) as exc:
            return [], f"the witness {self.path} cannot be read ({exc})"
        heads = []
        for number, line in enumerate(text.splitlines(), 1):
            try:
                data = json.loads(line)
                heads.append((int(data["id"]), str(data["hash"])))
            except (ValueError, KeyError, TypeError):
                return heads, f"the witness {self.path} is damaged at line {number}"
        return heads, ""


def anchor(store: Store) -> tuple[int, str]:
    """Write the current head to the witness (for a scheduler, besides every audited write)."""
    with store.read() as tx:
        head = tx.one("SELECT last_id, last_hash FROM audit_head WHERE one = 1")
    last = (int(head[0]), str(head[1])) if head else (0, GENESIS)
    if store.witness is not None:
        store.witness.anchor(*last, at=store.clock.now())
    return last


def verify(store: Store) -> VerifyResult:
    """Walk the chain; name the first record that was altered, inserted or deleted, then check
    the head row, the triggers, the order of times and every head the witness saw."""
    try:
        return _verify(store)
    except Exception as exc:  # a dropped table, a foreign file: a finding, never a traceback
        return VerifyResult(False, 0, 1, f"the trail cannot be read ({type(exc).__name__}: "
                                         f"{str(exc).splitlines()[0][:120]})")


_CHAIN_SQL = ("SELECT id, at, agent_code, action, target, detail, prev_hash, hash FROM audit_log "
              "ORDER BY id")
_HEAD_SQL = "SELECT last_id, last_hash FROM audit_head WHERE one = 1"


def _walk(rows: Any, head: Any) -> tuple[VerifyResult, dict[int, str]]:
    """The chain checks over the trail's rows and head row: the result and each record's hash."""
    expected_id, prev_hash, count, last_at = 1, GENESIS, 0, ""
    hashes: dict[int, str] = {}
    for record_id, stored_at, agent, action, target, detail, stored_prev, stored_hash in rows:
        # PostgreSQL gives the time back as a datetime; the chain hashes its stored text
        at = to_db(from_db(stored_at)) if isinstance(stored_at, datetime) else stored_at
        fields = (at, agent, action, target, detail, stored_prev, stored_hash)
        if not isinstance(record_id, int) or not all(isinstance(f, str) for f in fields):
            return VerifyResult(False, count, expected_id,
                                f"record {record_id!r} holds a value of the wrong type (altered)"), hashes
        if record_id != expected_id:
            return VerifyResult(False, count, expected_id,
                                f"record {expected_id} is missing (deleted)"), hashes
        if stored_prev != prev_hash:
            return VerifyResult(False, count, record_id,
                                f"record {record_id} does not follow record {record_id - 1} "
                                "(inserted or reordered)"), hashes
        if _digest(prev_hash, record_id, at, agent, action, target, detail) != stored_hash:
            return VerifyResult(False, count, record_id, f"record {record_id} was altered"), hashes
        if at < last_at:
            return VerifyResult(False, count, record_id,
                                f"record {record_id} is dated before record {record_id - 1} "
                                "(the clock was set back, or the record was backdated)"), hashes
        hashes[record_id] = stored_hash
        prev_hash, expected_id, count, last_at = stored_hash, expected_id + 1, count + 1, at
    if count and head is None:
        return VerifyResult(False, count, count + 1, "the head row is missing (deleted)"), hashes
    if head is not None and (head[0] != count or head[1] != prev_hash):
        return VerifyResult(False, count, count + 1,
                            f"records after {count} are missing (the trail was cut short)"), hashes
    return VerifyResult(True, count), hashes


def check_chain(conn: Any) -> str:
    """The chain of a store copy opened with plain sqlite3: "" when sound, else the problem."""
    result, _ = _walk(conn.execute(_CHAIN_SQL).fetchall(), conn.execute(_HEAD_SQL).fetchone())
    return "" if result.ok else result.problem


def _verify(store: Store) -> VerifyResult:
    with store.read() as tx:
        rows = tx.all(_CHAIN_SQL)
        head = tx.one(_HEAD_SQL)
        triggers = set(db.audit_triggers(tx.conn))
    result, hashes = _walk(rows, head)
    if not result.ok:
        return result
    count = result.count
    if missing := [name for name in db.expected_audit_triggers(store.engine)
                   if name not in triggers]:
        return VerifyResult(False, count, None,
                            f"the append-only trigger {missing[0]} is missing (dropped)")
    if store.witness is not None:
        heads, problem = store.witness.heads()
        if problem:
            return VerifyResult(False, count, None, problem)
        for record_id, digest in heads:
            if record_id == 0:
                continue
            if record_id not in hashes:
                return VerifyResult(False, count, min(record_id, count + 1),
                                    f"the witness saw record {record_id}, which the trail no "
                                    "longer holds (cut short or emptied)")
            if hashes[record_id] != digest:
                return VerifyResult(False, count, record_id,
                                    f"record {record_id} differs from what the witness saw "
                                    "(re-hashed or re-chained)")
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


def export(store: Store, actor: Actor, *, since: datetime | None = None,
           agent: str | None = None, reveal: bool = False) -> list[AuditRecord]:
    """Records for a compliance review, for a role that may run exports; phone and ID numbers
    masked unless `reveal` (which needs a role that may reveal them). The export is itself
    recorded, in the same transaction that reads the records."""
    from agent_console.services import permissions

    actor.require(permissions.RUN_REPORTS)
    if reveal:
        actor.require(permissions.REVEAL_PII)
    sql = "SELECT id, at, agent_code, action, target, detail FROM audit_log WHERE 1 = 1"
    params: list[Any] = []
    if since is not None:
        sql += " AND at >= ?"
        params.append(to_db(since))
    if agent:
        sql += " AND agent_code = ?"
        params.append(agent)
    with store.write(actor) as tx:
        rows = tx.all(sql + " ORDER BY id", params)
        tx.audit(Action.EXPORT, "audit", {"since": to_db(since) or "", "agent": agent or "",
                                          "revealed": reveal})
    out = []
    for record_id, at, code, action, target, detail in rows:
        data = json.loads(detail)
        out.append(AuditRecord(record_id, from_db(at), code, action, target,
                               data if reveal else _masked(data)))
    return out
