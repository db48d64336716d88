"""Customer information: masked by default; revealing a number or changing a field is a logged
act with a reason, done only by a role that may."""

from __future__ import annotations

import sqlite3

from agent_console.db import to_db

from agent_console.services import audit, permissions, validation
from agent_console.services.audit import Action
from agent_console.services.store import InputError, NotFoundError, Store
from agent_console.text import clean_line

REVEALABLE = ("phone", "id_number", "contact_phone")
CHANGEABLE = ("name", "phone", "contact_phone", "id_number", "address", "plan")
REASON_LIMIT = 200
ID_NUMBER_LIMIT = 18


def _role(conn: object, agent: str) -> str:
    row = conn.execute("SELECT role FROM agent WHERE code = ? AND active = 1",  # type: ignore[attr-defined]
                       (agent,)).fetchone()
    return row[0] if row else ""


def _reason(reason: str) -> str:
    text = clean_line(reason)[:REASON_LIMIT]
    if not text:
        raise InputError("reason", "must not be empty", code="required")
    return text


def reveal(store: Store, *, agent: str, customer_id: int, field: str, reason: str,
           ticket_number: str = "") -> str:
    """The full value of one number, for a permitted role, with the reason on the audit trail."""
    if field not in REVEALABLE:
        raise InputError("field", f"{field!r} is not one of: {', '.join(REVEALABLE)}")
    why = _reason(reason)
    with store.connection() as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            permissions.require(_role(conn, agent), permissions.REVEAL_PII)
            row = conn.execute(f"SELECT {field} FROM customer WHERE id = ?", (customer_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"customer {customer_id} does not exist")
            audit.append(conn, at=store.clock.now(), agent=agent, action=Action.REVEAL,
                         target=f"customer:{customer_id}",
                         detail={"field": field, "reason": why, "ticket": ticket_number})
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return row[0]


def _checked(field: str, value: str) -> str:
    if field in ("phone", "contact_phone"):
        return "" if field == "contact_phone" and not value.strip() else validation.phone(field, value)
    if field == "id_number":
        compact = value.strip().upper()
        if compact and not (compact[:-1].isdigit() and (compact[-1].isdigit() or compact[-1] == "X")
                            and len(compact) in (15, ID_NUMBER_LIMIT)):
            raise InputError(field, "an ID number has 15 or 18 characters: digits, the last may be X")
        return compact
    if field == "name":
        return validation.name(field, value)
    return clean_line(value)[:200]


def change_customer(store: Store, *, agent: str, customer_id: int, changes: dict[str, str],
                    reason: str) -> int:
    """Apply the changes; each changed field is logged with before, after, who, when and why."""
    why = _reason(reason)
    for field in changes:
        if field not in CHANGEABLE:
            raise InputError(field, f"cannot be changed here; changeable: {', '.join(CHANGEABLE)}")
    clean = {field: _checked(field, value) for field, value in changes.items()}
    now = store.clock.now()
    changed = 0
    with store.connection() as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            permissions.require(_role(conn, agent), permissions.CHANGE_CUSTOMER)
            columns = ", ".join(CHANGEABLE)
            row = conn.execute(f"SELECT {columns} FROM customer WHERE id = ?",
                               (customer_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"customer {customer_id} does not exist")
            before = dict(zip(CHANGEABLE, row))
            for field, value in clean.items():
                if before[field] == value:
                    continue
                conn.execute(f"UPDATE customer SET {field} = ? WHERE id = ?", (value, customer_id))
                conn.execute("INSERT INTO customer_change (customer_id, at, agent_code, field, old, "
                             "new, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (customer_id, to_db(now), agent, field, before[field], value, why))
                audit.append(conn, at=now, agent=agent, action=Action.CUSTOMER_CHANGE,
                             target=f"customer:{customer_id}",
                             detail={"field": field, "old": before[field], "new": value,
                                     "reason": why})
                changed += 1
            conn.execute("COMMIT")
        except sqlite3.IntegrityError:
            conn.execute("ROLLBACK")
            raise InputError("phone", "belongs to another customer") from None
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return changed
