"""Compensation given at resolution (bill credit, data gift, points), within limits per role kept
as data (content/compensation.toml, or the site's copy after `policy import compensation`);
above a limit it waits for the approval of someone whose limit covers it. And the call-backs
promised to customers: a reminder on the ticket with its own countdown."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from agent_console.db import from_db, to_db
from agent_console.services import tickets
from agent_console.services.actor import Actor
from agent_console.services.errors import ConflictError, InputError, NotFoundError, Refused
from agent_console.services.permissions import RUN_REPORTS
from agent_console.services.queue import visible_clause
from agent_console.services.store import Store, Tx
from agent_console.text import clean_line

KINDS = ("bill_credit", "data_mb", "points")
AMOUNT_CAP = 1_000_000.0
NOTE_LIMIT = 200
CALLBACK_WARN_MINUTES = 15  # a promised call-back warns this long before it is due


class CompensationFileError(Exception):
    """A compensation limits document that cannot be used."""


def shipped_text() -> str:
    return resources.files("agent_console.content").joinpath("compensation.toml") \
        .read_text("utf-8")


def limits_from_text(text: str, source: str = "compensation.toml") -> dict[str, dict[str, float]]:
    try:
        data = tomllib.loads(text)
        limits = {role: {kind: float(v) for kind, v in kinds.items()}
                  for role, kinds in data.get("limits", {}).items()}
    except (tomllib.TOMLDecodeError, AttributeError, TypeError, ValueError) as exc:
        raise CompensationFileError(f"{source}: cannot be used ({exc})") from None
    for role, kinds in limits.items():
        if unknown := set(kinds) - set(KINDS):
            raise CompensationFileError(f"{source}: [limits.{role}] unknown kind {sorted(unknown)}")
    return limits


def _limits(tx: Tx) -> dict[str, dict[str, float]]:
    text = tx.scalar("SELECT body FROM site_document WHERE kind = 'compensation' AND name = ''")
    return limits_from_text(text, "store: compensation") if text else limits_from_text(
        shipped_text())


def _limit(tx: Tx, role: str, kind: str) -> float:
    return _limits(tx).get(role, {}).get(kind, 0.0)


@dataclass(frozen=True)
class CompensationRecord:
    id: int
    ticket_id: int
    kind: str
    amount: float
    reason: str
    given_by: str
    given_at: datetime
    status: str  # given | pending | approved | refused
    decided_by: str | None
    decided_at: datetime | None


def _record(row: Any) -> CompensationRecord:
    return CompensationRecord(row[0], row[1], row[2], float(row[3]), row[4], row[5],
                              from_db(row[6]), row[7], row[8], from_db(row[9]))


_SELECT = ("SELECT c.id, c.ticket_id, c.kind, c.amount, c.reason, g.code, c.given_at, c.status, "
           "d.code, c.decided_at FROM compensation c JOIN agent g ON g.id = c.given_by "
           "LEFT JOIN agent d ON d.id = c.decided_by")


def give_compensation(store: Store, actor: Actor, *, ticket_id: int, kind: str, amount: float,
                      reason: str = "") -> CompensationRecord:
    """Record compensation on a ticket; above the giver's limit it waits for approval."""
    if kind not in KINDS:
        raise InputError("kind", f"{kind!r}", code="choice", allowed=list(KINDS))
    try:
        amount = float(amount)
    except (TypeError, ValueError):
        raise InputError("amount", f"{amount!r} is not a number", code="number") from None
    if not 0 < amount <= AMOUNT_CAP:
        raise InputError("amount", f"must be above 0 and at most {AMOUNT_CAP:g}", code="range")
    reason = clean_line(reason)[:NOTE_LIMIT]
    with store.write(actor) as tx:
        row = tickets.visible_row(tx, tickets.acting(tx), ticket_id)
        status = "given" if amount <= _limit(tx, actor.role, kind) else "pending"
        tx.execute("INSERT INTO compensation (ticket_id, kind, amount, reason, given_by, given_at,"
                   " status) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (ticket_id, kind, amount, reason, actor.agent_id, to_db(tx.now), status))
        found = int(tx.scalar("SELECT max(id) FROM compensation WHERE ticket_id = ?",
                              (ticket_id,)))
        tx.event(ticket_id, "compensation", what=kind, amount=amount, status=status)
        tx.audit("compensation_given", f"ticket:{row['number']}",
                 {"compensation": found, "kind": kind, "amount": amount, "status": status})
        return _record(tx.one(f"{_SELECT} WHERE c.id = ?", (found,)))


def decide_compensation(store: Store, actor: Actor, *, compensation_id: int,
                        approve: bool) -> CompensationRecord:
    """Approve or refuse compensation waiting above its giver's limit: only someone else whose
    own limit covers the amount decides, and who and when is recorded."""
    with store.write(actor) as tx:
        tickets.acting(tx)
        row = tx.one(f"{_SELECT} WHERE c.id = ?", (compensation_id,))
        if row is None:
            raise NotFoundError(f"compensation {compensation_id}")
        record = _record(row)
        if record.given_by == actor.code or record.amount > _limit(tx, actor.role, record.kind):
            raise Refused("approve_compensation", actor.role)
        if record.status != "pending":
            raise ConflictError(f"compensation {compensation_id} is {record.status}")
        status = "approved" if approve else "refused"
        tx.execute("UPDATE compensation SET status = ?, decided_by = ?, decided_at = ? "
                   "WHERE id = ? AND status = 'pending'",
                   (status, actor.agent_id, to_db(tx.now), compensation_id))
        number = tx.scalar("SELECT number FROM ticket WHERE id = ?", (record.ticket_id,))
        tx.event(record.ticket_id, "compensation_decided", compensation=compensation_id,
                 status=status)
        tx.audit("compensation_decided", f"ticket:{number}",
                 {"compensation": compensation_id, "status": status, "amount": record.amount,
                  "kind": record.kind})
        return _record(tx.one(f"{_SELECT} WHERE c.id = ?", (compensation_id,)))


def ticket_compensation(store: Store, actor: Actor, *, ticket_id: int) -> list[CompensationRecord]:
    with store.read() as tx:
        tickets.visible_row(tx, actor, ticket_id)
        return [_record(r) for r in tx.all(f"{_SELECT} WHERE c.ticket_id = ? ORDER BY c.id",
                                           (ticket_id,))]


def pending_compensation(store: Store, actor: Actor) -> list[CompensationRecord]:
    """Compensation waiting for approval (for supervisors)."""
    actor.require(RUN_REPORTS)
    with store.read() as tx:
        return [_record(r) for r in tx.all(f"{_SELECT} WHERE c.status = 'pending' ORDER BY c.id")]


# --- promised call-backs ------------------------------------------------------------------------

@dataclass(frozen=True)
class Callback:
    id: int
    ticket_id: int
    number: str
    due_at: datetime
    note: str
    done_at: datetime | None

    def minutes_left(self, now: datetime) -> int:
        return int((self.due_at - now).total_seconds() // 60)


_CALLBACKS = ("SELECT p.id, p.ticket_id, t.number, p.due_at, p.note, p.done_at "
              "FROM callback_promise p JOIN ticket t ON t.id = p.ticket_id")


def _callback(row: Any) -> Callback:
    return Callback(row[0], row[1], row[2], from_db(row[3]), row[4], from_db(row[5]))


def promise_callback(store: Store, actor: Actor, *, ticket_id: int, due_at: datetime,
                     note: str = "") -> Callback:
    """Promise the customer a call back at `due_at`: a reminder on the ticket."""
    if due_at.tzinfo is None:
        raise InputError("due_at", "needs a time zone", code="time")
    note = clean_line(note)[:NOTE_LIMIT]
    with store.write(actor) as tx:
        row = tickets.visible_row(tx, tickets.acting(tx), ticket_id)
        if due_at <= tx.now:
            raise InputError("due_at", "must be in the future", code="future")
        if due_at > tx.now + timedelta(days=30):
            raise InputError("due_at", "at most 30 days ahead", code="range")
        tx.execute("INSERT INTO callback_promise (ticket_id, due_at, note, created_by, created_at)"
                   " VALUES (?, ?, ?, ?, ?)", (ticket_id, to_db(due_at), note, actor.agent_id,
                                               to_db(tx.now)))
        found = int(tx.scalar("SELECT max(id) FROM callback_promise WHERE ticket_id = ?",
                              (ticket_id,)))
        tx.event(ticket_id, "callback_promised", due_at=to_db(due_at), note=note)
        tx.audit("callback_promised", f"ticket:{row['number']}", {"due_at": to_db(due_at)})
        return _callback(tx.one(f"{_CALLBACKS} WHERE p.id = ?", (found,)))


def complete_callback(store: Store, actor: Actor, *, callback_id: int) -> None:
    with store.write(actor) as tx:
        found = tx.one(f"{_CALLBACKS} WHERE p.id = ?", (callback_id,))
        if found is None:
            raise NotFoundError(f"call-back {callback_id}")
        tickets.visible_row(tx, tickets.acting(tx), found[1])
        if found[5] is not None:
            return
        tx.execute("UPDATE callback_promise SET done_at = ? WHERE id = ?",
                   (to_db(tx.now), callback_id))
        tx.event(found[1], "callback_done", callback=callback_id)
        tx.audit("callback_done", f"ticket:{found[2]}", {"callback": callback_id})


def open_callbacks(store: Store, actor: Actor, *, ticket_ids: list[int] | None = None,
                   mine: bool = False) -> list[Callback]:
    """Promised call-backs not yet made: on the given tickets (the queue's markers), or the
    actor's own (for the warning before they are due), soonest first."""
    clause, params = visible_clause(actor)
    sql = f"{_CALLBACKS} WHERE p.done_at IS NULL AND {clause}"
    args: list[Any] = list(params)
    if ticket_ids is not None:
        wanted = [int(i) for i in ticket_ids][:1000]
        if not wanted:
            return []
        sql += f" AND p.ticket_id IN ({', '.join('?' * len(wanted))})"
        args += wanted
    if mine:
        sql += " AND (p.created_by = ? OR t.handler_id = ?)"
        args += [actor.agent_id, actor.agent_id]
    with store.read() as tx:
        return [_callback(r) for r in tx.all(sql + " ORDER BY p.due_at, p.id", args)]


def callbacks_due_soon(store: Store, actor: Actor, *,
                       minutes: int = CALLBACK_WARN_MINUTES) -> list[Callback]:
    """The actor's promised call-backs due within `minutes` (or overdue)."""
    limit = store.clock.now() + timedelta(minutes=minutes)
    return [c for c in open_callbacks(store, actor, mine=True) if c.due_at <= limit]
