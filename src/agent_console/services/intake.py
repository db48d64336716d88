"""Guided contacts: who is calling, the script run kept with the ticket, and how a contact ends
(closed on the spot as a direct answer, or left open, dispatched; a dissatisfied survey opens a
follow-up for a service manager)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from agent_console.db import from_db, to_db
from agent_console.models.read import TicketCreated
from agent_console.models.vocab import EventKind, Status, WorkType
from agent_console.services import tickets, validation
from agent_console.services.actor import Actor
from agent_console.services.audit import Action
from agent_console.services.standards import standards
from agent_console.services.store import InputError, NotFoundError, Store, Tx
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
    except InputError:
        return None
    since = to_db(store.clock.now() - timedelta(days=RECENT_DAYS))
    with store.read() as tx:
        row = tx.one("SELECT id, name, phone, tier, green_channel FROM customer WHERE phone = ?",
                     (number,))
        if row is None:
            return None
        open_count, recent, complaints = tx.one(
            "SELECT sum(is_open), sum(CASE WHEN created_at >= ? THEN 1 ELSE 0 END), "
            "sum(CASE WHEN created_at >= ? AND work_type = 'complaint' THEN 1 ELSE 0 END) "
            "FROM ticket WHERE customer_id = ?",
            (since, since, row.id))
    return CustomerSnapshot(row.id, row.name, mask_phone(row.phone), row.tier,
                            bool(row.green_channel), open_count or 0, recent or 0, complaints or 0)


@dataclass(frozen=True, slots=True)
class RecentTicket:
    """One of the customer's recent tickets, as the intake lookup lists it."""

    id: int
    number: str
    category: str
    work_type: str
    status: str
    created_at: datetime
    is_open: bool


def recent_tickets(store: Store, actor: Actor, *, customer_id: int,
                   limit: int = 5) -> list[RecentTicket]:
    """The customer's latest tickets the actor may see, newest first (open ones before closed)."""
    from agent_console.services.queue import visible_clause

    clause, params = visible_clause(actor)
    with store.read() as tx:
        rows = tx.all(f"SELECT t.id, t.number, t.category, t.work_type, t.status, t.created_at, "
                      f"t.is_open FROM ticket t WHERE t.customer_id = ? AND {clause} "
                      f"ORDER BY t.is_open DESC, t.created_at DESC, t.id DESC LIMIT ?",
                      (customer_id, *params, max(1, min(limit, 20))))
    return [RecentTicket(r.id, r.number, r.category, r.work_type, r.status,
                         from_db(r.created_at), bool(r.is_open)) for r in rows]


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
    return cast(int, adherence.score)


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
        follow_up: TicketCreated | None
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
        if intake_key:  # the contact has ended: its draft (with the full number typed) goes
            _end_draft(tx, actor.code, intake_key)
        tx.audit(Action.CONTACT_FINISH, f"ticket:{row['number']}",
                 {"closed": closed, "follow_up": follow_up.number if follow_up else "",
                  "score": score})
        return ContactOutcome(closed, follow_up, score)


def _follow_up_of(tx: Tx, parent_id: int) -> int | None:
    """The follow-up a finish of this contact already opened."""
    return cast("int | None", tx.scalar("SELECT id FROM ticket WHERE parent_id = ? AND work_type = ? "
                                        "ORDER BY id LIMIT 1", (parent_id, WorkType.FOLLOW_UP.value)))


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
    rule = standards()  # who takes it and how soon: content/standards.toml
    manager = tx.scalar("SELECT code FROM agent WHERE role = ? AND active = 1 ORDER BY "
                        "department = ? DESC, id LIMIT 1", (rule.follow_up_role,
                                                            rule.follow_up_department))
    # Stored in no language: whoever reads it (in either) sees the work type "follow-up" from
    # the catalog beside it; the link is the parent's number, then the agent's own note.
    description = f"↩ {parent['number']}  {note.strip()}".strip()
    created = tickets.create_in(tx, phone=phone, channel=parent["channel"],
                                work_type=WorkType.FOLLOW_UP, category=parent["category"],
                                description=description, grade=rule.follow_up_grade,
                                parent_id=parent["id"])
    if rule.follow_up_within is not None:
        tx.execute("UPDATE ticket SET resolution_due = ? WHERE id = ?",
                   (to_db(tx.now + rule.follow_up_within), created.id))
    if manager is not None:
        tickets.assign_in(tx, ticket_id=created.id, expected_version=1, handler=manager,
                          owner=manager, department=rule.follow_up_department)
    return tickets.created_view(tickets.visible_row(tx, tickets.acting(tx), created.id))


# An unfinished contact is parked as a draft of the agent's, one per contact (several may be
# parked at once). A draft holds the full number typed: it is deleted when its contact ends.
DRAFT_PREFIX = "contact_draft:"
LEGACY_DRAFT_KEY = "new_ticket_draft"  # the single draft of earlier versions, offered once
ENDED = ""  # what the draft slot of an ended contact holds (no draft, and none to come)


@dataclass(frozen=True, slots=True)
class ParkedContact:
    key: str  # what load_draft takes
    phone_masked: str
    description: str
    received_at: datetime | None
    ticket_number: str
    step: str


def _draft_key(intake_key: str) -> str:
    return intake_key if intake_key == LEGACY_DRAFT_KEY else DRAFT_PREFIX + intake_key


def _end_draft(tx: Tx, agent_code: str, intake_key: str) -> None:
    """The contact has ended: its draft goes, and its slot is marked so that a draft write
    still on its way (a keystroke's timer fired just before the end) cannot bring it back."""
    tx.execute("INSERT INTO agent_preference (agent_code, key, value) VALUES (?, ?, ?) "
               "ON CONFLICT(agent_code, key) DO UPDATE SET value = excluded.value",
               (agent_code, _draft_key(intake_key), ENDED))


def save_draft(store: Store, actor: Actor, *, intake_key: str, draft: str | None,
               replaces: str | None = None) -> None:
    """Park (or, with None, delete) the actor's draft of one contact; `replaces` names a draft
    the contact was resumed from under another key, deleted in the same transaction."""
    if not intake_key:
        raise InputError("intake_key", "a draft needs its contact", code="required")
    with store.write(actor) as tx:
        if replaces and replaces != intake_key:
            tx.execute("DELETE FROM agent_preference WHERE agent_code = ? AND key = ?",
                       (actor.code, _draft_key(replaces)))
        if draft is None:
            tx.execute("DELETE FROM agent_preference WHERE agent_code = ? AND key = ? "
                       "AND value <> ?", (actor.code, _draft_key(intake_key), ENDED))
        else:  # a draft written late, after its contact ended, changes nothing
            tx.execute("INSERT INTO agent_preference (agent_code, key, value) VALUES (?, ?, ?) "
                       "ON CONFLICT(agent_code, key) DO UPDATE SET value = excluded.value "
                       "WHERE agent_preference.value <> ?",
                       (actor.code, _draft_key(intake_key), draft, ENDED))


def load_draft(store: Store, actor: Actor, *, intake_key: str) -> dict[str, Any] | None:
    """The actor's own parked draft of this contact, or None (never another agent's)."""
    with store.read() as tx:
        raw = tx.scalar("SELECT value FROM agent_preference WHERE agent_code = ? AND key = ?",
                        (actor.code, _draft_key(intake_key)))
    try:
        draft = json.loads(raw) if raw else None
    except ValueError:
        return None
    return draft if isinstance(draft, dict) else None


def parked_contacts(store: Store, actor: Actor) -> list[ParkedContact]:
    """The actor's unfinished contacts, the one received first first."""
    with store.read() as tx:
        rows = tx.all("SELECT key, value FROM agent_preference WHERE agent_code = ? AND "
                      "(key LIKE ? OR key = ?)", (actor.code, DRAFT_PREFIX + "%", LEGACY_DRAFT_KEY))
    found = []
    for key, raw in rows:
        try:
            draft = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(draft, dict):
            continue
        form = draft.get("form")
        if not isinstance(form, dict):
            form = draft
        try:
            received = datetime.fromisoformat(str(draft.get("received_at")))
        except ValueError:
            received = None
        run = draft.get("run")
        if not isinstance(run, dict):
            run = {}
        found.append(ParkedContact(
            key.removeprefix(DRAFT_PREFIX), mask_phone(str(form.get("phone", ""))),
            " ".join(str(form.get("description", "")).split())[:40],
            received, str(draft.get("ticket_number") or ""), str(run.get("step") or "")))
    return sorted(found, key=lambda p: (p.received_at is None, p.received_at or datetime.min, p.key))


ABANDON_REASONS = ("customer_hung_up", "line_dropped", "wrong_number", "other")
def abandon(store: Store, actor: Actor, *, intake_key: str, reason: str,
            ticket_id: int | None = None, resumed_legacy: bool = False) -> None:
    """The contact ends without the script (the customer hung up): recorded with the reason, in
    the audit trail and on its ticket if one was made; the agent's draft of it is deleted."""
    from agent_console.text import clean_line

    text = clean_line(reason or "")[:200]
    if not text:
        raise InputError("reason", "an abandoned contact needs a reason", code="required")
    with store.write(actor) as tx:
        target = f"contact:{intake_key}"
        if ticket_id is not None:
            row = tickets.visible_row(tx, tickets.acting(tx), ticket_id)
            tx.event(ticket_id, EventKind.NOTE, text=f"[abandoned] {text}")
            target = f"ticket:{row['number']}"
        tx.audit(Action.CONTACT_ABANDON, target, {"reason": text, "intake_key": intake_key})
        _end_draft(tx, actor.code, intake_key)
        if resumed_legacy:
            tx.execute("DELETE FROM agent_preference WHERE agent_code = ? AND key = ?",
                       (actor.code, LEGACY_DRAFT_KEY))


def link_contact(store: Store, actor: Actor, *, ticket_id: int, intake_key: str, text: str,
                 channel: str = "") -> str:
    """This contact is about a ticket the customer already has: it goes on that ticket's
    timeline (no duplicate ticket) and the contact ends: its draft is deleted. Returns the
    ticket's number."""
    words = " ".join(text.split())[:validation.DESCRIPTION_LIMIT]
    with store.write(actor) as tx:
        row = tickets.visible_row(tx, tickets.acting(tx), ticket_id)
        tx.event(ticket_id, EventKind.NOTE,
                 text=f"[再次来电 / contacted again{f' · {channel}' if channel else ''}] {words}".strip())
        tx.audit(Action.CONTACT_LINK, f"ticket:{row['number']}", {"intake_key": intake_key})
        if intake_key:
            _end_draft(tx, actor.code, intake_key)
        return str(row["number"])
