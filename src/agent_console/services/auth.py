"""Agents: PINs stored as slow salted hashes, sign-in with lockout, and the admin commands."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from agent_console.db import from_db, to_db
from agent_console.models.read import AgentInfo
from agent_console.models.vocab import DEFAULT_SITE, Role
from agent_console.services import audit, permissions
from agent_console.services.actor import Actor
from agent_console.services.audit import Action
from agent_console.services.store import InputError, NotFoundError, Store, Tx
from agent_console.text import clean_line

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
PIN_PATTERN = re.compile(r"^\d{4,12}$")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


@dataclass(frozen=True)
class LockoutPolicy:
    attempts: int = 5
    minutes: float = 5.0


@dataclass
class AddressThrottle:
    """Wrong sign-ins from one network address (the browser console's page): once `attempts`
    have failed within `minutes`, that address is refused without a PIN check until the oldest
    of them is older than that. One address cannot try a few PINs for each of many agents,
    nor lock them all out. Kept in the serving process."""

    attempts: int = 20
    minutes: float = 15.0
    _failures: dict[str, list[float]] = field(default_factory=dict, repr=False)

    def _recent(self, address: str, now: float) -> list[float]:
        since = now - self.minutes * 60
        kept = [at for at in self._failures.get(address, []) if at > since]
        if kept:
            self._failures[address] = kept
        else:
            self._failures.pop(address, None)
        return kept

    def refused_until(self, address: str, now: float) -> float | None:
        """When this address may try again (a POSIX time), or None when it may now."""
        recent = self._recent(address, now)
        if len(recent) < self.attempts:
            return None
        return recent[-self.attempts] + self.minutes * 60

    def failed(self, address: str, now: float) -> None:
        self._failures.setdefault(address, []).append(now)


class SignInError(Exception):
    """Sign-in refused. `reason` is "wrong" (unknown agent or PIN alike), "locked" or "disabled";
    `until` is when a lock ends, `left` how many tries remain before one."""

    def __init__(self, reason: str, until: datetime | None = None, left: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.until = until
        self.left = left


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


def _agent(row: Sequence[Any]) -> AgentInfo:
    return AgentInfo(*row)


_COLUMNS = "id, code, name, role, team, department, site"


def sign_in(store: Store, *, code: str, pin: str, policy: LockoutPolicy = LockoutPolicy(),
            method: str = "pin") -> AgentInfo:
    """Check the PIN; count failures and lock the agent out after too many, across restarts.

    `method` names the way in on the audit trail ("pin" at a terminal, "browser_pin" on the
    browser console's sign-in page).

    The attempt is counted before the PIN is checked, in one transaction, so guesses made in
    parallel cannot slip past the lockout: once `attempts` are in flight or failed, the rest
    are refused unchecked.
    """
    code = clean_line(code)[:32]
    with store.write() as tx:
        row = tx.one(f"SELECT {_COLUMNS}, pin_hash, locked_until, active FROM agent "
                     "WHERE code = ?", (code,))
        refusal = _refusal(tx, row, code)
        if refusal is None:
            attempt = tx.scalar("UPDATE agent SET failed_pins = failed_pins + 1 WHERE id = ? "
                                "RETURNING failed_pins", (row[0],))
            if attempt > policy.attempts:
                refusal = _lock(tx, row[0], code, policy)
    if refusal is not None:
        check_pin(pin, None)  # the same work as a real check: no timing tells the cases apart
        raise refusal
    good = check_pin(pin, row[7])
    with store.write() as tx:
        if good:
            tx.execute("UPDATE agent SET failed_pins = 0, locked_until = NULL WHERE id = ?",
                       (row[0],))
            tx.audit(Action.SIGN_IN, detail={"method": method}, agent=code)
            return _agent(row[:7])
        failed = tx.scalar("SELECT failed_pins FROM agent WHERE id = ?", (row[0],))
        tx.audit(Action.SIGN_IN_FAILED, detail={"why": "wrong_pin", "failures": failed,
                                                "method": method}, agent=code)
        if failed >= policy.attempts:
            refusal = _lock(tx, row[0], code, policy)
    raise refusal or SignInError("wrong", left=policy.attempts - failed)


def _refusal(tx: Tx, row: Sequence[Any] | None, code: str) -> SignInError | None:
    """Why this sign-in is refused before any PIN is checked, recorded on the trail."""
    if row is None:
        tx.audit(Action.SIGN_IN_FAILED, detail={"why": "unknown_agent"}, agent=code)
        return SignInError("wrong")
    if not row[9]:
        tx.audit(Action.SIGN_IN_FAILED, detail={"why": "disabled"}, agent=code)
        return SignInError("disabled")
    until = from_db(row[8])
    if until is not None and until > tx.now:
        tx.audit(Action.SIGN_IN_FAILED, detail={"why": "locked"}, agent=code)
        return SignInError("locked", until)
    if until is not None:  # a lock that has run out starts a fresh count
        tx.execute("UPDATE agent SET failed_pins = 0, locked_until = NULL WHERE id = ?", (row[0],))
    return None


def _lock(tx: Tx, agent_id: int, code: str, policy: LockoutPolicy) -> SignInError:
    until = tx.now + timedelta(minutes=policy.minutes)
    tx.execute("UPDATE agent SET locked_until = ? WHERE id = ? AND (locked_until IS NULL OR "
               "locked_until < ?)", (to_db(until), agent_id, to_db(until)))
    tx.audit(Action.LOCKOUT, detail={"until": to_db(until)}, agent=code)
    return SignInError("locked", until)


def process_os_user() -> str | None:
    """The real account this process runs as (from its uid; never the environment)."""
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return None


def sign_in_os_user(store: Store) -> AgentInfo | None:
    """The agent bound to this process's OS account (SSH hotline seats), without a PIN."""
    os_user = process_os_user()
    if os_user is None:
        return None
    with store.write() as tx:
        row = tx.one(f"SELECT {_COLUMNS} FROM agent WHERE os_user = ? AND active = 1 AND "
                     "(locked_until IS NULL OR locked_until <= ?)", (os_user, to_db(tx.now)))
        if row is None:
            return None
        tx.audit(Action.SIGN_IN, detail={"method": "os_user", "os_user": os_user}, agent=row[1])
    return _agent(row)


def signed_in_agent(store: Store, *, code: str) -> AgentInfo:
    """The agent a browser session was opened for, once its PIN was checked by the server:
    refused if the agent was disabled or locked out since."""
    with store.read() as tx:
        row = tx.one(f"SELECT {_COLUMNS}, active, locked_until FROM agent WHERE code = ?",
                     (code,))
        now = tx.now
    if row is None or not row[7]:
        raise SignInError("disabled" if row is not None else "wrong")
    until = from_db(row[8])
    if until is not None and until > now:
        raise SignInError("locked", until)
    return _agent(row[:7])


def sign_out(store: Store, *, code: str, why: str = "") -> None:
    audit.record(store, agent=code, action=Action.SIGN_OUT, detail={"why": why} if why else None)


# --- administration ------------------------------------------------------------------------------

def _roles_with(store: Store, permission: str) -> set[str]:
    return {role for role, perms in store.permissions.items() if permission in perms}


def bootstrap_open(store: Store) -> bool:
    """True on a store that never had an agent who may manage agents: its first one may be
    added without proof. Once one existed (even if later disabled), never again."""
    with store.read() as tx:
        if tx.one("SELECT 1 FROM store_meta WHERE key = 'had_admin'"):
            return False
        roles = sorted(_roles_with(store, permissions.MANAGE_AGENTS))
        marks = ", ".join("?" * len(roles))
        return not tx.one(f"SELECT 1 FROM agent WHERE role IN ({marks}) AND pin_hash IS NOT NULL",
                          roles)


def _note_admins(store: Store, tx: Tx) -> None:
    roles = sorted(_roles_with(store, permissions.MANAGE_AGENTS))
    marks = ", ".join("?" * len(roles))
    if tx.one(f"SELECT 1 FROM agent WHERE role IN ({marks}) AND pin_hash IS NOT NULL", roles):
        tx.execute("INSERT INTO store_meta (key, value) VALUES ('had_admin', '1') "
                   "ON CONFLICT (key) DO NOTHING")


def _keeps_an_admin(store: Store, tx: Tx) -> None:
    """Refuse a change that leaves no enabled agent able to manage agents."""
    roles = sorted(_roles_with(store, permissions.MANAGE_AGENTS))
    marks = ", ".join("?" * len(roles))
    if not tx.one(f"SELECT 1 FROM agent WHERE role IN ({marks}) AND active = 1 "
                  "AND pin_hash IS NOT NULL", roles):
        raise InputError("agent", "this would leave no enabled agent who may manage agents",
                         code="last_admin")


def _admin(store: Store, actor: Actor | None, target: str, what: str, sql: str,
           params: tuple[Any, ...]) -> None:
    """One change to an agent, by an actor who may manage agents (None only when the first
    agent is added to a store that never had one)."""
    if actor is not None:
        actor.require(permissions.MANAGE_AGENTS)
    elif not (what.startswith("add as") and bootstrap_open(store)):
        raise InputError("agent", "an agent who may manage agents must do this", code="proof")
    with store.write(actor) as tx:
        if tx.execute(sql, params).rowcount != 1:
            raise NotFoundError(f"agent {target!r}")
        _keeps_an_admin_if_any(store, tx)
        _note_admins(store, tx)
        tx.audit(Action.AGENT_ADMIN, target, {"what": what},
                 agent=actor.code if actor else "bootstrap")


def _keeps_an_admin_if_any(store: Store, tx: Tx) -> None:
    if tx.one("SELECT 1 FROM store_meta WHERE key = 'had_admin'"):
        _keeps_an_admin(store, tx)


def _check_pin_format(pin: str) -> None:
    if not PIN_PATTERN.match(pin):
        raise InputError("pin", "must be 4 to 12 digits", code="pin")


def _check_role(role: str) -> None:
    roles = [r.value for r in Role]
    if role not in roles:
        raise InputError("role", f"{role!r} is not one of: {', '.join(roles)}", code="choice",
                         allowed=roles)


def add_agent(store: Store, actor: Actor | None, *, code: str, name: str, role: str, pin: str,
              team: str = "", department: str | None = None, site: str = DEFAULT_SITE) -> None:
    if not CODE_PATTERN.match(code):
        raise InputError("agent", "letters, digits, '.', '_' or '-', up to 32", code="agent_id")
    _check_role(role)
    if department is not None and department not in store.catalog.departments:
        raise InputError("department", f"{department!r} is not one of: "
                                       f"{', '.join(store.catalog.departments)}", code="choice",
                         allowed=list(store.catalog.departments))
    _check_pin_format(pin)
    name = clean_line(name)[:60]
    if not name:
        raise InputError("name", "must not be empty", code="required")
    if actor is None and role not in _roles_with(store, permissions.MANAGE_AGENTS):
        raise InputError("role", "the first agent of a store must be one who may manage agents",
                         code="first_admin")
    with store.read() as tx:
        if tx.one("SELECT 1 FROM agent WHERE code = ?", (code,)):
            raise InputError("agent", f"{code!r} already exists", code="exists", value=code)
        _check_site(tx, site)
    _admin(store, actor, code, f"add as {role} at {site}",
           "INSERT INTO agent (code, name, role, team, department, pin_hash, site) "
           "VALUES (?, ?, ?, ?, ?, ?, ?)",
           (code, name, role, clean_line(team)[:32], department, hash_pin(pin), site))


def _check_site(tx: Tx, site: str) -> None:
    known = [code for (code,) in tx.all("SELECT code FROM site ORDER BY code")]
    if site not in known:
        raise InputError("site", f"{site!r} is not one of: {', '.join(known)}", code="choice",
                         allowed=known)


def set_site(store: Store, actor: Actor | None, *, code: str, site: str) -> None:
    """Move an agent to another hall or hotline centre: from then on they see its queue."""
    with store.read() as tx:
        _check_site(tx, site)
    _admin(store, actor, code, f"site {site}", "UPDATE agent SET site = ? WHERE code = ?",
           (site, code))


def set_role(store: Store, actor: Actor | None, *, code: str, role: str) -> None:
    _check_role(role)
    _admin(store, actor, code, f"role {role}", "UPDATE agent SET role = ? WHERE code = ?", (role, code))


def reset_pin(store: Store, actor: Actor | None, *, code: str, pin: str) -> None:
    _check_pin_format(pin)
    _admin(store, actor, code, "reset PIN", "UPDATE agent SET pin_hash = ?, failed_pins = 0, "
           "locked_until = NULL WHERE code = ?", (hash_pin(pin), code))


def set_active(store: Store, actor: Actor | None, *, code: str, active: bool) -> None:
    _admin(store, actor, code, "enable" if active else "disable",
           "UPDATE agent SET active = ? WHERE code = ?", (int(active), code))


def bind_os_user(store: Store, actor: Actor | None, *, code: str, os_user: str | None) -> None:
    _admin(store, actor, code, f"bind OS user {os_user}" if os_user else "unbind OS user",
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
    site: str = DEFAULT_SITE


def list_all(store: Store) -> list[AgentRow]:
    now = store.clock.now()
    with store.read() as tx:
        rows = tx.all("SELECT code, name, role, team, department, active, pin_hash IS NOT "
                      "NULL, os_user, locked_until, site FROM agent ORDER BY code")
    return [AgentRow(c, n, r, t, d, bool(a), bool(p), o, lock is not None and from_db(lock) > now,
                     site) for c, n, r, t, d, a, p, o, lock, site in rows]
