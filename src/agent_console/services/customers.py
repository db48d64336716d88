"""Customer information: masked by default; revealing a number or changing a field is a logged
act with a reason, done only by a role that may."""

from __future__ import annotations

from agent_console.db import to_db
from agent_console.services import permissions, validation
from agent_console.services.actor import Actor
from agent_console.services.audit import Action
from agent_console.services.store import InputError, NotFoundError, Store
from agent_console.text import clean_line, mask_id_number, mask_phone

REVEALABLE = ("phone", "id_number", "contact_phone")
CHANGEABLE = ("name", "phone", "contact_phone", "id_number", "address", "plan")
REASON_LIMIT = 200
ID_NUMBER_LIMIT = 18


def _reason(reason: str) -> str:
    text = clean_line(reason)[:REASON_LIMIT]
    if not text:
        raise InputError("reason", "must not be empty", code="required")
    return text


def masked(field: str, value: str) -> str:
    """How a value of a customer field may be kept where people read it (audit, exports)."""
    if not value:
        return value
    if field == "id_number":
        return mask_id_number(value)
    if field in ("phone", "contact_phone"):
        return mask_phone(value)
    if field == "name":
        return value[0] + "*" * (len(value) - 1)
    if field == "address":
        return "***"
    return value


def reveal(store: Store, actor: Actor, *, customer_id: int, field: str, reason: str,
           ticket_number: str = "") -> str:
    """The full value of one number, for a permitted role, with the reason on the audit trail."""
    if field not in REVEALABLE:
        raise InputError("field", f"{field!r} is not one of: {', '.join(REVEALABLE)}",
                         code="choice", allowed=REVEALABLE)
    why = _reason(reason)
    actor.require(permissions.REVEAL_PII)
    with store.write(actor) as tx:
        row = tx.one(f"SELECT {field} FROM customer WHERE id = ?", (customer_id,))
        if row is None:
            raise NotFoundError(f"customer {customer_id}")
        tx.audit(Action.REVEAL, f"customer:{customer_id}",
                 {"field": field, "reason": why, "ticket": ticket_number})
    return str(row[0])


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


def change_customer(store: Store, actor: Actor, *, customer_id: int, changes: dict[str, str],
                    reason: str) -> int:
    """Apply the changes; each changed field is logged with before, after, who, when and why."""
    why = _reason(reason)
    for field in changes:
        if field not in CHANGEABLE:
            raise InputError(field, f"cannot be changed here; changeable: {', '.join(CHANGEABLE)}",
                             code="choice", allowed=CHANGEABLE)
    clean = {field: _checked(field, value) for field, value in changes.items()}
    actor.require(permissions.CHANGE_CUSTOMER)
    changed = 0
    with store.write(actor) as tx:
        row = tx.one(f"SELECT {', '.join(CHANGEABLE)} FROM customer WHERE id = ?", (customer_id,))
        if row is None:
            raise NotFoundError(f"customer {customer_id}")
        before = dict(zip(CHANGEABLE, row))
        if "phone" in clean and clean["phone"] != before["phone"] and tx.one(
                "SELECT 1 FROM customer WHERE phone = ? AND id != ?", (clean["phone"], customer_id)):
            raise InputError("phone", "belongs to another customer", code="phone_taken")
        for field, value in clean.items():
            if before[field] == value:
                continue
            tx.execute(f"UPDATE customer SET {field} = ? WHERE id = ?", (value, customer_id))
            tx.execute("INSERT INTO customer_change (customer_id, at, agent_code, field, old, "
                       "new, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (customer_id, to_db(tx.now), actor.code, field, before[field], value, why))
            # The trail keeps masked values: who changed what and why, not the numbers.
            tx.audit(Action.CUSTOMER_CHANGE, f"customer:{customer_id}",
                     {"field": field, "old": masked(field, before[field]),
                      "new": masked(field, value), "reason": why})
            changed += 1
    return changed
