"""Guided contacts: who is calling, the script run kept with the ticket, and how a contact ends
(closed on the spot as a direct answer, or left open, dispatched; a dissatisfied survey opens a
follow-up for a service manager)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from agent_console.db import to_db
from agent_console.models.read import TicketCreated
from agent_console.models.vocab import EventKind, Grade, Role, Status, WorkType
from agent_console.services import tickets, validation
from agent_console.services.store import Store
from agent_console.text import mask_phone

RECENT_DAYS = 30
CLOSE_ON_THE_SPOT = ("direct_answer", "business", "consultation")


@dataclass(frozen=True, slots=True)
class CustomerSnapshot:
    """What the agent sees as soon as the number is typed."""

    id: int
    name: str
    phone_masked: str
    tier: str
    green_channel: bool
    open_tickets: int
    recent_tickets: int
    recent_complaints: int

    @property
    def repeat_complaint(self) -> bool:
        """A complaint now would repeat one from the last 30 days (重复投诉)."""
        return self.recent_complaints > 0


@dataclass(frozen=True, slots=True)
class ContactOutcome:
    closed: bool
    follow_up: TicketCreated | None
    score: int


def lookup(store: Store, *, phone: str) -> CustomerSnapshot | None:
    """The customer with this number and their recent history; None for a new customer."""
    try:
        number = validation.phone("phone", phone)
    except validation.InputError:
        return None
    since = to_db(store.clock.now() - timedelta(days=RECENT_DAYS))
    with store.connection() as conn:
        row = conn.execute("SELECT id, name, phone, tier, green_channel FROM customer "
                           "WHERE phone = ?", (number,)).fetchone()
        if row is None:
            return None
        open_count, recent, complaints = conn.execute(
            "SELECT sum(is_open), sum(created_at >= ?), "
            "sum(created_at >= ? AND work_type = 'complaint') FROM ticket WHERE customer_id = ?",
            (since, since, row[0])).fetchone()
    return CustomerSnapshot(row[0], row[1], mask_phone(row[2]), row[3], bool(row[4]),
                            open_count or 0, recent or 0, complaints or 0)


def record_classification(store: Store, *, ticket_id: int, by: str, proposed: dict[str, str],
                          chosen: dict[str, str], overridden: list[str]) -> None:
    """The proposal, what the agent chose, and which proposals the agent overrode."""
    with store.connection() as conn:
        agent = conn.execute("SELECT id FROM agent WHERE code = ?", (by,)).fetchone()
        conn.execute("INSERT INTO ticket_event (ticket_id, at, agent_id, kind, detail) "
                     "VALUES (?, ?, ?, ?, ?)",
                     (ticket_id, to_db(store.clock.now()), agent[0] if agent else None,
                      EventKind.CLASSIFIED, json.dumps({"proposed": proposed, "chosen": chosen,
                                                        "overridden": overridden})))


def save_run(store: Store, *, ticket_id: int, run: Any, notes: str = "") -> int:
    """Keep the script run with its ticket: steps, times, values and the adherence figure."""
    adherence = run.adherence(notes)
    record = json.dumps(run.to_record(), ensure_ascii=False, default=str)
    with store.connection() as conn:
        conn.execute("INSERT INTO script_run (ticket_id, script_id, record, adherence, score, "
                     "finished_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(ticket_id) DO UPDATE SET "
                     "script_id = excluded.script_id, record = excluded.record, "
                     "adherence = excluded.adherence, score = excluded.score, "
                     "finished_at = excluded.finished_at",
                     (ticket_id, run.root, record, adherence.model_dump_json(), adherence.score,
                      to_db(run.finished_at) if run.finished_at else None))
    return adherence.score


def stored_run(store: Store, *, ticket_id: int) -> dict[str, Any] | None:
    """The run's record and adherence as stored (for the ticket screen)."""
    with store.connection() as conn:
        row = conn.execute("SELECT script_id, record, adherence, score FROM script_run "
                           "WHERE ticket_id = ?", (ticket_id,)).fetchone()
    if row is None:
        return None
    return {"script": row[0], "record": json.loads(row[1]), "adherence": json.loads(row[2]),
            "score": row[3]}


def _resolution_text(values: dict[str, Any]) -> str:
    parts = [str(values.get("resolution_summary") or "").strip()]
    kind, amount = values.get("compensation_kind"), values.get("compensation_amount")
    if kind and kind != "none":
        parts.append(f"[{kind} {amount or ''}]".replace(" ]", "]"))
    return " ".join(p for p in parts if p)


def finish(store: Store, *, ticket_id: int, run: Any, by: str, notes: str = "") -> ContactOutcome:
    """End the contact as its script decided, and keep the run with the ticket."""
    values = run.values
    text = _resolution_text(values)
    if text:
        with store.connection() as conn:
            conn.execute("UPDATE ticket SET resolution = trim(resolution || char(10) || ?) "
                         "WHERE id = ?", (text[:validation.DESCRIPTION_LIMIT], ticket_id))
    detail = tickets.ticket_detail(store, ticket_id=ticket_id)
    closed = False
    solved = values.get("solved") in (True, "yes", "true")
    if values.get("handling") in CLOSE_ON_THE_SPOT and solved and detail.status != Status.CLOSED:
        version = detail.version
        if detail.status != Status.RESOLVED:
            version = tickets.change_status(store, ticket_id=ticket_id, expected_version=version,
                                            status=Status.RESOLVED, by=by)
        tickets.change_status(store, ticket_id=ticket_id, expected_version=version,
                              status=Status.CLOSED, by=by)
        closed = True
    follow_up = None
    if str(values.get("satisfaction")) == "3":
        follow_up = _follow_up(store, detail, str(values.get("follow_up_note") or ""), by)
    # What the agent wrote is checked for forbidden wording: notes and free-text answers alike.
    written = [e.detail.get("text", "") for e in detail.events if e.kind == "note"]
    written += [v for v in values.values() if isinstance(v, str)]
    score = save_run(store, ticket_id=ticket_id, run=run, notes="\n".join([notes, *written]))
    return ContactOutcome(closed, follow_up, score)


def _follow_up(store: Store, parent: Any, note: str, by: str) -> TicketCreated:
    """二次回访: a ticket of its own (own deadline) for a service manager, linked to the parent."""
    with store.connection() as conn:
        phone = conn.execute("SELECT phone FROM customer WHERE id = ?",
                             (parent.customer.id,)).fetchone()[0]
        manager = conn.execute("SELECT code FROM agent WHERE role = ? AND active = 1 ORDER BY "
                               "department = 'service' DESC, id LIMIT 1",
                               (Role.SUPERVISOR.value,)).fetchone()
    description = f"二次回访 / Follow-up: {parent.number}. {note}".strip()
    created = tickets.create_ticket(store, phone=phone, channel=parent.channel,
                                    work_type=WorkType.FOLLOW_UP, category=parent.category,
                                    description=description, grade=Grade.IMPORTANT, by=by)
    with store.connection() as conn:
        conn.execute("UPDATE ticket SET parent_id = ? WHERE id = ?", (parent.id, created.id))
    if manager is not None:
        tickets.assign(store, ticket_id=created.id, expected_version=1, by=by,
                       handler=manager[0], owner=manager[0], department="service")
    return created
