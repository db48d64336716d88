"""Agents: PINs stored as slow salted hashes, sign-in with lockout, and the admin commands."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from datetime import timedelta

from agent_console.db import from_db, to_db
from agent_console.models.read import AgentInfo
from agent_console.models.vocab import Role
from agent_console.services import audit
from agent_console.services.audit import Action
from agent_console.services.store import InputError, NotFoundError, Store
from agent_console.text import clean_line

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
PIN_PATTERN = re.compile(r"^\d{4,12}$")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


@dataclass(frozen=True)
class LockoutPolicy:
    attempts: int = 5
    minutes: int = 5


class SignInError(Exception):
    """Sign-in refused. `reason` is "wrong" (unknown agent or PIN alike), "locked" or "disabled"."""

    def __init__(self, reason: str, until: object = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.until = until


def hash_pin(pin: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_pin(pin: str, stored: str | None) -> bool:
    """Constant-time comparison; an agent with no PIN never matches."""
    try:
        scheme, n, r, p, salt, digest = (stored or "").split("$")
    except ValueError:
        # Same work as a real check, so a missing agent cannot be told apart by timing.
        hashlib.scrypt(pin.encode(), salt=b"0" * 16, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
        return False
    computed = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                              p=int(p), dklen=32)
    return scheme == "scrypt" and hmac.compare_digest(computed.hex(), digest)


def _agent(row: tuple) -> AgentInfo:
    return AgentInfo(*row)


_COLUMNS = "id, code, name, role, team, department"


def sign_in(store: Store, *, code: str, pin: str, policy: LockoutPolicy = LockoutPolicy()) -> AgentInfo:
    """Check the PIN; count failures and lock the agent out after too many, across restarts."""
    now = store.clock.now()
    with store.connection() as conn:
        row = conn.execute(f"SELECT {_COLUMNS}, pin_hash, failed_pins, locked_until, active "
                           "FROM agent WHERE code = ?", (code,)).fetchone()
    if row is not None and row[8] and from_db(row[8]) > now:
        audit.record(store, agent=code, action=Action.SIGN_IN_FAILED, detail={"why": "locked"})
        raise SignInError("locked", from_db(row[8]))
    good = check_pin(pin, row[6] if row else None)
    if row is None:
        audit.record(store, agent=clean_line(code)[:32], action=Action.SIGN_IN_FAILED,
                     detail={"why": "unknown agent"})
        raise SignInError("wrong")
    if not row[9]:
        audit.record(store, agent=code, action=Action.SIGN_IN_FAILED, detail={"why": "disabled"})
        raise SignInError("disabled")
    with store.connection() as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if good:
                conn.execute("UPDATE agent SET failed_pins = 0, locked_until = NULL WHERE id = ?",
                             (row[0],))
                audit.append(conn, at=now, agent=code, action=Action.SIGN_IN,
                             detail={"method": "pin"})
            else:
                failed = conn.execute("UPDATE agent SET failed_pins = failed_pins + 1 WHERE id = ? "
                                      "RETURNING failed_pins", (row[0],)).fetchone()[0]
                audit.append(conn, at=now, agent=code, action=Action.SIGN_IN_FAILED,
                             detail={"why": "wrong PIN", "failures": failed})
                if failed >= policy.attempts:
                    until = now + timedelta(minutes=policy.minutes)
                    conn.execute("UPDATE agent SET failed_pins = 0, locked_until = ? WHERE id = ?",
                                 (to_db(until), row[0]))
                    audit.append(conn, at=now, agent=code, action=Action.LOCKOUT,
                                 detail={"until": to_db(until)})
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    if not good:
        raise SignInError("locked" if failed >= policy.attempts else "wrong")
    return _agent(row[:6])


def sign_in_os_user(store: Store, *, os_user: str) -> AgentInfo | None:
    """The agent bound to this OS account (SSH hotline seats), signed in without a PIN."""
    with store.connection() as conn:
        row = conn.execute(f"SELECT {_COLUMNS} FROM agent WHERE os_user = ? AND active = 1",
                           (os_user,)).fetchone()
    if row is None:
        return None
    audit.record(store, agent=row[1], action=Action.SIGN_IN, detail={"method": "os_user",
                                                                     "os_user": os_user})
    return _agent(row)


def sign_out(store: Store, *, code: str, why: str = "") -> None:
    audit.record(store, agent=code, action=Action.SIGN_OUT, detail={"why": why} if why else None)


# --- administration ------------------------------------------------------------------------------

def _admin(store: Store, by: str, target: str, what: str, sql: str, params: tuple) -> None:
    with store.connection() as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute(sql, params).rowcount != 1:
                raise NotFoundError(f"no agent with id {target!r}")
            audit.append(conn, at=store.clock.now(), agent=by, action=Action.AGENT_ADMIN,
                         target=target, detail={"what": what})
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _check_pin_format(pin: str) -> None:
    if not PIN_PATTERN.match(pin):
        raise InputError("pin", "must be 4 to 12 digits")


def add_agent(store: Store, *, by: str, code: str, name: str, role: str, pin: str, team: str = "",
              department: str | None = None) -> None:
    if not CODE_PATTERN.match(code):
        raise InputError("id", "letters, digits, '.', '_' or '-', up to 32")
    if role not in {r.value for r in Role}:
        raise InputError("role", f"{role!r} is not one of: {', '.join(r.value for r in Role)}")
    if department is not None and department not in store.catalog.departments:
        raise InputError("department", f"{department!r} is not one of: "
                                       f"{', '.join(store.catalog.departments)}")
    _check_pin_format(pin)
    name = clean_line(name)[:60]
    if not name:
        raise InputError("name", "must not be empty", code="required")
    with store.connection() as conn:
        if conn.execute("SELECT 1 FROM agent WHERE code = ?", (code,)).fetchone():
            raise InputError("id", f"{code!r} already exists")
    _admin(store, by, code, f"add as {role}",
           "INSERT INTO agent (code, name, role, team, department, pin_hash) VALUES (?, ?, ?, ?, ?, ?)",
           (code, name, role, team, department, hash_pin(pin)))


def set_role(store: Store, *, by: str, code: str, role: str) -> None:
    if role not in {r.value for r in Role}:
        raise InputError("role", f"{role!r} is not one of: {', '.join(r.value for r in Role)}")
    _admin(store, by, code, f"role {role}", "UPDATE agent SET role = ? WHERE code = ?", (role, code))


def reset_pin(store: Store, *, by: str, code: str, pin: str) -> None:
    _check_pin_format(pin)
    _admin(store, by, code, "reset PIN", "UPDATE agent SET pin_hash = ?, failed_pins = 0, "
           "locked_until = NULL WHERE code = ?", (hash_pin(pin), code))


def set_active(store: Store, *, by: str, code: str, active: bool) -> None:
    _admin(store, by, code, "enable" if active else "disable",
           "UPDATE agent SET active = ? WHERE code = ?", (int(active), code))


def bind_os_user(store: Store, *, by: str, code: str, os_user: str | None) -> None:
    _admin(store, by, code, f"bind OS user {os_user}" if os_user else "unbind OS user",
           "UPDATE agent SET os_user = ? WHERE code = ?", (os_user or None, code))


@dataclass(frozen=True, slots=True)
class AgentRow:
    code: str
    name: str
    role: str
    team: str
    department: str | None
    active: bool
    has_pin: bool
    os_user: str | None
    locked: bool


def list_all(store: Store) -> list[AgentRow]:
    now = store.clock.now()
    with store.connection() as conn:
        rows = conn.execute("SELECT code, name, role, team, department, active, pin_hash IS NOT "
                            "NULL, os_user, locked_until FROM agent ORDER BY code").fetchall()
    return [AgentRow(c, n, r, t, d, bool(a), bool(p), o, bool(lock and from_db(lock) > now))
            for c, n, r, t, d, a, p, o, lock in rows]
