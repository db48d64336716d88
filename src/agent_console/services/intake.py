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
from agent_console.services.actor import Actor
from agent_console.services.audit import Action
from agent_console.services.store import NotFoundError, Store, Tx
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


def lookup(store: Store, actor: Actor, *, phone: str) -> CustomerSnapshot | None:
    """The customer with this number and their recent history; None for a new customer.

    The counts cover every team's tickets: a repeat complaint is one whoever took the first.
    """
    try:
        number = validation.phone("phone", phone)
    except validation.InputError:
        return None
    since = to_db(store.clock.now() - timedelta(days=RECENT_DAYS))
    with store.read() as tx:
        row = tx.one("SELECT id, name, phone, tier, green_channel FROM customer WHERE phone = ?",
                     (number,))
        if row is None:
            return None
        open_count, recent, complaints = tx.one(
            "SELECT sum(is_open), sum(created_at >= ?), "
            "sum(created_at >= ? AND work_type = 'complaint') FROM ticket WHERE customer_id = ?",
            (since, since, row.id))
    return CustomerSnapshot(row.id, row.name, mask_phone(row.phone), row.tier,
                            bool(row.green_channel), open_count or 0, recent or 0, complaints or 0)


def record_classification(store: Store, actor: Actor, *, ticket_id: int, proposed: dict[str, str],
                          chosen: dict[str, str], overridden: list[str]) -> None:
    """The proposal, what the agent chose, and which proposals the agent overrode."""
    with store.write(actor) as tx:
        row = tickets.visible_row(tx, tickets.acting(tx), ticket_id)
        tx.event(ticket_id, EventKind.CLASSIFIED, proposed=proposed, chosen=chosen,
                 overridden=overridden)
        tx.audit(Action.TICKET_CLASSIFY, f"ticket:{row['number']}",
                 {"chosen": chosen, "overridden": overridden})


def save_run(store: Store, actor: Actor, *, ticket_id: int, run: Any, notes: str = "") -> int:
    """Keep the script run with its ticket: steps, times, values and the adherence figure."""
    with store.write(actor) as tx:
        row = tickets.visible_row(tx, tickets.acting(tx), ticket_id)
        score = _save_run(tx, ticket_id, run, notes)
        tx.audit(Action.SCRIPT_RUN, f"ticket:{row['number']}", {"score": score})
        return score


def _save_run(tx: Tx, ticket_id: int, run: Any, notes: str) -> int:
    adherence = run.adherence(notes)
    record = json.dumps(run.to_record(), ensure_ascii=False, default=str)
    tx.execute("INSERT INTO script_run (ticket_id, script_id, record, adherence, score, "
               "finished_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(ticket_id) DO UPDATE SET "
               "script_id = excluded.script_id, record = excluded.record, "
               "adherence = excluded.adherence, score = excluded.score, "
               "finished_at = excluded.finished_at",
               (ticket_id, run.root, record, adherence.model_dump_json(), adherence.score,
                _finished_at(run)))
    return adherence.score


def _finished_at(run: Any) -> str | None:
    return to_db(run.finished_at) if run.finished_at else None


def stored_run(store: Store, actor: Actor, *, ticket_id: int) -> dict[str, Any] | None:
    """The run's record and adherence as stored (for the ticket screen)."""
    with store.read() as tx:
        tickets.visible_row(tx, actor, ticket_id)
        row = tx.one("SELECT script_id, record, adherence, score FROM script_run "
                     "WHERE ticket_id = ?", (ticket_id,))
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


def finish(store: Store, actor: Actor, *, ticket_id: int, run: Any, intake_key: str | None = None,
           notes: str = "") -> ContactOutcome:
    """End the contact as its script decided, and keep the run with the ticket: one transaction.

    Finishing the same run again changes nothing and reports what the first finish did; a
    dissatisfied survey never opens a second follow-up.
    """
    with store.write(actor) as tx:
        row = tickets.visible_row(tx, tickets.acting(tx), ticket_id)
        if intake_key is not None and row["intake_key"] != intake_key:
            raise NotFoundError(f"contact {intake_key}")
        stored = tx.one("SELECT score, finished_at FROM script_run WHERE ticket_id = ?",
                        (ticket_id,))
        if stored is not None and stored.finished_at is not None \
                and stored.finished_at == _finished_at(run):
            return ContactOutcome(row["status"] == Status.CLOSED,
                                  _follow_up_view(tx, _follow_up_of(tx, ticket_id)), stored.score)
        values = run.values
        text = _resolution_text(values)[:validation.DESCRIPTION_LIMIT]
        if text and text not in row["resolution"]:
            tx.execute("UPDATE ticket SET resolution = ?, updated_at = ?, version = version + 1 "
                       "WHERE id = ?", (f"{row['resolution']}\n{text}".strip(), to_db(tx.now),
                                        ticket_id))
            row = tickets.visible_row(tx, actor, ticket_id)
        closed = False
        solved = values.get("solved") in (True, "yes", "true")
        if values.get("handling") in CLOSE_ON_THE_SPOT and solved and row["status"] != Status.CLOSED:
            version = row["version"]
            if row["status"] != Status.RESOLVED:
                version = tickets.status_in(tx, ticket_id=ticket_id, expected_version=version,
                                            status=Status.RESOLVED)
            tickets.status_in(tx, ticket_id=ticket_id, expected_version=version,
                              status=Status.CLOSED)
            closed = True
        existing = _follow_up_of(tx, ticket_id)
        if existing is None and str(values.get("satisfaction")) == "3":
            follow_up = _open_follow_up(tx, row, str(values.get("follow_up_note") or ""))
        else:
            follow_up = _follow_up_view(tx, existing)
        # What the agent wrote is checked for forbidden wording: notes and free-text answers alike.
        written = [json.loads(d).get("text", "") for (d,) in tx.all(
            "SELECT detail FROM ticket_event WHERE ticket_id = ? AND kind = ? ORDER BY id",
            (ticket_id, EventKind.NOTE.value))]
        written += [v for v in values.values() if isinstance(v, str)]
        score = _save_run(tx, ticket_id, run, "\n".join([notes, *written]))
        tx.audit(Action.CONTACT_FINISH, f"ticket:{row['number']}",
                 {"closed": closed, "follow_up": follow_up.number if follow_up else "",
                  "score": score})
        return ContactOutcome(closed, follow_up, score)


def _follow_up_of(tx: Tx, parent_id: int) -> int | None:
    """The follow-up a finish of this contact already opened."""
    return tx.scalar("SELECT id FROM ticket WHERE parent_id = ? AND work_type = ? ORDER BY id "
                     "LIMIT 1", (parent_id, WorkType.FOLLOW_UP.value))


def _follow_up_view(tx: Tx, ticket_id: int | None) -> TicketCreated | None:
    if ticket_id is None or tx.actor is None:
        return None
    try:
        return tickets.created_view(tickets.visible_row(tx, tx.actor, ticket_id))
    except NotFoundError:
        return None  # it exists, but in a part of the queue this agent does not see


def _open_follow_up(tx: Tx, parent: dict[str, Any], note: str) -> TicketCreated:
    """二次回访: a ticket of its own (own deadline) for a service manager, linked to the parent."""
    phone = tx.scalar("SELECT phone FROM customer WHERE id = ?", (parent["customer_id"],))
    manager = tx.scalar("SELECT code FROM agent WHERE role = ? AND active = 1 ORDER BY "
                        "department = 'service' DESC, id LIMIT 1", (Role.SUPERVISOR.value,))
    # Stored in no language: whoever reads it (in either) sees the work type "follow-up" from
    # the catalog beside it; the link is the parent's number, then the agent's own note.
    description = f"↩ {parent['number']}  {note.strip()}".strip()
    created = tickets.create_in(tx, phone=phone, channel=parent["channel"],
                                work_type=WorkType.FOLLOW_UP, category=parent["category"],
                                description=description, grade=Grade.IMPORTANT,
                                parent_id=parent["id"])
    if manager is not None:
        tickets.assign_in(tx, ticket_id=created.id, expected_version=1, handler=manager,
                          owner=manager, department="service")
    return tickets.created_view(tickets.visible_row(tx, tickets.acting(tx), created.id))
